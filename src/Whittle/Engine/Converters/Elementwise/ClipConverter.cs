using TorchSharp;
using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Clip: limits every element to [min, max]; either bound may be absent.</summary>
/// <remarks>
/// Before opset 11 the bounds are attributes; from 11 they are optional inputs, which are settings
/// (never trained). When min exceeds max every element becomes max, in torch.clamp as in ONNX.
/// </remarks>
[OnnxOp("Clip", 1), OnnxOp("Clip", 6), OnnxOp("Clip", 11), OnnxOp("Clip", 12), OnnxOp("Clip", 13)]
internal sealed class ClipConverter : IOpConverter
{
    private const int BoundsAreInputsSince = 11;

    public IEnumerable<string> Check(OpContext context)
    {
        if (context.SinceVersion < BoundsAreInputsSince) _ = AttributeBounds(context);
        return ElementwiseSupport.UnsupportedInitializers(context);
    }

    public InputRole RoleOf(int index, OpContext context) => index == 0 ? InputRole.Data : InputRole.Constant;

    public IOpKernel Compile(OpContext context)
    {
        if (context.SinceVersion < BoundsAreInputsSince)
        {
            var (lo, hi) = AttributeBounds(context);
            if (lo is null && hi is null) return LambdaKernel.Single(inputs => inputs[0]!.alias());
            Scalar? min = lo is { } l ? l : null, max = hi is { } h ? h : null;
            return LambdaKernel.Single(inputs => inputs[0]!.clamp(min, max));
        }
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            Tensor? min = inputs.At(1), max = inputs.At(2);
            if (min is null && max is null) return x.alias();
            return ElementwiseSupport.Keep(x.clamp(min, max), x.dtype);
        });
    }

    // Opset 6 defaults the bounds to -/+FLT_MAX, which is no bound at all; leaving them out also
    // keeps float16 inputs from a bound they cannot represent.
    private static (double? Min, double? Max) AttributeBounds(OpContext context) =>
    (
        context.Node.HasAttribute("min") ? context.Node.GetFloat("min") : null,
        context.Node.HasAttribute("max") ? context.Node.GetFloat("max") : null
    );
}
