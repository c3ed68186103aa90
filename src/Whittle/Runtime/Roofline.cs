namespace Whittle.Runtime;

/// <summary>
/// A model's compute roofline against one peak rate: the time its multiply-accumulates would take
/// if every one of them ran at the machine's measured peak MAC rate, and how far the measured time
/// is from that limit. The limit ignores memory traffic and every kernel that does no MACs
/// (quantize, reorder, pooling), so no real run reaches it; the gap says how much time goes
/// elsewhere or to kernels running below peak.
/// </summary>
public sealed class RooflineEstimate
{
    /// <summary>Validates and stores the numbers; see <see cref="Roofline.Estimate"/>.</summary>
    /// <param name="macsPerSample">Multiply-accumulates of one sample (e.g. <c>ChannelPruningPlan.MacsBefore</c>).</param>
    /// <param name="batchSize">Samples per run.</param>
    /// <param name="peakMacsPerSecond">The peak rate the limit is computed at (e.g. <see cref="KernelRate.MacsPerSecond"/>).</param>
    /// <param name="measuredMs">The measured time of one run of the batch, in milliseconds.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is not positive (or not finite).</exception>
    public RooflineEstimate(long macsPerSample, int batchSize, double peakMacsPerSecond, double measuredMs)
    {
        MacsPerSample = macsPerSample > 0 ? macsPerSample : throw new ArgumentOutOfRangeException(nameof(macsPerSample), macsPerSample, "must be positive");
        BatchSize = batchSize > 0 ? batchSize : throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be positive");
        PeakMacsPerSecond = Roofline.CheckPositive(peakMacsPerSecond, nameof(peakMacsPerSecond));
        MeasuredMs = Roofline.CheckPositive(measuredMs, nameof(measuredMs));
    }

    /// <summary>Multiply-accumulates of one sample.</summary>
    public long MacsPerSample { get; }

    /// <summary>Samples per run.</summary>
    public int BatchSize { get; }

    /// <summary>The peak rate the limit is computed at, MAC/s.</summary>
    public double PeakMacsPerSecond { get; }

    /// <summary>The measured time of one run, ms.</summary>
    public double MeasuredMs { get; }

    /// <summary>Multiply-accumulates of one run (the whole batch).</summary>
    public double Macs => (double)MacsPerSample * BatchSize;

    /// <summary>The limit: <see cref="Macs"/> at <see cref="PeakMacsPerSecond"/>, in ms.</summary>
    public double LimitMs => Roofline.Milliseconds(Macs, PeakMacsPerSecond);

    /// <summary>Measured time ÷ limit (≥ 1 for any real run; 1 would be every MAC at peak and nothing else).</summary>
    public double TimesLimit => MeasuredMs / LimitMs;

    /// <summary>The MAC rate the run achieved, MAC/s.</summary>
    public double AchievedMacsPerSecond => Roofline.MacsPerSecond(Macs, MeasuredMs);

    /// <summary>Achieved rate ÷ peak rate: the share of the peak the model reaches (1 / <see cref="TimesLimit"/>).</summary>
    public double Efficiency => LimitMs / MeasuredMs;
}

/// <summary>
/// Roofline arithmetic, pure: MAC counts, times and rates in, times and rates out. A rate is MAC/s,
/// a time is milliseconds.
/// </summary>
public static class Roofline
{
    /// <summary>The rate of <paramref name="macs"/> multiply-accumulates done in <paramref name="milliseconds"/>, MAC/s.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is not positive (or not finite).</exception>
    public static double MacsPerSecond(double macs, double milliseconds) =>
        CheckPositive(macs, nameof(macs)) / (CheckPositive(milliseconds, nameof(milliseconds)) / 1000.0);

    /// <summary>The time <paramref name="macs"/> multiply-accumulates take at <paramref name="macsPerSecond"/>, ms.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is not positive (or not finite).</exception>
    public static double Milliseconds(double macs, double macsPerSecond) =>
        CheckPositive(macs, nameof(macs)) / CheckPositive(macsPerSecond, nameof(macsPerSecond)) * 1000.0;

    /// <summary>A model of <paramref name="macsPerSample"/> MACs per sample, measured at <paramref name="measuredMs"/> per batch of <paramref name="batchSize"/>, against <paramref name="peakMacsPerSecond"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is not positive (or not finite).</exception>
    public static RooflineEstimate Estimate(long macsPerSample, int batchSize, double peakMacsPerSecond, double measuredMs) =>
        new(macsPerSample, batchSize, peakMacsPerSecond, measuredMs);

    /// <summary>The median (the mean of the middle two for an even count).</summary>
    /// <exception cref="ArgumentException">No values.</exception>
    public static double Median(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) throw new ArgumentException("the median of no values", nameof(values));
        var sorted = values.Order().ToArray();
        int m = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }

    internal static double CheckPositive(double value, string name) =>
        value > 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(name, value, "must be positive and finite");
}
