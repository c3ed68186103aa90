namespace Whittle.Quantization;

/// <summary>A calibrated range for one tensor: the values quantization must represent.</summary>
/// <param name="Min">Lower end.</param>
/// <param name="Max">Upper end.</param>
public readonly record struct CalibratedRange(float Min, float Max);

/// <summary>
/// A streaming calibrator for one tensor: it sees the tensor's values batch by batch (one pass,
/// memory independent of the data size) and then proposes the range quantization must cover.
/// </summary>
public interface ITensorCalibrator
{
    /// <summary>Adds one batch of the tensor's values.</summary>
    void Add(ReadOnlySpan<float> batch);

    /// <summary>The calibrated range; (0, 0) before any value was added.</summary>
    CalibratedRange Range { get; }
}

/// <summary>
/// Running min/max of a tensor over calibration batches (ONNX Runtime's MinMax calibrator).
/// With <see cref="MovingAverageConstant"/> the range follows
/// min ← min + c·(batchMin − min) after the first batch, which discounts early outliers.
/// Streaming: one pass, memory independent of the data size.
/// </summary>
public sealed class MinMaxCalibrator : ITensorCalibrator
{
    private bool _seen;

    /// <summary>Creates the calibrator; <paramref name="movingAverageConstant"/> null keeps the absolute min/max.</summary>
    public MinMaxCalibrator(double? movingAverageConstant = null)
    {
        if (movingAverageConstant is { } c && !(c > 0 && c <= 1))
            throw new ArgumentOutOfRangeException(nameof(movingAverageConstant), c, "must be in (0, 1]");
        MovingAverageConstant = movingAverageConstant;
    }

    /// <summary>The moving-average constant, or null for absolute min/max.</summary>
    public double? MovingAverageConstant { get; }

    /// <summary>Adds one batch of the tensor's values (NaN values are ignored).</summary>
    public void Add(ReadOnlySpan<float> batch)
    {
        float bmin = float.PositiveInfinity, bmax = float.NegativeInfinity;
        foreach (var v in batch)
        {
            if (float.IsNaN(v)) continue;
            if (v < bmin) bmin = v;
            if (v > bmax) bmax = v;
        }
        if (float.IsPositiveInfinity(bmin)) return;
        if (!_seen)
        {
            (Min, Max, _seen) = (bmin, bmax, true);
            return;
        }
        if (MovingAverageConstant is { } c)
        {
            Min = (float)(Min + c * (bmin - Min));
            Max = (float)(Max + c * (bmax - Max));
        }
        else
        {
            Min = Math.Min(Min, bmin);
            Max = Math.Max(Max, bmax);
        }
    }

    /// <summary>The smallest value seen (or its moving average).</summary>
    public float Min { get; private set; }

    /// <summary>The largest value seen (or its moving average).</summary>
    public float Max { get; private set; }

    /// <summary>The calibrated range; (0, 0) when no value was seen.</summary>
    public CalibratedRange Range => _seen ? new CalibratedRange(Min, Max) : default;
}

/// <summary>
/// A histogram of |x| over [0, max|x|] with a fixed number of bins that widens as larger values
/// arrive (existing counts are merged into the wider bins), so calibration over any number of
/// batches uses bounded memory. The basis of the percentile calibrator.
/// </summary>
public sealed class AbsoluteValueHistogram
{
    private long[] _counts;

    /// <summary>Creates an empty histogram with <paramref name="bins"/> bins (ONNX Runtime uses 2048).</summary>
    public AbsoluteValueHistogram(int bins = 2048)
    {
        if (bins < 2) throw new ArgumentOutOfRangeException(nameof(bins), bins, "needs at least 2 bins");
        _counts = new long[bins];
    }

    /// <summary>Upper edge of the last bin (the largest |x| seen, widened to whole merges).</summary>
    public double Range { get; private set; }

    /// <summary>Number of values added.</summary>
    public long Count { get; private set; }

    /// <summary>The bin counts (bin i covers [i·Range/bins, (i+1)·Range/bins), the last one closed).</summary>
    public IReadOnlyList<long> Counts => _counts;

    /// <summary>Adds a batch (NaN ignored).</summary>
    public void Add(ReadOnlySpan<float> batch)
    {
        double max = 0;
        foreach (var v in batch) if (!float.IsNaN(v)) max = Math.Max(max, Math.Abs((double)v));
        if (max > Range) Widen(max);
        int bins = _counts.Length;
        foreach (var v in batch)
        {
            if (float.IsNaN(v)) continue;
            double a = Math.Abs((double)v);
            int i = Range == 0 ? 0 : (int)(a / Range * bins);
            _counts[Math.Min(i, bins - 1)]++;
            Count++;
        }
    }

    /// <summary>
    /// The threshold for <paramref name="percentile"/>% of |x|: the left edge of the first bin where
    /// the cumulative share reaches it — ONNX Runtime's rule (<c>HistogramCollector.compute_percentile</c>,
    /// symmetric mode: <c>hist_edges[searchsorted(cdf, p/100)]</c>).
    /// </summary>
    public double Percentile(double percentile)
    {
        if (!(percentile > 0 && percentile <= 100)) throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "must be in (0, 100]");
        if (Count == 0) return 0;
        double target = percentile / 100 * Count;
        long cumulative = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            cumulative += _counts[i];
            if (cumulative >= target - 1e-9) return i * Range / _counts.Length;
        }
        return Range;
    }

    private void Widen(double max)
    {
        if (Range == 0)
        {
            // Values seen so far were all 0 and sit in bin 0, which stays bin 0.
            Range = max;
            return;
        }
        // Double the range until it covers max, merging pairs of bins each time.
        while (Range < max)
        {
            var merged = new long[_counts.Length];
            for (int i = 0; i < _counts.Length; i++) merged[i / 2] += _counts[i];
            _counts = merged;
            Range *= 2;
        }
    }
}

/// <summary>
/// The range [-t, t] cut to the observed min/max, where t is the given percentile of |x| (default 99.999): clips rare
/// outliers instead of spending the whole quantization grid on them. This is ONNX Runtime's
/// percentile calibrator in its symmetric mode; its two-sided mode (a histogram of signed values
/// cut at both ends) is not implemented yet. The histogram widens by doubling its range and
/// merging bin pairs, so its edges (and thresholds, within one bin) can differ from ORT's re-binning.
/// </summary>
public sealed class PercentileCalibrator : ITensorCalibrator
{
    private readonly AbsoluteValueHistogram _histogram;
    private readonly MinMaxCalibrator _observed = new();

    /// <summary>Creates the calibrator.</summary>
    public PercentileCalibrator(double percentile = 99.999, int bins = 2048)
    {
        if (!(percentile > 0 && percentile <= 100)) throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "must be in (0, 100]");
        Percentile = percentile;
        _histogram = new AbsoluteValueHistogram(bins);
    }

    /// <summary>The percentile of |x| kept.</summary>
    public double Percentile { get; }

    /// <summary>Adds one batch of the tensor's values.</summary>
    public void Add(ReadOnlySpan<float> batch)
    {
        _histogram.Add(batch);
        _observed.Add(batch);
    }

    /// <summary>
    /// The calibrated range: [-t, t] cut to the observed values, so a non-negative tensor (after a
    /// ReLU) gets [0, t] and keeps all of uint8's levels (and its zero point stays 0).
    /// </summary>
    public CalibratedRange Range
    {
        get
        {
            var t = (float)_histogram.Percentile(Percentile);
            var seen = _observed.Range;
            return new CalibratedRange(Math.Max(seen.Min, -t), Math.Min(seen.Max, t));
        }
    }
}
