using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>GlobalAveragePool / GlobalMaxPool: the mean / maximum over all spatial dimensions (2 onwards), kept as size-1 dimensions.</summary>
[OnnxOp("GlobalAveragePool", 1)]
[OnnxOp("GlobalAveragePool", 22)]
[OnnxOp("GlobalMaxPool", 1)]
[OnnxOp("GlobalMaxPool", 22)]
internal sealed class GlobalPoolConverter : IOpConverter
{
    public IOpKernel Compile(OpContext context)
    {
        bool average = context.Node.OpType == "GlobalAveragePool";
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            var dims = Enumerable.Range(2, (int)x.dim() - 2).Select(d => (long)d).ToArray();
            if (dims.Length == 0) return x;
            return average ? x.mean(dims, keepdim: true) : x.amax(dims, keepdim: true);
        });
    }
}
