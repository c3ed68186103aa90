using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>MatMul: numpy matmul (batched, broadcasting batch dimensions; 1-D operands are promoted and the added dimension removed).</summary>
[OnnxOp("MatMul", 1)]
[OnnxOp("MatMul", 9)]
[OnnxOp("MatMul", 13)]
internal sealed class MatMulConverter : IOpConverter
{
    public IOpKernel Compile(OpContext context) => LambdaKernel.Single(inputs => inputs[0]!.matmul(inputs[1]!));
}
