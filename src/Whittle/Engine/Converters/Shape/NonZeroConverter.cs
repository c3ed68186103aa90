using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>NonZero: the int64 coordinates of the non-zero elements, one row per axis ([rank, count]).</summary>
[OnnxOp("NonZero", 9)]
[OnnxOp("NonZero", 13)]
internal sealed class NonZeroConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context) => LambdaKernel.Single(inputs => inputs[0]!.nonzero().t().contiguous());
}
