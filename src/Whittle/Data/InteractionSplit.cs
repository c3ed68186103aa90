namespace Whittle.Data;

/// <summary>How <see cref="InteractionSplit"/> holds out test interactions.</summary>
public enum InteractionSplitKind
{
    /// <summary>One interaction per user: the latest when the data has timestamps (the last in the file among equal times), else one chosen by the seed. Users with a single item keep it for training.</summary>
    LeaveOneOut,

    /// <summary>A seeded random share of all interactions.</summary>
    Random,
}

/// <summary>Splits recommender data into training and test interactions.</summary>
public static class InteractionSplit
{
    /// <summary>The share of interactions <see cref="InteractionSplitKind.Random"/> holds out by default.</summary>
    public const double DefaultTestFraction = 0.2;

    /// <summary>The default split seed, apart from training seeds so every run is judged on the same test interactions.</summary>
    public const int DefaultSeed = 0;

    /// <summary>Splits <paramref name="data"/>.</summary>
    /// <param name="data">The interactions.</param>
    /// <param name="kind">Leave-one-out or random.</param>
    /// <param name="seed">Chooses the held-out interactions where the data does not decide.</param>
    /// <param name="testFraction">For <see cref="InteractionSplitKind.Random"/>: the share held out, strictly between 0 and 1.</param>
    public static (InteractionData Train, InteractionData Test) Split(InteractionData data, InteractionSplitKind kind = InteractionSplitKind.LeaveOneOut,
        int seed = DefaultSeed, double testFraction = DefaultTestFraction)
    {
        ArgumentNullException.ThrowIfNull(data);
        var all = data.Interactions;
        var random = new SeededRandom(seed);
        var inTest = new bool[all.Count];
        switch (kind)
        {
            case InteractionSplitKind.LeaveOneOut:
            {
                bool timed = data.HasTimestamps;
                var byUser = new List<int>[data.UserCount];
                for (int i = 0; i < all.Count; i++) (byUser[all[i].User] ??= []).Add(i);
                foreach (var events in byUser)
                {
                    if (events is null || events.Select(i => all[i].Item).Distinct().Count() < 2) continue;
                    int chosen;
                    if (timed)
                    {
                        chosen = events[0];
                        foreach (int i in events) if (all[i].Timestamp >= all[chosen].Timestamp) chosen = i;
                    }
                    else
                    {
                        chosen = events[random.NextBelow(events.Count)];
                    }
                    // Every event of the held-out item goes to the test side, so the item is really unseen for that user.
                    int item = all[chosen].Item;
                    foreach (int i in events) if (all[i].Item == item) inTest[i] = true;
                }
                break;
            }
            case InteractionSplitKind.Random:
            {
                if (!(testFraction > 0 && testFraction < 1))
                    throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "The test fraction must be strictly between 0 and 1.");
                int count = (int)Math.Round(testFraction * all.Count, MidpointRounding.AwayFromZero);
                foreach (int i in random.Permutation(all.Count).AsSpan(0, count)) inTest[i] = true;
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown split kind.");
        }
        var train = all.Where((_, i) => !inTest[i]).ToArray();
        var test = all.Where((_, i) => inTest[i]).ToArray();
        if (test.Length == 0) throw new DataFormatException(data.Location, "the split holds out no interaction (every user has a single item?)");
        return (data.WithInteractions(train), data.WithInteractions(test));
    }
}
