namespace Whittle.Pruning;

/// <summary>
/// The pure arithmetic of pruning: schedules, magnitude thresholds and N:M masks. Numbers and
/// spans in, numbers and masks out — no graphs, no sessions — so every rule has an exact-value
/// table test. Masks are <c>true</c> where a weight is kept.
/// </summary>
public static class Sparsity
{
    /// <summary>
    /// The gradual (automated gradual pruning) target of Zhu &amp; Gupta (2017):
    /// s_t = s_f + (s_i − s_f)(1 − (t − t0)/(nΔt))³, clamped to s_i before
    /// <paramref name="startStep"/> and to s_f after <paramref name="endStep"/> (= t0 + nΔt). The
    /// cubic prunes fast while many redundant weights remain and slowly near the end.
    /// </summary>
    /// <param name="step">The current step t.</param>
    /// <param name="startStep">t0, where pruning starts.</param>
    /// <param name="endStep">t0 + nΔt, where the final sparsity is reached; greater than <paramref name="startStep"/>.</param>
    /// <param name="initialSparsity">s_i in [0, 1].</param>
    /// <param name="finalSparsity">s_f in [0, 1].</param>
    public static double AgpTarget(double step, double startStep, double endStep, double initialSparsity, double finalSparsity)
    {
        CheckFraction(initialSparsity, nameof(initialSparsity));
        CheckFraction(finalSparsity, nameof(finalSparsity));
        if (!double.IsFinite(step) || !double.IsFinite(startStep) || !double.IsFinite(endStep))
            throw new ArgumentException("steps must be finite");
        if (!(endStep > startStep)) throw new ArgumentException($"the end step ({endStep}) must be after the start step ({startStep})", nameof(endStep));
        if (step <= startStep) return initialSparsity;
        if (step >= endStep) return finalSparsity;
        double remaining = 1 - (step - startStep) / (endStep - startStep);
        return finalSparsity + (initialSparsity - finalSparsity) * remaining * remaining * remaining;
    }

    /// <summary>
    /// How many of <paramref name="count"/> weights a sparsity removes: round(sparsity · count),
    /// with ties to even — the rule of PyTorch's <c>torch.nn.utils.prune</c> (Python's round), so the
    /// same sparsity prunes the same number of weights in both.
    /// </summary>
    public static long PrunedCount(long count, double sparsity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        CheckFraction(sparsity, nameof(sparsity));
        return (long)Math.Round(sparsity * count, MidpointRounding.ToEven);
    }

    /// <summary>
    /// Layer-wise magnitude pruning: removes the <see cref="PrunedCount"/> weights of smallest |w|.
    /// Ties are broken by position (the earlier weight goes first), so the mask is deterministic.
    /// </summary>
    /// <param name="weights">One tensor's values.</param>
    /// <param name="sparsity">Fraction to remove, in [0, 1].</param>
    /// <returns>True where a weight is kept.</returns>
    public static bool[] MagnitudeMask(ReadOnlySpan<float> weights, double sparsity)
    {
        long k = PrunedCount(weights.Length, sparsity);
        var order = AscendingMagnitudeOrder(weights);
        var keep = new bool[weights.Length];
        Array.Fill(keep, true);
        for (int i = 0; i < k; i++) keep[order[i]] = false;
        return keep;
    }

    /// <summary>
    /// Global magnitude pruning: one threshold over all tensors together, so layers with small
    /// weights lose more. Removes <see cref="PrunedCount"/>(total, sparsity) weights of smallest
    /// |w|; ties are broken by tensor, then position. A per-tensor cap (largest allowed sparsity
    /// of that tensor) is respected by skipping weights of a capped tensor and taking the next
    /// smallest elsewhere; when the caps make the target unreachable, as many as allowed are removed.
    /// </summary>
    /// <param name="tensors">The values of each tensor.</param>
    /// <param name="sparsity">Fraction of all weights to remove, in [0, 1].</param>
    /// <param name="caps">Per tensor, the largest sparsity it may reach (null: 1 for every tensor).</param>
    /// <returns>Per tensor, true where a weight is kept.</returns>
    public static bool[][] GlobalMagnitudeMasks(IReadOnlyList<float[]> tensors, double sparsity, IReadOnlyList<double>? caps = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        return GlobalMasks(tensors.Select(t => t.Select(w => (double)Math.Abs(w)).ToArray()).ToList(), sparsity, caps);
    }

