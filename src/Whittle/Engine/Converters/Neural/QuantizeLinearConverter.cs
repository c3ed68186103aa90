using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// QuantizeLinear: y = saturate(round_half_to_even(x / y_scale) + y_zero_point) in the zero
/// point's integer type (uint8 when absent, or output_dtype); per-tensor, per-axis or blocked.
/// The output is integer and carries no gradient; quantization-aware training uses <see cref="FakeQuantize"/>.
/// </summary>
[OnnxOp("QuantizeLinear", 10)]
[OnnxOp("QuantizeLinear", 13)]
[OnnxOp("QuantizeLinear", 19)]
[OnnxOp("QuantizeLinear", 21)]
[OnnxOp("QuantizeLinear", 23)]
[OnnxOp("QuantizeLinear", 24)]
[OnnxOp("QuantizeLinear", 25)]
internal sealed class QuantizeLinearConverter : IOpConverter
{
    private static readonly OnnxDataType[] OutputTypes = [OnnxDataType.UInt8, OnnxDataType.Int8, OnnxDataType.Int16];
    private static readonly OnnxDataType[] PrecisionTypes = [OnnxDataType.Float, OnnxDataType.Double, OnnxDataType.Float16, OnnxDataType.BFloat16];

    public InputRole RoleOf(int index, OpContext context) => index is 1 or 2 ? InputRole.Constant : InputRole.Data;

    public IEnumerable<string> Check(OpContext context)
    {
        var node = context.Node;
        var zeroPoint = context.ConstantInput(2);
        if (zeroPoint is not null && !OutputTypes.Contains(zeroPoint.DataType))
            yield return $"quantizing to {OnnxDataTypes.Name(zeroPoint.DataType)} is not supported (uint8, int8, int16 are)";
        var outputType = (OnnxDataType)node.GetInt("output_dtype", 0);
        if (outputType != OnnxDataType.Undefined)
        {
            if (!OutputTypes.Contains(outputType))
                yield return $"output_dtype {OnnxDataTypes.Name(outputType)} is not supported (uint8, int8, int16 are)";
            else if (zeroPoint is not null && zeroPoint.DataType != outputType)
                yield return $"output_dtype {OnnxDataTypes.Name(outputType)} differs from the zero point's type {OnnxDataTypes.Name(zeroPoint.DataType)}";
        }
        var precision = (OnnxDataType)node.GetInt("precision", 0);
        if (precision != OnnxDataType.Undefined && !PrecisionTypes.Contains(precision))
            yield return $"precision {OnnxDataTypes.Name(precision)} is not supported (float, double, float16, bfloat16 are)";
        if (node.GetInt("block_size", 0) < 0) yield return "block_size must not be negative";
    }

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        long axis = node.GetInt("axis", 1);
        long blockSize = node.GetInt("block_size", 0);
        var outputAttribute = (OnnxDataType)node.GetInt("output_dtype", 0);
        ScalarType? outputType = outputAttribute == OnnxDataType.Undefined ? null : TorchTensors.ToScalarType(outputAttribute);
        var precisionAttribute = (OnnxDataType)node.GetInt("precision", 0);
        ScalarType? precision = precisionAttribute == OnnxDataType.Undefined ? null : TorchTensors.ToScalarType(precisionAttribute);
        return LambdaKernel.Single(inputs =>
        {
            var (x, scale, zeroPoint) = (inputs[0]!, inputs[1]!, inputs.At(2));
            var type = zeroPoint?.dtype ?? outputType ?? ScalarType.Byte;
            var (min, max) = QuantizationParameters.Range(type);
            // The division runs in the scale's precision (or the precision attribute), as ONNX specifies.
            var divisionType = precision ?? (scale.is_floating_point() ? scale.dtype : ScalarType.Float32);
            var s = QuantizationParameters.Broadcastable(scale, x, axis, blockSize).to_type(divisionType);
            var rounded = x.to_type(divisionType).div(s).round();
            // Zero point and saturation in a type that holds every integer of the range exactly.
            var wide = divisionType == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
            var q = rounded.to_type(wide);
            if (zeroPoint is not null) q = q + QuantizationParameters.Broadcastable(zeroPoint, x, axis, blockSize).to_type(wide);
            return q.clamp(min, max).to_type(type);
        });
    }
}
