using Whittle.Onnx;

namespace Whittle.Quantization;

/// <summary>
/// The arithmetic of folding an inference-mode BatchNormalization into the Conv or Gemm before
/// it: y = γ·(Wx + b − μ)/√(σ² + ε) + β equals W'x + b' with W' = W·s and b' = (b − μ)·s + β,
/// where s = γ/√(σ² + ε) per output channel. Pure functions on spans.
/// </summary>
public static class BatchNormFolding
{
    /// <summary>The per-channel factor s = γ/√(σ² + ε), computed in double.</summary>
    public static double[] ChannelScale(ReadOnlySpan<float> gamma, ReadOnlySpan<float> variance, float epsilon)
    {
        if (gamma.Length != variance.Length) throw new ArgumentException("gamma and variance must have one value per channel");
        var s = new double[gamma.Length];
        for (int c = 0; c < s.Length; c++) s[c] = gamma[c] / Math.Sqrt((double)variance[c] + epsilon);
        return s;
    }

    /// <summary>
    /// Scales the weights in place, per output channel. With <paramref name="channelsOuter"/> the
    /// output channel is the outermost index (Conv [O, I/g, k...], Gemm with transB=1 [O, I]);
    /// otherwise it is the innermost (Gemm with transB=0, [I, O]).
    /// </summary>
    public static void ScaleWeights(Span<float> weights, ReadOnlySpan<double> channelScale, bool channelsOuter)
    {
        int channels = channelScale.Length;
        if (weights.Length % channels != 0) throw new ArgumentException($"{weights.Length} weights are not a multiple of {channels} channels");
        int per = weights.Length / channels;
        for (int i = 0; i < weights.Length; i++)
        {
            int c = channelsOuter ? i / per : i % channels;
            weights[i] = (float)(weights[i] * channelScale[c]);
        }
    }

    /// <summary>The folded bias b' = (b − μ)·s + β (b = 0 when the layer had no bias).</summary>
    public static float[] FoldedBias(ReadOnlySpan<float> bias, ReadOnlySpan<float> mean, ReadOnlySpan<float> beta, ReadOnlySpan<double> channelScale)
    {
        int channels = channelScale.Length;
        if (mean.Length != channels || beta.Length != channels || (bias.Length != 0 && bias.Length != channels))
            throw new ArgumentException("bias, mean, beta and scale must have one value per channel");
        var result = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double b = bias.Length == 0 ? 0 : bias[c];
            result[c] = (float)((b - mean[c]) * channelScale[c] + beta[c]);
        }
        return result;
    }
}
