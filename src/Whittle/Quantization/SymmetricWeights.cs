using Whittle.Onnx;

namespace Whittle.Quantization;

/// <summary>
/// Symmetric weight quantization on the narrow grid [-qmax, qmax] (zero point 0): int8 weights
/// use [-127, 127] (what <see cref="QuantMath"/> gives ORT-style symmetric int8), int4 weights
/// [-7, 7]. The grid is symmetric so that scaling a channel by a negative factor (folding a
/// BatchNorm with a negative γ) maps it onto itself; with per-channel scales such a fold is exact.
/// int4 weights are stored packed (INT4, opset 21) behind a DequantizeLinear, which ONNX Runtime
/// runs by dequantizing to float: int4 saves size, not time, on CPU.
/// </summary>
public static class SymmetricWeights
{
    /// <summary>The default-domain opset a model with int4 QuantizeLinear/DequantizeLinear needs.</summary>
    public const int Int4Opset = 21;

    /// <summary>Per-channel (or, with <paramref name="axis"/> null, one) scale max |w| / qmax; an all-zero channel gets scale 1.</summary>
    public static float[] Scales(ReadOnlySpan<float> values, int[] shape, int? axis, int qmax)
    {
        var (channels, inner) = Layout(shape, axis, values.Length);
        var scales = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double max = 0;
            foreach (var i in Indices(c, channels, inner, values.Length)) max = Math.Max(max, Math.Abs(values[i]));
            scales[c] = max > 0 ? (float)(max / qmax) : 1f;
        }
        return scales;
    }

    /// <summary>q = clamp(round_half_even(w / scale), -qmax, qmax) per channel.</summary>
    public static int[] Quantize(ReadOnlySpan<float> values, int[] shape, int? axis, IReadOnlyList<float> scales, int qmax)
    {
        var (channels, inner) = Layout(shape, axis, values.Length);
        if (scales.Count != channels) throw new ArgumentException($"{scales.Count} scales for {channels} channel(s)", nameof(scales));
        var q = new int[values.Length];
        for (int c = 0; c < channels; c++)
            foreach (var i in Indices(c, channels, inner, values.Length))
                q[i] = (int)Math.Clamp(Math.Round(values[i] / scales[c], MidpointRounding.ToEven), -qmax, qmax);
        return q;
    }

    /// <summary>
    /// Adds the quantized weight (int8 or packed int4), its scales and zero points as initializers
    /// and a DequantizeLinear at the front of the graph; returns the DequantizeLinear's output
    /// (<paramref name="output"/>, or a new name).
    /// </summary>
    public static string Write(OnnxGraph g, string baseName, long[] dims, int? axis, int[] q, float[] scales, QuantizationType type, string? output = null)
    {
        if (type is not (QuantizationType.Int8 or QuantizationType.Int4)) throw new ArgumentException($"weights are int8 or int4, not {type}", nameof(type));
        var qName = g.UniqueName(baseName + "_quantized");
        var sName = g.UniqueName(baseName + "_scale");
        var zName = g.UniqueName(baseName + "_zero_point");
        var dqName = output ?? g.UniqueName(baseName + "_dequantized");
        long[] paramDims = axis is null ? [] : [scales.Length];
        bool int4 = type == QuantizationType.Int4;
        g.AddInitializer(int4 ? OnnxTensor.FromInt4(qName, dims, q) : OnnxTensor.FromBytes(qName, OnnxDataType.Int8, dims, Array.ConvertAll(q, v => unchecked((byte)(sbyte)v))));
        g.AddInitializer(OnnxTensor.FromFloats(sName, paramDims, scales));
        g.AddInitializer(int4 ? OnnxTensor.FromInt4(zName, paramDims, new int[scales.Length]) : OnnxTensor.FromBytes(zName, OnnxDataType.Int8, paramDims, new byte[scales.Length]));
        var dq = new OnnxNode("DequantizeLinear", [qName, sName, zName], [dqName], g.UniqueName(baseName + "_DequantizeLinear"));
        if (axis is { } a) dq.SetAttribute("axis", (long)a);
        g.InsertNode(0, dq);
        return dqName;
    }

    /// <summary>Raises the default-domain opset to <see cref="Int4Opset"/> when it is below it.</summary>
    internal static void RequireInt4Opset(OnnxModel model)
    {
        if ((model.GetOpset() ?? 0) < Int4Opset) OpsetUpgrade.UpgradeInPlace(model, Int4Opset);
    }

    private static (int Channels, int Inner) Layout(int[] shape, int? axis, int count)
    {
        if (axis is not { } a) return (1, count);
        if (a < 0) a += shape.Length;
        if (a < 0 || a >= shape.Length) throw new ArgumentException($"axis {axis} is outside a weight of rank {shape.Length}", nameof(axis));
        int inner = 1;
        for (int d = a + 1; d < shape.Length; d++) inner *= shape[d];
        return (shape[a], inner);
    }

    /// <summary>The flat indices of channel <paramref name="c"/>: blocks of <paramref name="inner"/> every channels×inner values.</summary>
    private static IEnumerable<int> Indices(int c, int channels, int inner, int count)
    {
        for (int start = c * inner; start < count; start += channels * inner)
            for (int i = start; i < start + inner; i++) yield return i;
    }
}
