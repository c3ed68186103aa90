using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// Activations with attributes: LeakyRelu, Elu, Selu, Celu, HardSigmoid, HardSwish, ThresholdedRelu,
/// Shrink, Gelu (exact or tanh approximation) and Swish.
/// </summary>
/// <remarks>
/// HardSigmoid is ONNX's max(0, min(1, alpha*x + beta)) with alpha 0.2 by default, not torch's
/// 1/6 slope, so it is computed from its parts. Versions after the first only add element types.
/// </remarks>
[OnnxOp("LeakyRelu", 1), OnnxOp("LeakyRelu", 6), OnnxOp("LeakyRelu", 16)]
[OnnxOp("Elu", 1), OnnxOp("Elu", 6), OnnxOp("Elu", 22)]
[OnnxOp("Selu", 1), OnnxOp("Selu", 6), OnnxOp("Selu", 22)]
[OnnxOp("Celu", 12), OnnxOp("Celu", 28)]
[OnnxOp("HardSigmoid", 1), OnnxOp("HardSigmoid", 6), OnnxOp("HardSigmoid", 22)]
[OnnxOp("HardSwish", 14), OnnxOp("HardSwish", 22)]
[OnnxOp("ThresholdedRelu", 10), OnnxOp("ThresholdedRelu", 22)]
[OnnxOp("Shrink", 9)]
[OnnxOp("Gelu", 20)]
[OnnxOp("Swish", 24)]
internal sealed class ActivationConverter : IOpConverter
{
    // SELU's constants as ONNX writes them (float32 values of torch's alpha and scale).
    private const float SeluAlpha = 1.67326319217681884765625f;
    private const float SeluGamma = 1.05070102214813232421875f;

    public IEnumerable<string> Check(OpContext context)
    {
        var problems = ElementwiseSupport.UnsupportedInitializers(context).ToList();
        if (context.Node.OpType == "Gelu" && context.Node.GetString("approximate", "none") is not ("none" or "tanh") and var mode)
            problems.Add($"approximate='{mode}' is not 'none' or 'tanh'");
        // Parsing every attribute now reports a mistyped one (a float given as an int) in the pre-flight.
        _ = Build(context);
        return problems;
    }

    public IOpKernel Compile(OpContext context)
    {
        var f = Build(context);
        return LambdaKernel.Single(inputs => f(inputs[0]!));
    }

    private static Func<Tensor, Tensor> Build(OpContext context)
    {
        var node = context.Node;
        switch (node.OpType)
        {
            case "LeakyRelu":
            {
                double alpha = node.GetFloat("alpha", 0.01f);
                return x => nn.functional.leaky_relu(x, alpha);
            }
            case "Elu":
            {
                double alpha = node.GetFloat("alpha", 1f);
                return x => nn.functional.elu(x, alpha);
            }
            case "Selu":
            {
                double alpha = node.GetFloat("alpha", SeluAlpha), gamma = node.GetFloat("gamma", SeluGamma);
                return x => nn.functional.elu(x, alpha).mul(gamma);
            }
            case "Celu":
            {
                double alpha = node.GetFloat("alpha", 1f);
                return x => nn.functional.celu(x, alpha);
            }
            case "HardSigmoid":
            {
                double alpha = node.GetFloat("alpha", 0.2f), beta = node.GetFloat("beta", 0.5f);
                return x => x.mul(alpha).add(beta).clamp(0, 1);
            }
            case "HardSwish":
                return x => nn.functional.hardswish(x);
            case "ThresholdedRelu":
            {
                double alpha = node.GetFloat("alpha", 1f);
                return x => nn.functional.threshold(x, alpha, 0);
            }
            case "Shrink":
            {
                double lambd = node.GetFloat("lambd", 0.5f), bias = node.GetFloat("bias", 0f);
                // Shrink accepts integer tensors too; the float bias promotes them, so cast back.
                return x => ElementwiseSupport.Keep(
                    where(x.lt(-lambd), x.add(bias), where(x.gt(lambd), x.sub(bias), zeros_like(x))), x.dtype);
            }
            case "Gelu":
            {
                var approximate = node.GetString("approximate", "none") == "tanh" ? GELU.Approximate.tanh : GELU.Approximate.none;
                return x => nn.functional.gelu(x, approximate);
            }
            case "Swish":
            {
                double alpha = node.GetFloat("alpha", 1f);
                return x => x.mul(x.mul(alpha).sigmoid());
            }
            default:
                throw new EngineException($"{nameof(ActivationConverter)} does not handle {node.OpType}");
        }
    }
}
