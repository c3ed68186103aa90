using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Identity: the input, unchanged (same tensor, so gradients flow through).</summary>
[OnnxOp("Identity", 1)]
[OnnxOp("Identity", 13)]
[OnnxOp("Identity", 14)]
[OnnxOp("Identity", 16)]
[OnnxOp("Identity", 19)]
[OnnxOp("Identity", 21)]
internal sealed class IdentityConverter : IOpConverter
{
    public IOpKernel Compile(OpContext context) => LambdaKernel.Single(inputs => inputs[0]!);
}
