using Whittle.Data;

namespace Whittle.Evaluation;

/// <summary>
/// Hit rate, NDCG and MRR of a ranking evaluation with sampled candidates: each list holds one
/// positive and N negatives, and a scorer's list is judged by the rank of its positive.
/// </summary>
/// <param name="K">The cut-off of <paramref name="HitRate"/> and <paramref name="Ndcg"/>.</param>
/// <param name="Lists">The number of candidate lists.</param>
/// <param name="HitRate">HR@K: the share of lists whose positive ranks in the top K.</param>
/// <param name="Ndcg">NDCG@K: the mean of 1/log2(rank + 1) over lists whose positive is in the top K (0 otherwise); with one relevant item the ideal DCG is 1.</param>
/// <param name="Mrr">The mean reciprocal rank 1/rank over all lists (no cut-off).</param>
public sealed record RankingReport(int K, int Lists, double HitRate, double Ndcg, double Mrr);

/// <summary>Pure ranking math: ranks from scores, and HR@K, NDCG@K and MRR from ranks.</summary>
public static class RankingMetrics
{
    /// <summary>The usual cut-off, HR@10 and NDCG@10.</summary>
    public const int DefaultK = 10;

    /// <summary>
    /// The 1-based rank of candidate 0 (the positive) in <paramref name="scores"/>: one more than
    /// the number of candidates scored higher, plus its place among equally scored candidates,
    /// drawn uniformly from <paramref name="tieBreaker"/> (so a constant scorer ranks the
    /// positive uniformly at random, neither first nor last).
    /// </summary>
    /// <param name="scores">The scores of one list, the positive first; higher is better; none NaN.</param>
    /// <param name="tieBreaker">Draws places among ties; consumed only when there are ties.</param>
    internal static int RankOfPositive(ReadOnlySpan<float> scores, SeededRandom tieBreaker)
    {
        if (scores.Length == 0) throw new ArgumentException("A candidate list is empty.", nameof(scores));
        float positive = scores[0];
        if (float.IsNaN(positive)) throw new ArgumentException("The positive's score is NaN.", nameof(scores));
        int greater = 0, ties = 0;
        for (int i = 1; i < scores.Length; i++)
        {
            if (float.IsNaN(scores[i])) throw new ArgumentException($"Candidate {i}'s score is NaN.", nameof(scores));
            if (scores[i] > positive) greater++;
            else if (scores[i] == positive) ties++;
        }
        return 1 + greater + (ties == 0 ? 0 : tieBreaker.NextBelow(ties + 1));
    }

    /// <summary>
    /// The rank of the positive in every list of <paramref name="scores"/>, row-major
    /// [lists, <paramref name="listLength"/>] with each list's positive first.
    /// </summary>
    /// <param name="scores">All scores.</param>
    /// <param name="listLength">Candidates per list (1 + negatives).</param>
    /// <param name="tieSeed">Seeds the tie-breaking, so a report is reproducible.</param>
    public static int[] Ranks(ReadOnlySpan<float> scores, int listLength, int tieSeed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(listLength);
        if (scores.Length % listLength != 0)
            throw new ArgumentException($"{scores.Length} scores are not a whole number of lists of {listLength}.", nameof(scores));
        var tieBreaker = new SeededRandom(tieSeed);
        var ranks = new int[scores.Length / listLength];
        for (int i = 0; i < ranks.Length; i++) ranks[i] = RankOfPositive(scores.Slice(i * listLength, listLength), tieBreaker);
        return ranks;
    }

    /// <summary>HR@K, NDCG@K and MRR of the positives' ranks.</summary>
    /// <param name="ranks">The 1-based rank of each list's positive.</param>
    /// <param name="k">The cut-off; positive.</param>
    public static RankingReport Report(IReadOnlyList<int> ranks, int k = DefaultK)
    {
        ArgumentNullException.ThrowIfNull(ranks);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        if (ranks.Count == 0) throw new ArgumentException("There are no ranks to summarize.", nameof(ranks));
        double hits = 0, dcg = 0, reciprocal = 0;
        foreach (int rank in ranks)
        {
            if (rank < 1) throw new ArgumentException($"Rank {rank} is not 1-based.", nameof(ranks));
            reciprocal += 1.0 / rank;
            if (rank > k) continue;
            hits++;
            dcg += 1.0 / Math.Log2(rank + 1);
        }
        return new RankingReport(k, ranks.Count, hits / ranks.Count, dcg / ranks.Count, reciprocal / ranks.Count);
    }

    /// <summary>The report of a scorer's scores over all candidate lists: <see cref="Ranks"/> then <see cref="Report"/>.</summary>
    /// <param name="scores">Row-major [lists, listLength], positive first in each list.</param>
    /// <param name="listLength">Candidates per list.</param>
    /// <param name="k">The cut-off.</param>
    /// <param name="tieSeed">Seeds the tie-breaking.</param>
    public static RankingReport FromScores(ReadOnlySpan<float> scores, int listLength, int k = DefaultK, int tieSeed = 0) =>
        Report(Ranks(scores, listLength, tieSeed), k);
}
