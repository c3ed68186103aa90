using Whittle.Data;

namespace Whittle.Evaluation;

/// <summary>
/// Scores of the two reference rankers on the same candidate lists as a model, row-major
/// [lists, negatives + 1]: popularity (how often the item occurs in the training interactions)
/// and random (seeded uniform scores). A recommender is worth something only when it beats both.
/// </summary>
public static class RankingBaselines
{
    /// <summary>Every candidate scored by its training popularity.</summary>
    /// <param name="candidates">The lists.</param>
    /// <param name="train">The training interactions (never the test ones: that would leak the answer).</param>
    public static float[] Popularity(RankingCandidates candidates, InteractionData train)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(train);
        var counts = train.CountPerItem();
        return Scores(candidates, (_, item) => item < counts.Length ? counts[item] : 0);
    }

    /// <summary>Every candidate scored uniformly at random from <paramref name="seed"/>.</summary>
    /// <param name="candidates">The lists.</param>
    /// <param name="seed">The same seed gives the same scores.</param>
    public static float[] Random(RankingCandidates candidates, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var random = new SeededRandom(seed);
        return Scores(candidates, (_, _) => (float)((random.NextUInt64() >> 40) * (1.0 / (1UL << 24))));
    }

    private static float[] Scores(RankingCandidates candidates, Func<int, int, float> score)
    {
        int length = candidates.Negatives + 1;
        var scores = new float[(long)candidates.Count * length];
        for (int i = 0; i < candidates.Count; i++)
        {
            var items = candidates.ItemsOf(i);
            for (int j = 0; j < length; j++) scores[(long)i * length + j] = score(candidates.Users[i], items[j]);
        }
        return scores;
    }
}
