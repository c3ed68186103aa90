namespace Whittle.Quantization;

/// <summary>
/// Running minimum and maximum next to a histogram of |x|: the histogram calibrators choose a
/// symmetric clip value t from |x| and then intersect [-t, t] with what was really observed, so a
/// tensor that is never negative (after ReLU) gets [0, t] instead of wasting half the grid.
/// </summary>
internal struct ObservedExtremes
{
    private bool _seen;

    public float Min { get; private set; }

    public float Max { get; private set; }

    public void Add(ReadOnlySpan<float> batch)
    {
        foreach (var v in batch)
        {
            if (float.IsNaN(v)) continue;
            if (!_seen)
            {
                (Min, Max, _seen) = (v, v, true);
                continue;
            }
            if (v < Min) Min = v;
            if (v > Max) Max = v;
        }
    }

    /// <summary>
    /// [clamp(min, −t, t), clamp(max, −t, t)], which is [max(min, −t), min(max, t)] unless every
    /// value lies beyond the same side of ±t; (0, 0) before any value.
    /// </summary>
    public readonly CalibratedRange Clip(double threshold)
    {
        if (!_seen) return default;
        var t = (float)threshold;
        return new CalibratedRange(Math.Clamp(Min, -t, t), Math.Clamp(Max, -t, t));
    }
}

/// <summary>
/// TensorRT's entropy calibration: the clip value t of |x| whose quantized distribution loses the
/// least information, measured as the KL divergence between the float histogram (clipped at t,
/// outliers folded into the last kept bin) and its <see cref="QuantizedBins"/>-level quantization.
/// Follows "8-bit Inference with TensorRT" (Migacz, GTC 2017) as MXNet's
/// <c>_get_optimal_threshold</c> implements it, on the histogram of |x| of
/// <see cref="AbsoluteValueHistogram"/> (bounded memory, one pass). The returned range is [-t, t]
/// intersected with the observed [min, max].
/// </summary>
public sealed class EntropyCalibrator : ITensorCalibrator
{
    /// <summary>Quantized bins the candidate distributions are merged into (128: the positive half of int8).</summary>
    public const int DefaultQuantizedBins = 128;

    // MXNet / ONNX Runtime smooth_distribution's epsilon, applied to counts.
    private const double SmoothingEpsilon = 1e-4;

    private readonly AbsoluteValueHistogram _histogram;
    private ObservedExtremes _extremes;

    /// <summary>Creates the calibrator.</summary>
    /// <param name="quantizedBins">Levels the candidate distributions are quantized to.</param>
    /// <param name="bins">Histogram bins; null keeps <see cref="AbsoluteValueHistogram"/>'s default (2048).</param>
    /// <exception cref="ArgumentOutOfRangeException">quantizedBins is below 2 or above the number of bins.</exception>
    public EntropyCalibrator(int quantizedBins = DefaultQuantizedBins, int? bins = null)
    {
        _histogram = bins is { } b ? new AbsoluteValueHistogram(b) : new AbsoluteValueHistogram();
        if (quantizedBins < 2 || quantizedBins > _histogram.Counts.Count)
            throw new ArgumentOutOfRangeException(nameof(quantizedBins), quantizedBins, $"must be in [2, {_histogram.Counts.Count}] (the histogram's bins)");
        QuantizedBins = quantizedBins;
    }

    /// <summary>Levels the candidate distributions are quantized to.</summary>
    public int QuantizedBins { get; }

    /// <summary>The |x| histogram collected so far.</summary>
    public AbsoluteValueHistogram Histogram => _histogram;

    /// <summary>Adds one batch of the tensor's values (NaN ignored).</summary>
    public void Add(ReadOnlySpan<float> batch)
    {
        _histogram.Add(batch);
        _extremes.Add(batch);
    }

    /// <summary>
    /// The clip value t = (best candidate bin count) × bin width; 0 before any value. The first bin
    /// is given the count of the second before the search (as NVIDIA's pytorch-quantization does):
    /// after a ReLU it holds a spike of exact zeros that quantization represents exactly, and left in,
    /// it dominates the divergence and drives the threshold far too low (ResNet-8 on Fashion-MNIST:
    /// 7.3 accuracy points lost with the spike, see docs/quantization.md).
    /// </summary>
    public double Threshold
    {
        get
        {
            if (_histogram.Count == 0 || _histogram.Range == 0) return 0;
            var counts = _histogram.Counts.ToArray();
            if (counts.Length > 1) counts[0] = counts[1];
            return OptimalBinCount(counts, QuantizedBins) * _histogram.Range / counts.Length;
        }
    }

    /// <summary>[max(min, −t), min(max, t)]; (0, 0) before any value.</summary>
    public CalibratedRange Range => _extremes.Clip(Threshold);

