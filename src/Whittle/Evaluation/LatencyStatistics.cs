using System.Globalization;

namespace Whittle.Evaluation;

/// <summary>
/// Percentiles, mean, spread and throughput of per-run latencies from a benchmark, where
/// each run processes one batch of <see cref="BatchSize"/> samples.
/// </summary>
/// <remarks>
/// Percentiles use linear interpolation between closest ranks, NumPy's default
/// (<c>method="linear"</c>, Hyndman &amp; Fan type 7): for n sorted values x₀ ≤ … ≤ xₙ₋₁ and
/// percentile p, h = (n − 1)·p / 100 and the result is x⌊h⌋ + (h − ⌊h⌋)·(x⌊h⌋+1 − x⌊h⌋).
/// For 1, 2, …, 10: p50 = 5.5, p90 = 9.1, p99 = 9.91.
/// </remarks>
public sealed class LatencyStatistics
{
    private readonly double[] _sortedMilliseconds;

    /// <summary>Summarizes per-run durations given in milliseconds.</summary>
    /// <param name="milliseconds">Duration of each run in ms; at least one, each finite and non-negative.</param>
    /// <param name="batchSize">Samples processed per run; at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">No durations, or a duration is negative, NaN or
    /// infinite (the message names the first such index and value).</exception>
    public LatencyStatistics(IEnumerable<double> milliseconds, int batchSize = 1)
    {
        ArgumentNullException.ThrowIfNull(milliseconds);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        double[] durations = milliseconds.ToArray();
        if (durations.Length == 0)
        {
            throw new ArgumentException("milliseconds are empty: there is no run to summarize.", nameof(milliseconds));
        }
        for (int i = 0; i < durations.Length; i++)
        {
            if (!double.IsFinite(durations[i]) || durations[i] < 0)
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"milliseconds[{i}] = {durations[i]} is not a finite, non-negative duration."),
                    nameof(milliseconds));
            }
        }

        BatchSize = batchSize;
        Runs = durations.Length;
        TotalMilliseconds = durations.Sum();
        MeanMilliseconds = TotalMilliseconds / Runs;
        StandardDeviationMilliseconds = SummaryStatistics.SampleStandardDeviation(durations, MeanMilliseconds);
        Array.Sort(durations);
        _sortedMilliseconds = durations;
    }

    /// <summary>Summarizes per-run durations given as <see cref="TimeSpan"/>s (e.g. from a <see cref="System.Diagnostics.Stopwatch"/>).</summary>
    /// <param name="durations">Duration of each run; at least one, none negative.</param>
    /// <param name="batchSize">Samples processed per run; at least 1.</param>
    /// <exception cref="ArgumentException">See <see cref="LatencyStatistics(IEnumerable{double}, int)"/>.</exception>
    public static LatencyStatistics FromDurations(IEnumerable<TimeSpan> durations, int batchSize = 1)
    {
        ArgumentNullException.ThrowIfNull(durations);
        return new LatencyStatistics(durations.Select(duration => duration.TotalMilliseconds), batchSize);
    }

    /// <summary>Number of runs measured.</summary>
    public int Runs { get; }

    /// <summary>Samples processed per run.</summary>
    public int BatchSize { get; }

    /// <summary>Sum of all run durations, ms.</summary>
    public double TotalMilliseconds { get; }

    /// <summary>Mean run duration, ms.</summary>
    public double MeanMilliseconds { get; }

    /// <summary>Sample standard deviation (n − 1) of the run durations, ms; 0 for a single run.</summary>
    public double StandardDeviationMilliseconds { get; }

    /// <summary>Shortest run, ms.</summary>
    public double MinimumMilliseconds => _sortedMilliseconds[0];

    /// <summary>Longest run, ms.</summary>
    public double MaximumMilliseconds => _sortedMilliseconds[^1];

    /// <summary>Median run duration, ms (see the class remarks for the percentile method).</summary>
    public double P50Milliseconds => Percentile(50);

    /// <summary>90th-percentile run duration, ms.</summary>
    public double P90Milliseconds => Percentile(90);

    /// <summary>99th-percentile run duration, ms.</summary>
    public double P99Milliseconds => Percentile(99);

    /// <summary>
    /// Samples per second over the whole benchmark: BatchSize · Runs / (TotalMilliseconds / 1000),
    /// which is the same number as BatchSize / mean latency in seconds. Positive infinity when
    /// every duration is 0 (a timer too coarse for the work measured).
    /// </summary>
    public double SamplesPerSecond => TotalMilliseconds == 0
        ? double.PositiveInfinity
        : BatchSize * (double)Runs * 1000.0 / TotalMilliseconds;

    /// <summary>The <paramref name="percent"/>-th percentile of the run durations, ms (see the class remarks).</summary>
    /// <param name="percent">Percentile in [0, 100].</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="percent"/> is outside [0, 100] or NaN.</exception>
    public double Percentile(double percent) => PercentileOfSorted(_sortedMilliseconds, percent);

    /// <summary>
    /// The <paramref name="percent"/>-th percentile of <paramref name="values"/> by linear
    /// interpolation between closest ranks (NumPy's default; see the class remarks).
    /// </summary>
    /// <param name="values">Values in any order; at least one, none NaN.</param>
    /// <param name="percent">Percentile in [0, 100].</param>
    /// <exception cref="ArgumentException"><paramref name="values"/> is empty or holds NaN.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="percent"/> is outside [0, 100] or NaN.</exception>
    public static double Percentile(IEnumerable<double> values, double percent)
    {
        ArgumentNullException.ThrowIfNull(values);
        double[] sorted = values.ToArray();
        if (sorted.Length == 0)
        {
            throw new ArgumentException("values are empty: a percentile needs at least one value.", nameof(values));
        }
        int nanIndex = Array.FindIndex(sorted, double.IsNaN);
        if (nanIndex >= 0)
        {
            throw new ArgumentException($"values[{nanIndex}] is NaN.", nameof(values));
        }
        Array.Sort(sorted);
        return PercentileOfSorted(sorted, percent);
    }

    /// <summary>One-line summary: runs, mean, p50/p90/p99 and throughput.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Runs} runs x batch {BatchSize}: mean {MeanMilliseconds:F3} ms, p50 {P50Milliseconds:F3} ms, p90 {P90Milliseconds:F3} ms, p99 {P99Milliseconds:F3} ms, {SamplesPerSecond:F1} samples/s");

    private static double PercentileOfSorted(double[] sorted, double percent)
    {
        if (!(percent >= 0 && percent <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(percent), percent, "A percentile must be in [0, 100].");
        }
        // Same operation order as numpy.percentile (q / 100, then times n - 1) so ranks round alike.
        double rank = percent / 100.0 * (sorted.Length - 1);
        int lower = (int)Math.Floor(rank);
        if (lower >= sorted.Length - 1)
        {
            return sorted[^1];
        }
        double fraction = rank - lower;
        double below = sorted[lower], above = sorted[lower + 1];
        // NumPy's _lerp: interpolating from the nearer end keeps the result inside
        // [below, above] despite rounding and matches NumPy to the last bit.
        return fraction < 0.5
            ? below + (above - below) * fraction
            : above - (above - below) * (1 - fraction);
    }
}
