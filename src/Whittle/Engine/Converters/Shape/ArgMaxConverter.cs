using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>ArgMax / ArgMin: the int64 index of the largest / smallest element along an axis (the first or, with select_last_index, the last).</summary>
[OnnxOp("ArgMax", 1), OnnxOp("ArgMax", 11), OnnxOp("ArgMax", 12), OnnxOp("ArgMax", 13)]
[OnnxOp("ArgMin", 1), OnnxOp("ArgMin", 11), OnnxOp("ArgMin", 12), OnnxOp("ArgMin", 13)]
internal sealed class ArgMaxConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        bool max = node.OpType == "ArgMax";
        long axis = node.GetInt("axis", 0);
        bool keepDims = node.GetInt("keepdims", 1) != 0;
        bool last = node.GetInt("select_last_index", 0) != 0;
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            long a = ShapeOps.Axis(axis, x.dim());
            // torch returns the first extreme; the last one is the first of the reversed axis.
            var v = last ? x.flip(a) : x;
            var index = max ? v.argmax(a, keepDims) : v.argmin(a, keepDims);
            return last ? (x.shape[a] - 1) - index : index;
        });
    }
}