    /// <summary>
    /// The layer-adaptive magnitude scores of LAMP (Lee et al. 2021, "Layer-adaptive sparsity for
    /// the magnitude-based pruning"): with a tensor's weights sorted by ascending |w| (ties by
    /// position), the weight at sorted index u scores w_u² / Σ_{v ≥ u} w_v², its squared magnitude
    /// over the squared magnitudes of itself and every larger weight of the same tensor. The largest
    /// weight of every tensor scores 1, so ranking all tensors' scores together never empties a
    /// layer, and each layer's share of the pruning follows how much of its energy the removed
    /// weights carry rather than the scale an exporter's BatchNorm folding gave it. A tensor of
    /// zeros scores 0 everywhere except its last (ranked) weight.
    /// </summary>
    /// <param name="weights">One tensor's values.</param>
    /// <returns>Per weight, its score in [0, 1], in the tensor's order.</returns>
    public static double[] LampScores(ReadOnlySpan<float> weights)
    {
        var order = AscendingMagnitudeOrder(weights);
        var scores = new double[weights.Length];
        double suffix = 0;
        for (int r = order.Length - 1; r >= 0; r--)
        {
            double square = (double)weights[order[r]] * weights[order[r]];
            suffix += square;
            scores[order[r]] = suffix > 0 ? square / suffix : r == order.Length - 1 ? 1 : 0;
        }
        return scores;
    }

    /// <summary>
    /// Global pruning on <see cref="LampScores"/>: the <see cref="PrunedCount"/>(total, sparsity)
    /// weights of lowest score over all tensors are removed (ties by tensor, then position), with
    /// the per-tensor caps of <see cref="GlobalMagnitudeMasks"/>.
    /// </summary>
    /// <param name="tensors">The values of each tensor.</param>
    /// <param name="sparsity">Fraction of all weights to remove, in [0, 1].</param>
    /// <param name="caps">Per tensor, the largest sparsity it may reach (null: 1 for every tensor).</param>
    /// <returns>Per tensor, true where a weight is kept.</returns>
    public static bool[][] GlobalLampMasks(IReadOnlyList<float[]> tensors, double sparsity, IReadOnlyList<double>? caps = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        return GlobalMasks(tensors.Select(t => LampScores(t)).ToList(), sparsity, caps);
    }

    /// <summary>Removes the weights of lowest score over all tensors together, respecting per-tensor caps.</summary>
    private static bool[][] GlobalMasks(IReadOnlyList<double[]> scores, double sparsity, IReadOnlyList<double>? caps)
    {
        if (caps is not null && caps.Count != scores.Count)
            throw new ArgumentException($"{caps.Count} caps for {scores.Count} tensors", nameof(caps));
        if (caps is not null) foreach (var c in caps) CheckFraction(c, nameof(caps));
        long total = scores.Sum(t => (long)t.Length);
        long k = PrunedCount(total, sparsity);
        var entries = new (double Score, int Tensor, int Index)[total];
        long e = 0;
        for (int t = 0; t < scores.Count; t++)
            for (int i = 0; i < scores[t].Length; i++) entries[e++] = (scores[t][i], t, i);
        Array.Sort(entries, (a, b) => a.Score != b.Score ? a.Score.CompareTo(b.Score)
            : a.Tensor != b.Tensor ? a.Tensor.CompareTo(b.Tensor) : a.Index.CompareTo(b.Index));
        var masks = scores.Select(t => Enumerable.Repeat(true, t.Length).ToArray()).ToArray();
        var limit = scores.Select((t, i) => caps is null ? t.Length : (long)Math.Floor(caps[i] * t.Length + 1e-9)).ToArray();
        var pruned = new long[scores.Count];
        long removed = 0;
        foreach (var (_, t, i) in entries)
        {
            if (removed == k) break;
            if (pruned[t] >= limit[t]) continue;
            masks[t][i] = false;
            pruned[t]++;
            removed++;
        }
        return masks;
    }