    /// <summary>
    /// The number of leading bins i in [<paramref name="quantizedBins"/>, bins] whose clipped
    /// distribution has the smallest <see cref="Divergence"/> (the first one on ties).
    /// </summary>
    /// <param name="histogram">Counts of |x| per bin, bin 0 starting at 0.</param>
    /// <param name="quantizedBins">Levels to quantize to.</param>
    /// <returns>The best i; the threshold is i × bin width.</returns>
    public static int OptimalBinCount(ReadOnlySpan<long> histogram, int quantizedBins)
    {
        CheckArguments(histogram.Length, quantizedBins, quantizedBins);
        int best = histogram.Length;
        double bestDivergence = double.PositiveInfinity;
        for (int i = quantizedBins; i <= histogram.Length; i++)
        {
            double d = Divergence(histogram, i, quantizedBins);
            if (d < bestDivergence)
            {
                bestDivergence = d;
                best = i;
            }
        }
        return best;
    }

    /// <summary>
    /// KL(P‖Q) for clipping after the first <paramref name="candidate"/> bins. P: those bins with
    /// the mass of all later bins added to the last one. Q: the same bins without the outliers,
    /// merged into <paramref name="quantizedBins"/> groups of candidate / quantizedBins bins (the
    /// last group takes the remainder), each group's mass spread evenly over the bins where P is
    /// nonzero. Zeros of both are smoothed (ε = 1e-4 on counts, taken from the nonzero bins) and
    /// both normalized before the divergence (natural log, as <c>scipy.stats.entropy</c>).
    /// </summary>
    /// <returns>The divergence; +∞ when Q has no mass (or smoothing cannot keep it positive).</returns>
    public static double Divergence(ReadOnlySpan<long> histogram, int candidate, int quantizedBins)
    {
        CheckArguments(histogram.Length, quantizedBins, candidate);
        int i = candidate;
        var p = new double[i];
        for (int k = 0; k < i; k++) p[k] = histogram[k];
        for (int k = i; k < histogram.Length; k++) p[i - 1] += histogram[k];

        var q = new double[i];
        int merged = i / quantizedBins;
        for (int j = 0; j < quantizedBins; j++)
        {
            int start = j * merged;
            int stop = j == quantizedBins - 1 ? i : start + merged;
            double mass = 0;
            int nonzero = 0;
            for (int k = start; k < stop; k++)
            {
                mass += histogram[k];
                if (p[k] != 0) nonzero++;
            }
            if (nonzero == 0) continue;
            for (int k = start; k < stop; k++) q[k] = p[k] != 0 ? mass / nonzero : 0;
        }

        if (!Smooth(p) || !Smooth(q)) return double.PositiveInfinity;
        double pSum = 0, qSum = 0;
        for (int k = 0; k < i; k++)
        {
            pSum += p[k];
            qSum += q[k];
        }
        double divergence = 0;
        for (int k = 0; k < i; k++)
        {
            double pk = p[k] / pSum;
            divergence += pk * Math.Log(pk / (q[k] / qSum));
        }
        return divergence;
    }

    // MXNet's _smooth_distribution: zeros get ε, the nonzero bins pay for it evenly.
    private static bool Smooth(double[] distribution)
    {
        int zeros = 0;
        foreach (var v in distribution) if (v == 0) zeros++;
        int nonzeros = distribution.Length - zeros;
        if (nonzeros == 0) return false;
        double taken = SmoothingEpsilon * zeros / nonzeros;
        for (int k = 0; k < distribution.Length; k++)
        {
            distribution[k] += distribution[k] == 0 ? SmoothingEpsilon : -taken;
            if (distribution[k] <= 0) return false;
        }
        return true;
    }

    private static void CheckArguments(int bins, int quantizedBins, int candidate)
    {
        if (quantizedBins < 2 || quantizedBins > bins)
            throw new ArgumentOutOfRangeException(nameof(quantizedBins), quantizedBins, $"must be in [2, {bins}] (the histogram's bins)");
        if (candidate < quantizedBins || candidate > bins)
            throw new ArgumentOutOfRangeException(nameof(candidate), candidate, $"must be in [{quantizedBins}, {bins}]");
    }
}

/// <summary>
/// The clip value t of |x| that minimises the expected squared quantization error, rounding plus
/// clipping, estimated from the |x| histogram: a value inside [0, t] costs s²/12 (uniform rounding
/// error with step s = t / <see cref="Levels"/>), a value beyond t costs (|x| − t)², with every
/// value taken at its bin's centre. Candidates are the histogram's bin edges. The returned range
/// is [-t, t] intersected with the observed [min, max].
/// </summary>
public sealed class MseCalibrator : ITensorCalibrator
{
    /// <summary>Quantization steps between 0 and t by default: 127, int8 symmetric.</summary>
    public const int DefaultLevels = 127;

