using Whittle.Onnx;

namespace Whittle.Quantization;

/// <summary>Reads a weight for quantization: its values and their range must be finite, or the scales computed from them are meaningless.</summary>
internal static class WeightValues
{
    /// <summary>The weight's values as floats.</summary>
    /// <exception cref="QuantizationException">A value is NaN or infinite (a corrupt or diverged model).</exception>
    public static float[] Read(OnnxTensor weight, string node) => Check(weight.ToFloatArray(), weight.Name, node);

    /// <summary>Checks values about to be quantized (after any scaling, such as a Gemm's alpha).</summary>
    /// <exception cref="QuantizationException">A value or their range is not finite.</exception>
    public static float[] Check(float[] values, string name, string node)
    {
        int bad = Array.FindIndex(values, v => !float.IsFinite(v));
        if (bad >= 0)
            throw new QuantizationException($"weight '{name}' of {node} holds {values[bad]} at element {bad}; a model with non-finite weights cannot be quantized (is it corrupt, or did its training diverge?)");
        // Symmetric scales span [-max|w|, max|w|]: twice the largest magnitude must fit float32 too.
        if (values.Length > 0 && !(float.IsFinite(values.Max() - values.Min()) && float.IsFinite(2 * values.Max(MathF.Abs))))
            throw new QuantizationException($"weight '{name}' of {node} spans [{values.Min()}, {values.Max()}], a range float32 cannot hold, so no scale fits it (is the model corrupt?)");
        return values;
    }
}