    /// <summary>
    /// An N:M mask: in every run of <paramref name="m"/> consecutive elements along
    /// <paramref name="axis"/> (for every position of the other axes), the <paramref name="n"/>
    /// of largest |w| are kept (ties: the earlier one). With the reduction axis (Conv input
    /// channels, Gemm/MatMul K) this is the 2:4 pattern sparse tensor cores run.
    /// </summary>
    /// <param name="weights">Row-major values of a tensor of <paramref name="shape"/>.</param>
    /// <param name="shape">The tensor's shape.</param>
    /// <param name="axis">The axis the groups run along; its length must be a multiple of <paramref name="m"/>.</param>
    /// <param name="n">Elements kept per group, 1 ≤ n ≤ m.</param>
    /// <param name="m">Group length.</param>
    public static bool[] NmMask(ReadOnlySpan<float> weights, IReadOnlyList<long> shape, int axis, int n, int m)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (m < 1 || n < 1 || n > m) throw new ArgumentOutOfRangeException(nameof(n), $"N:M needs 1 ≤ N ≤ M; got {n}:{m}");
        if (axis < 0 || axis >= shape.Count) throw new ArgumentOutOfRangeException(nameof(axis), axis, $"outside the rank {shape.Count}");
        long count = 1;
        foreach (var d in shape) count *= d;
        if (count != weights.Length) throw new ArgumentException($"{weights.Length} values do not fill shape [{string.Join(",", shape)}]", nameof(weights));
        long length = shape[axis];
        if (length % m != 0) throw new ArgumentException($"axis {axis} has {length} elements, not a multiple of {m}", nameof(shape));
        long inner = 1;
        for (int a = axis + 1; a < shape.Count; a++) inner *= shape[a];
        long outer = count / (length * inner);
        var keep = new bool[weights.Length];
        var group = new int[m];
        var magnitude = new float[weights.Length];
        for (int i = 0; i < weights.Length; i++) magnitude[i] = Math.Abs(weights[i]);
        for (long o = 0; o < outer; o++)
            for (long i = 0; i < inner; i++)
                for (long start = 0; start < length; start += m)
                {
                    for (int j = 0; j < m; j++) group[j] = checked((int)((o * length + start + j) * inner + i));
                    // Largest |w| first; the earlier element wins a tie (stable sort keeps group order).
                    var ranked = group.OrderByDescending(g => magnitude[g]).ToArray();
                    for (int j = 0; j < n; j++) keep[ranked[j]] = true;
                }
        return keep;
    }

    /// <summary>
    /// Output channels a layer keeps when a fraction <paramref name="ratio"/> is removed, rounded to
    /// the nearest multiple of <paramref name="roundTo"/> (halves away from zero) and never below one
    /// multiple nor above <paramref name="channels"/>: a layer always keeps at least one channel.
    /// </summary>
    /// <param name="channels">Channels the layer has; positive.</param>
    /// <param name="ratio">Fraction to remove, in [0, 1).</param>
    /// <param name="roundTo">Kept channels are a multiple of this (1 for no rounding).</param>
    /// <param name="minChannels">A layer keeps at least this many channels (all of them when it has fewer).</param>
    public static int KeptChannels(int channels, double ratio, int roundTo = 1, int minChannels = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(roundTo);
        if (!(ratio >= 0 && ratio < 1)) throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "must be in [0, 1)");
        double keep = channels * (1 - ratio);
        int rounded = (int)Math.Round(keep / roundTo, MidpointRounding.AwayFromZero) * roundTo;
        rounded = Math.Max(Math.Max(rounded, roundTo), Math.Max(minChannels, 1));
        return Math.Min(rounded, channels);
    }

    /// <summary>The positions of <paramref name="weights"/> by ascending |w|, ties by position.</summary>
    internal static int[] AscendingMagnitudeOrder(ReadOnlySpan<float> weights)
    {
        var magnitudes = new float[weights.Length];
        var order = new int[weights.Length];
        for (int i = 0; i < weights.Length; i++)
        {
            magnitudes[i] = Math.Abs(weights[i]);
            order[i] = i;
        }
        // Array.Sort is unstable; sorting (magnitude, index) keys makes ties deterministic.
        Array.Sort(order, (a, b) => magnitudes[a] != magnitudes[b] ? magnitudes[a].CompareTo(magnitudes[b]) : a.CompareTo(b));
        return order;
    }

    private static void CheckFraction(double value, string name)
    {
        if (!(value >= 0 && value <= 1)) throw new ArgumentOutOfRangeException(name, value, "must be a fraction in [0, 1]");
    }
}
