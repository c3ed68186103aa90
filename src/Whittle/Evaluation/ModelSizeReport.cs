using Whittle.Onnx;

namespace Whittle.Evaluation;

/// <summary>Element and byte counts of the initializers of one data type.</summary>
/// <param name="DataType">The element type.</param>
/// <param name="Tensors">Number of initializers of this type.</param>
/// <param name="Elements">Total elements.</param>
/// <param name="Bytes">Storage bytes of those elements.</param>
public sealed record DataTypeShare(OnnxDataType DataType, int Tensors, long Elements, long Bytes);

/// <summary>
/// How big a model is: bytes on disk, parameters, non-zero parameters and bytes by data type.
/// <b>Parameters</b> are the elements of floating-point initializers (weights, biases and
/// BatchNorm statistics); integer initializers (shapes, indices, quantized weights) are
/// counted per data type but not as parameters, so a quantized model's parameter count says
/// how many float values remain.
/// </summary>
public sealed record ModelSizeReport
{
    /// <summary>Size of the serialized model (the .onnx file), in bytes.</summary>
    public required long ModelBytes { get; init; }

    /// <summary>Bytes of tensor data stored in external files next to the model.</summary>
    public required long ExternalDataBytes { get; init; }

    /// <summary>Total bytes on disk: model plus external data.</summary>
    public long TotalBytes => ModelBytes + ExternalDataBytes;

    /// <summary>Elements of floating-point initializers.</summary>
    public required long Parameters { get; init; }

    /// <summary>Floating-point initializer elements that are not zero.</summary>
    public required long NonZeroParameters { get; init; }

    /// <summary>Fraction of parameters that are zero (0 when there are none).</summary>
    public double Sparsity => Parameters == 0 ? 0 : 1.0 - (double)NonZeroParameters / Parameters;

    /// <summary>Number of initializers.</summary>
    public required int Initializers { get; init; }

    /// <summary>Initializer elements and bytes by data type, largest first.</summary>
    public required IReadOnlyList<DataTypeShare> ByDataType { get; init; }

    /// <summary>Measures a model. Uses the file size when the model came from an unmodified file.</summary>
    public static ModelSizeReport Measure(OnnxModel model)
    {
        long parameters = 0, nonZero = 0, external = 0;
        var shares = new Dictionary<OnnxDataType, (int Tensors, long Elements, long Bytes)>();
        var initializers = model.Graph.Initializers;
        foreach (var t in initializers)
        {
            var type = t.DataType;
            var s = shares.GetValueOrDefault(type);
            shares[type] = (s.Tensors + 1, s.Elements + t.ElementCount, s.Bytes + t.StorageBytes);
            if (t.IsExternal) external += t.StorageBytes;
            if (OnnxDataTypes.IsFloatingPoint(type))
            {
                parameters += t.ElementCount;
                nonZero += t.CountNonZero();
            }
        }
        return new ModelSizeReport
        {
            // The serialized size without serializing: info and fold-bn measure large models too.
            ModelBytes = model.Proto.CalculateSize(),
            ExternalDataBytes = external,
            Parameters = parameters,
            NonZeroParameters = nonZero,
            Initializers = initializers.Count,
            ByDataType = shares.Select(kv => new DataTypeShare(kv.Key, kv.Value.Tensors, kv.Value.Elements, kv.Value.Bytes))
                .OrderByDescending(d => d.Bytes).ThenBy(d => d.DataType).ToList(),
        };
    }
}
