namespace Whittle.Quantization;

/// <summary>How far quantized (dequantized) values are from their float reference.</summary>
public static class QuantizationError
{
    /// <summary>
    /// Signal-to-quantization-noise ratio in decibels:
    /// 10 log10(sum(reference²) / sum((reference - quantized)²)), accumulated in double.
    /// </summary>
    /// <param name="reference">The float values.</param>
    /// <param name="quantized">The dequantized values, same length.</param>
    /// <returns>The SQNR; +∞ when the arrays are identical, -∞ for an all-zero reference with nonzero error.</returns>
    public static double Sqnr(ReadOnlySpan<float> reference, ReadOnlySpan<float> quantized)
    {
        CheckLengths(reference.Length, quantized.Length);
        double signal = 0, noise = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double r = reference[i];
            double e = r - quantized[i];
            signal += r * r;
            noise += e * e;
        }

        return noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal / noise);
    }

    /// <summary>The largest absolute difference between corresponding elements (0 for empty spans).</summary>
    /// <param name="reference">The float values.</param>
    /// <param name="quantized">The dequantized values, same length.</param>
    /// <returns>max |reference - quantized|.</returns>
    public static double MaxAbsError(ReadOnlySpan<float> reference, ReadOnlySpan<float> quantized)
    {
        CheckLengths(reference.Length, quantized.Length);
        double max = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            max = Math.Max(max, Math.Abs((double)reference[i] - quantized[i]));
        }

        return max;
    }

    /// <summary>
    /// Cosine similarity of the two vectors, accumulated in double: 1 when both are all zero, and
    /// 0 when only one is (the tiny guard keeps that case from dividing by zero).
    /// </summary>
    /// <param name="reference">The float values.</param>
    /// <param name="quantized">The dequantized values, same length.</param>
    /// <returns>dot(reference, quantized) / (|reference| |quantized|).</returns>
    public static double Cosine(ReadOnlySpan<float> reference, ReadOnlySpan<float> quantized)
    {
        CheckLengths(reference.Length, quantized.Length);
        return Evaluation.OutputComparer.Cosine(reference, quantized);
    }

    private static void CheckLengths(int reference, int quantized)
    {
        if (reference != quantized)
        {
            throw new ArgumentException($"Reference has {reference} values but quantized has {quantized}.");
        }
    }
}
