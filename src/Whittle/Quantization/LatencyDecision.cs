using Whittle.Evaluation;

namespace Whittle.Quantization;

/// <summary>
/// The median of per-round latency ratios (model / reference in the same round) and a distribution-free
/// confidence interval for it: the order statistics x(k) and x(n+1−k) of the n rounds, with the largest k
/// whose coverage 1 − 2·P(Binomial(n, ½) ≤ k − 1) is at least 95 % (k = 1, the min–max, when no k reaches it:
/// up to 8 rounds). With 21 rounds that is x(6)–x(16), about the quartiles. No assumption about the shape
/// of the noise: on a shared machine it is skewed and heavy-tailed.
/// </summary>
/// <param name="Median">The median ratio.</param>
/// <param name="Low">The lower confidence bound of the median.</param>
/// <param name="High">The upper confidence bound of the median.</param>
public sealed record RatioSpread(double Median, double Low, double High)
{
    /// <summary>The coverage the confidence interval aims at.</summary>
    public const double Confidence = 0.95;

    /// <summary>The median and its confidence interval (see the type's remarks).</summary>
    /// <exception cref="ArgumentException">No ratios, or one that is not a positive number.</exception>
    public static RatioSpread Of(IReadOnlyList<double> ratios)
    {
        ArgumentNullException.ThrowIfNull(ratios);
        if (ratios.Count == 0) throw new ArgumentException("a spread needs at least one ratio", nameof(ratios));
        if (ratios.Any(r => !(r > 0 && double.IsFinite(r)))) throw new ArgumentException($"ratios must be positive numbers: [{string.Join(", ", ratios)}]", nameof(ratios));
        var sorted = ratios.Order().ToArray();
        int k = ConfidenceRank(sorted.Length);
        return new RatioSpread(LatencyStatistics.Percentile(sorted, 50), sorted[k - 1], sorted[sorted.Length - k]);
    }

    /// <summary>
    /// The rank k (1-based) of the lower bound of the median's confidence interval over <paramref name="rounds"/>
    /// values: the largest k with P(Binomial(n, ½) ≤ k − 1) ≤ (1 − <see cref="Confidence"/>) / 2, at least 1.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rounds"/> is below 1.</exception>
    public static int ConfidenceRank(int rounds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        double tail = (1 - Confidence) / 2;
        // Beyond 1000 rounds 2^-n underflows; the normal approximation is exact enough there.
        if (rounds > 1000) return Math.Max(1, (int)Math.Floor(rounds / 2.0 - 1.959964 * Math.Sqrt(rounds) / 2));
        double term = Math.Pow(0.5, rounds), cumulative = term;
        int k = 1;
        // Invariant: cumulative = P(X ≤ k − 1) after k was accepted.
        for (int i = 1; i < rounds && cumulative <= tail; i++)
        {
            term *= (double)(rounds - i + 1) / i;
            if (cumulative + term > tail) break;
            cumulative += term;
            k = i + 1;
        }
        return k;
    }

    /// <summary>The width of the confidence interval: the noise of the comparison.</summary>
    public double Spread => High - Low;

    /// <summary>Faster than the reference beyond the noise: the median is below 1 by more than its upper spread, i.e. the upper confidence bound is below 1.</summary>
    public bool Below1 => High < 1;
}

/// <summary>One model against float at one batch size, timed round by round in the same rounds.</summary>
/// <param name="Batch">The batch size.</param>
/// <param name="Rounds">Rounds timed.</param>
/// <param name="FloatMs">The float model's median round time.</param>
/// <param name="ModelMs">The model's median round time.</param>
/// <param name="Ratio">Median of the per-round ratios model / float.</param>
/// <param name="RatioLow">The lower confidence bound of that median (<see cref="RatioSpread"/>).</param>
/// <param name="RatioHigh">The upper confidence bound.</param>
public sealed record BatchLatency(int Batch, int Rounds, double FloatMs, double ModelMs, double Ratio, double RatioLow, double RatioHigh)
{
    /// <summary>Faster than float beyond the noise at this batch: the upper confidence bound of the median ratio is below 1.</summary>
    public bool Faster => RatioHigh < 1;
}

