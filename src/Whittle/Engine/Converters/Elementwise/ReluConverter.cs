using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Relu: max(x, 0).</summary>
[OnnxOp("Relu", 1)]
[OnnxOp("Relu", 6)]
[OnnxOp("Relu", 13)]
[OnnxOp("Relu", 14)]
internal sealed class ReluConverter : IOpConverter
{
    public IOpKernel Compile(OpContext context) => LambdaKernel.Single(inputs => nn.functional.relu(inputs[0]!));
}
