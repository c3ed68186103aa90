using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// DequantizeLinear: y = (x - x_zero_point) * x_scale, per-tensor, per-axis or blocked, in the
/// scale's floating-point type (or output_dtype). 4-bit inputs (int4, uint4 initializers) arrive
/// widened to int8 and uint8, holding the same values, so they dequantize like 8-bit ones.
/// </summary>
[OnnxOp("DequantizeLinear", 10)]
[OnnxOp("DequantizeLinear", 13)]
[OnnxOp("DequantizeLinear", 19)]
[OnnxOp("DequantizeLinear", 21)]
[OnnxOp("DequantizeLinear", 23)]
[OnnxOp("DequantizeLinear", 24)]
[OnnxOp("DequantizeLinear", 25)]
internal sealed class DequantizeLinearConverter : IOpConverter
{
    private static readonly OnnxDataType[] OutputTypes = [OnnxDataType.Float, OnnxDataType.Float16, OnnxDataType.BFloat16];

    private static readonly string SupportedNames = string.Join(", ", QuantizationParameters.DequantizableTypes.Select(OnnxDataTypes.Name));

    public InputRole RoleOf(int index, OpContext context) => index is 1 or 2 ? InputRole.Constant : InputRole.Data;

    public IEnumerable<string> Check(OpContext context)
    {
        var node = context.Node;
        foreach (var (name, index) in new[] { ("x", 0), ("x_zero_point", 2) })
            if (context.ConstantInput(index) is { } t && !QuantizationParameters.DequantizableTypes.Contains(t.DataType))
                yield return $"dequantizing {OnnxDataTypes.Name(t.DataType)} ({name}) is not supported ({SupportedNames} are)";
        var outputType = (OnnxDataType)node.GetInt("output_dtype", 0);
        if (outputType != OnnxDataType.Undefined && !OutputTypes.Contains(outputType))
            yield return $"output_dtype {OnnxDataTypes.Name(outputType)} is not supported (float, float16, bfloat16 are)";
        if (node.GetInt("block_size", 0) < 0) yield return "block_size must not be negative";
    }

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        long axis = node.GetInt("axis", 1);
        long blockSize = node.GetInt("block_size", 0);
        var outputAttribute = (OnnxDataType)node.GetInt("output_dtype", 0);
        ScalarType? outputType = outputAttribute == OnnxDataType.Undefined ? null : TorchTensors.ToScalarType(outputAttribute);
        return LambdaKernel.Single(inputs =>
        {
            var (x, scale, zeroPoint) = (inputs[0]!, inputs[1]!, inputs.At(2));
            if (x.is_floating_point())
                throw new EngineException($"DequantizeLinear: dequantizing {x.dtype} is not supported ({SupportedNames} are)");
            // float32 (float64 for a double scale) holds int16 differences exactly; float16 would not.
            var compute = scale.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
            var v = x.to_type(compute);
            if (zeroPoint is not null) v = v - QuantizationParameters.Broadcastable(zeroPoint, x, axis, blockSize).to_type(compute);
            var y = v * QuantizationParameters.Broadcastable(scale, x, axis, blockSize).to_type(compute);
            var type = outputType ?? scale.dtype;
            return y.dtype == type ? y : y.to_type(type);
        });
    }
}
