using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>LpNormalization: x divided by its L1 or L2 norm along axis.</summary>
[OnnxOp("LpNormalization", 1)]
[OnnxOp("LpNormalization", 22)]
internal sealed class LpNormalizationConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        long p = context.Node.GetInt("p", 2);
        if (p is not (1 or 2)) yield return $"p must be 1 or 2, it is {p}";
    }

    public IOpKernel Compile(OpContext context)
    {
        long axis = context.Node.GetInt("axis", -1);
        double p = context.Node.GetInt("p", 2);
        // No epsilon, as ONNX defines it: a zero vector gives NaN, like ONNX Runtime.
        return LambdaKernel.Single(inputs => inputs[0]! / linalg.vector_norm(inputs[0]!, p, [axis], keepdim: true));
    }
}
