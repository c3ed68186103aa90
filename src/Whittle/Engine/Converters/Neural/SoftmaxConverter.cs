using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Engine.Converters;

/// <summary>
/// Softmax / LogSoftmax. From opset 13 along one axis (default -1); before it, the input is
/// viewed as a 2-D matrix split at axis (default 1) and each row is normalized as a whole.
/// </summary>
[OnnxOp("Softmax", 1)]
[OnnxOp("Softmax", 11)]
[OnnxOp("Softmax", 13)]
[OnnxOp("LogSoftmax", 1)]
[OnnxOp("LogSoftmax", 11)]
[OnnxOp("LogSoftmax", 13)]
internal sealed class SoftmaxConverter : IOpConverter
{
    public IOpKernel Compile(OpContext context)
    {
        string op = context.Node.OpType;
        bool log = op == "LogSoftmax";
        bool coerceTo2D = context.SinceVersion < 13;
        long axis = context.Node.GetInt("axis", coerceTo2D ? 1 : -1);
        Func<Tensor, long, Tensor> apply = log ? (t, d) => F.log_softmax(t, d) : (t, d) => F.softmax(t, d);
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            long rank = x.dim();
            long a = axis < 0 ? axis + rank : axis;
            if (a < 0 || a > rank || (!coerceTo2D && a == rank))
                throw new EngineException($"{op}: axis {axis} is out of range for rank {rank}");
            if (!coerceTo2D || a == rank - 1) return apply(x, a);
            // Rows are the dimensions before axis, columns everything from axis on.
            var shape = x.shape;
            long rows = shape[..(int)a].Aggregate(1L, (p, d) => p * d);
            return apply(x.reshape(rows, -1), 1).reshape(shape);
        });
    }
}