    private readonly AbsoluteValueHistogram _histogram;
    private ObservedExtremes _extremes;

    /// <summary>Creates the calibrator.</summary>
    /// <param name="levels">Quantization steps between 0 and t (see <see cref="LevelsFor"/>).</param>
    /// <param name="bins">Histogram bins; null keeps <see cref="AbsoluteValueHistogram"/>'s default (2048).</param>
    /// <exception cref="ArgumentOutOfRangeException">levels is below 1.</exception>
    public MseCalibrator(int levels = DefaultLevels, int? bins = null)
    {
        if (levels < 1) throw new ArgumentOutOfRangeException(nameof(levels), levels, "must be at least 1");
        Levels = levels;
        _histogram = bins is { } b ? new AbsoluteValueHistogram(b) : new AbsoluteValueHistogram();
    }

    /// <summary>
    /// Steps between 0 and t for a target type, from <see cref="QuantMath.TargetRange"/>: half the
    /// range when symmetric (int8: 127), the whole range otherwise (uint8: 255, right for
    /// non-negative tensors, whose range is [0, t]).
    /// </summary>
    /// <param name="type">The activation's quantized type.</param>
    /// <param name="symmetric">Whether the range is symmetric around 0.</param>
    /// <returns>The number of steps.</returns>
    public static int LevelsFor(QuantizationType type, bool symmetric)
    {
        var (qmin, qmax) = QuantMath.TargetRange(type, reduceRange: false, symmetric);
        return symmetric ? (qmax - qmin) / 2 : qmax - qmin;
    }

    /// <summary>Quantization steps between 0 and t.</summary>
    public int Levels { get; }

    /// <summary>The |x| histogram collected so far.</summary>
    public AbsoluteValueHistogram Histogram => _histogram;

    /// <summary>Adds one batch of the tensor's values (NaN ignored).</summary>
    public void Add(ReadOnlySpan<float> batch)
    {
        _histogram.Add(batch);
        _extremes.Add(batch);
    }

    /// <summary>The clip value t; 0 before any value.</summary>
    public double Threshold => _histogram.Count == 0 || _histogram.Range == 0
        ? 0
        : OptimalClip(_histogram.Counts.ToArray(), _histogram.Range / _histogram.Counts.Count, Levels);

    /// <summary>[max(min, −t), min(max, t)]; (0, 0) before any value.</summary>
    public CalibratedRange Range => _extremes.Clip(Threshold);

    /// <summary>The bin edge k × width (k = 1..bins) with the smallest <see cref="ExpectedSquaredError"/>, the first on ties.</summary>
    /// <param name="histogram">Counts of |x| per bin, bin 0 starting at 0.</param>
    /// <param name="binWidth">Width of every bin.</param>
    /// <param name="levels">Quantization steps between 0 and t.</param>
    /// <returns>The clip value.</returns>
    public static double OptimalClip(ReadOnlySpan<long> histogram, double binWidth, int levels)
    {
        double best = histogram.Length * binWidth, bestError = double.PositiveInfinity;
        for (int k = 1; k <= histogram.Length; k++)
        {
            double t = k * binWidth;
            double e = ExpectedSquaredError(histogram, binWidth, t, levels);
            if (e < bestError)
            {
                bestError = e;
                best = t;
            }
        }
        return best;
    }

    /// <summary>
    /// Σ over bins of n·s²/12 when the bin centre c ≤ t, else n·(c − t)², with s = t / levels.
    /// </summary>
    /// <param name="histogram">Counts of |x| per bin, bin 0 starting at 0.</param>
    /// <param name="binWidth">Width of every bin (positive).</param>
    /// <param name="threshold">The clip value t (positive).</param>
    /// <param name="levels">Quantization steps between 0 and t.</param>
    /// <returns>The summed (not averaged) squared error.</returns>
    public static double ExpectedSquaredError(ReadOnlySpan<long> histogram, double binWidth, double threshold, int levels)
    {
        if (!(binWidth > 0)) throw new ArgumentOutOfRangeException(nameof(binWidth), binWidth, "must be positive");
        if (!(threshold > 0)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "must be positive");
        if (levels < 1) throw new ArgumentOutOfRangeException(nameof(levels), levels, "must be at least 1");
        double step = threshold / levels;
        double rounding = step * step / 12;
        double error = 0;
        for (int k = 0; k < histogram.Length; k++)
        {
            if (histogram[k] == 0) continue;
            double centre = (k + 0.5) * binWidth;
            double d = centre - threshold;
            error += histogram[k] * (centre <= threshold ? rounding : d * d);
        }
        return error;
    }
}