/// <summary>One placement candidate's timing against float.</summary>
/// <param name="Candidate">Its name ("all-int8", or the nodes it keeps float).</param>
/// <param name="FloatNodes">The nodes it keeps in float.</param>
/// <param name="Batches">Its ratio to float at every batch of the set.</param>
/// <param name="Ratio">Over the set: median of the per-round geometric mean of the batches' ratios.</param>
/// <param name="RatioLow">Lower confidence bound of that median.</param>
/// <param name="RatioHigh">Upper confidence bound of that median.</param>
/// <param name="Chosen">Whether this candidate is the placement.</param>
public sealed record CandidateLatency(string Candidate, IReadOnlyList<string> FloatNodes, IReadOnlyList<BatchLatency> Batches, double Ratio, double RatioLow, double RatioHigh, bool Chosen);

/// <summary>A placement candidate's round times, as a timer measured them.</summary>
/// <param name="Name">The candidate.</param>
/// <param name="FloatNodes">The nodes it keeps float (fewer is preferred when the timings cannot tell candidates apart).</param>
/// <param name="Rounds">Per batch of the set (in the set's order), its time in each round, timed in the same rounds as the float reference.</param>
public sealed record CandidateRounds(string Name, IReadOnlyList<string> FloatNodes, IReadOnlyList<IReadOnlyList<double>> Rounds);

/// <summary>The decision over the candidates.</summary>
/// <param name="Chosen">Index of the chosen candidate.</param>
/// <param name="Fastest">Index of the candidate with the lowest median ratio over the set.</param>
/// <param name="Candidates">Every candidate's timing, in the order given.</param>
public sealed record LatencyChoice(int Chosen, int Fastest, IReadOnlyList<CandidateLatency> Candidates)
{
    /// <summary>The chosen candidate is faster than float beyond the noise at every batch of the set.</summary>
    public bool Faster => LatencyDecision.IsFaster(Candidates[Chosen].Batches);
}

/// <summary>
/// The rule latency placement and the "never slower" check follow, on round times alone (pure; the
/// timings come from an <see cref="Whittle.Runtime.ILatencyTimer"/>). Per batch, each round gives a
/// ratio model / float measured in that round; their median is the ratio, and a distribution-free confidence
/// interval of that median (<see cref="RatioSpread"/>) its spread.
/// Over a set of batches, each round's ratios are combined by their geometric mean. Candidates are
/// preferred by fewer float nodes (then by the order given); the fastest candidate (lowest median over
/// the set) replaces a preferred one only when it is faster than it by more than the noise: the upper
/// confidence bound of their per-round ratio fastest / preferred is below 1. So the same model on the same
/// machine gets the same placement unless one candidate is really faster. A model is faster than float
/// when, at every batch of the set, the upper confidence bound of its median ratio is below 1.
/// </summary>
public static class LatencyDecision
{
    /// <summary>A model's ratio to float at one batch from round times measured together.</summary>
    /// <exception cref="ArgumentException">The two series differ in length, are empty, or hold a time that is not positive.</exception>
    public static BatchLatency Compare(int batch, IReadOnlyList<double> floatRounds, IReadOnlyList<double> modelRounds)
    {
        ArgumentNullException.ThrowIfNull(floatRounds);
        ArgumentNullException.ThrowIfNull(modelRounds);
        if (floatRounds.Count != modelRounds.Count)
            throw new ArgumentException($"batch {batch}: {floatRounds.Count} float rounds but {modelRounds.Count} model rounds; both must be timed in the same rounds", nameof(modelRounds));
        var spread = RatioSpread.Of(Ratios(modelRounds, floatRounds));
        return new BatchLatency(batch, floatRounds.Count, LatencyStatistics.Percentile(floatRounds, 50), LatencyStatistics.Percentile(modelRounds, 50),
            spread.Median, spread.Low, spread.High);
    }

    /// <summary>
    /// The ratio <paramref name="numerator"/> / <paramref name="denominator"/> over a set of batches:
    /// per round, the geometric mean over the batches of that round's ratio (rounds beyond the
    /// shortest batch's are left out); then its median and confidence interval.
    /// </summary>
    public static RatioSpread Combine(IReadOnlyList<IReadOnlyList<double>> numerator, IReadOnlyList<IReadOnlyList<double>> denominator) =>
        RatioSpread.Of(CombinedSeries(numerator, denominator));

