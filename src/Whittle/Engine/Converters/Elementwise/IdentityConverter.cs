using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Identity: the input, unchanged (the same storage and autograd node, so gradients flow through).</summary>
/// <remarks>
/// Versions after 1 only add element types (and sequence/optional inputs, which the pre-flight rejects).
/// The output is a new reference (alias) to the input, so a caller disposing a graph output never
/// frees the graph input or parameter behind it.
/// </remarks>
[OnnxOp("Identity", 1)]
[OnnxOp("Identity", 13)]
[OnnxOp("Identity", 14)]
[OnnxOp("Identity", 16)]
[OnnxOp("Identity", 19)]
[OnnxOp("Identity", 21)]
[OnnxOp("Identity", 23)]
[OnnxOp("Identity", 24)]
[OnnxOp("Identity", 25)]
internal sealed class IdentityConverter : IOpConverter
{
    public IOpKernel Compile(OpContext context) => LambdaKernel.Single(inputs => inputs[0]!.alias());
}
