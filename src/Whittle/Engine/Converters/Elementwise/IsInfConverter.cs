using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>IsInf: a bool tensor, true where the input is +inf (detect_positive) or -inf (detect_negative).</summary>
[OnnxOp("IsInf", 10), OnnxOp("IsInf", 20)]
internal sealed class IsInfConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        _ = Detect(context);
        return ElementwiseSupport.UnsupportedInitializers(context);
    }

    public IOpKernel Compile(OpContext context) => Detect(context) switch
    {
        (true, true) => LambdaKernel.Single(inputs => inputs[0]!.isinf()),
        (true, false) => LambdaKernel.Single(inputs => inputs[0]!.isposinf()),
        (false, true) => LambdaKernel.Single(inputs => inputs[0]!.isneginf()),
        (false, false) => LambdaKernel.Single(inputs => zeros_like(inputs[0]!, dtype: ScalarType.Bool)),
    };

    private static (bool Positive, bool Negative) Detect(OpContext context) =>
        (context.Node.GetInt("detect_positive", 1) != 0, context.Node.GetInt("detect_negative", 1) != 0);
}
