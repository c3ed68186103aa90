using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Size: the input's element count as an int64 scalar.</summary>
[OnnxOp("Size", 1)]
[OnnxOp("Size", 13)]
[OnnxOp("Size", 19)]
[OnnxOp("Size", 21)]
[OnnxOp("Size", 23)]
[OnnxOp("Size", 24)]
[OnnxOp("Size", 25)]
internal sealed class SizeConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context) =>
        LambdaKernel.Single(inputs => tensor(inputs[0]!.numel(), dtype: ScalarType.Int64, device: inputs[0]!.device));
}
