using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Pow: X raised to Y elementwise; the result has X's element type (Y may be another numeric type from opset 12).</summary>
[OnnxOp("Pow", 1), OnnxOp("Pow", 7), OnnxOp("Pow", 12), OnnxOp("Pow", 13), OnnxOp("Pow", 15)]
internal sealed class PowConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) =>
        ElementwiseSupport.UnsupportedInitializers(context).Concat(ElementwiseSupport.CheckLegacyBroadcast(context));

    // The exponent is a setting (x^2 in a decomposed LayerNorm): training it would also bring
    // NaN gradients, since d(x^y)/dy = x^y ln x is undefined for negative x.
    public InputRole RoleOf(int index, OpContext context) => index == 1 ? InputRole.Constant : InputRole.Data;

    public IOpKernel Compile(OpContext context)
    {
        var axis = ElementwiseSupport.LegacyBroadcastAxis(context);
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            var y = ElementwiseSupport.AlignLegacy(x, inputs[1]!, axis);
            // torch promotes int^float to float; ONNX keeps the base's type (truncating, as numpy's astype does).
            return ElementwiseSupport.Keep(x.pow(y), x.dtype);
        });
    }
}