    /// <summary>Faster than float beyond the noise at every batch (none: false).</summary>
    public static bool IsFaster(IEnumerable<BatchLatency> batches)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var list = batches.ToList();
        return list.Count > 0 && list.All(b => b.Faster);
    }

    /// <summary>Chooses among placement candidates timed against the float reference (see the class remarks for the rule).</summary>
    /// <param name="batches">The batch sizes, in the order of every per-batch list.</param>
    /// <param name="floatRounds">Per batch, the float reference's round times.</param>
    /// <param name="candidates">At least one candidate.</param>
    /// <exception cref="ArgumentException">No candidates, or lists whose lengths do not match.</exception>
    public static LatencyChoice Choose(IReadOnlyList<int> batches, IReadOnlyList<IReadOnlyList<double>> floatRounds, IReadOnlyList<CandidateRounds> candidates)
    {
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(floatRounds);
        ArgumentNullException.ThrowIfNull(candidates);
        if (candidates.Count == 0) throw new ArgumentException("choose among at least one candidate", nameof(candidates));
        if (batches.Count == 0 || floatRounds.Count != batches.Count)
            throw new ArgumentException($"{batches.Count} batch sizes but float rounds for {floatRounds.Count}", nameof(floatRounds));
        foreach (var c in candidates)
            if (c.Rounds.Count != batches.Count)
                throw new ArgumentException($"candidate '{c.Name}' has rounds for {c.Rounds.Count} batch sizes, not {batches.Count}", nameof(candidates));

        var perBatch = candidates.Select(c => batches.Select((b, i) => Compare(b, floatRounds[i], c.Rounds[i])).ToList()).ToList();
        var overall = candidates.Select(c => Combine(c.Rounds, floatRounds)).ToList();
        // Preference: fewer float nodes first, then the order given (a stable sort).
        var preference = Enumerable.Range(0, candidates.Count).OrderBy(i => candidates[i].FloatNodes.Count).ThenBy(i => i).ToList();
        int fastest = preference.MinBy(i => overall[i].Median);
        int chosen = preference.First(i => i == fastest || !Combine(candidates[fastest].Rounds, candidates[i].Rounds).Below1);
        var timings = candidates.Select((c, i) => new CandidateLatency(c.Name, c.FloatNodes, perBatch[i], overall[i].Median, overall[i].Low, overall[i].High, i == chosen)).ToList();
        return new LatencyChoice(chosen, fastest, timings);
    }

    private static double[] Ratios(IReadOnlyList<double> numerator, IReadOnlyList<double> denominator)
    {
        if (numerator.Count == 0) throw new ArgumentException("no rounds to compare", nameof(numerator));
        var ratios = new double[numerator.Count];
        for (int r = 0; r < ratios.Length; r++)
        {
            if (!(numerator[r] > 0 && denominator[r] > 0) || !double.IsFinite(numerator[r]) || !double.IsFinite(denominator[r]))
                throw new ArgumentException($"round {r}: times must be positive numbers, not {numerator[r]} and {denominator[r]}", nameof(numerator));
            ratios[r] = numerator[r] / denominator[r];
        }
        return ratios;
    }

    private static double[] CombinedSeries(IReadOnlyList<IReadOnlyList<double>> numerator, IReadOnlyList<IReadOnlyList<double>> denominator)
    {
        ArgumentNullException.ThrowIfNull(numerator);
        ArgumentNullException.ThrowIfNull(denominator);
        if (numerator.Count == 0 || numerator.Count != denominator.Count)
            throw new ArgumentException($"{numerator.Count} and {denominator.Count} batch sizes; combine the same non-empty set", nameof(denominator));
        var ratios = numerator.Select((n, b) =>
        {
            if (n.Count != denominator[b].Count) throw new ArgumentException($"batch {b}: {n.Count} and {denominator[b].Count} rounds; both must be timed in the same rounds", nameof(denominator));
            return Ratios(n, denominator[b]);
        }).ToList();
        int rounds = ratios.Min(r => r.Length);
        var combined = new double[rounds];
        for (int r = 0; r < rounds; r++) combined[r] = Math.Exp(ratios.Average(b => Math.Log(b[r])));
        return combined;
    }
}
