namespace Whittle.Data;

/// <summary>
/// The sampled-candidates protocol of recommender evaluation (He et al., NCF, 2017): every test
/// interaction is ranked among itself and N items its user never interacted with, drawn by a
/// seed. Candidate 0 of each list is the positive. Every scorer (model, popularity, random) sees
/// the same lists, so their numbers compare.
/// </summary>
public sealed class RankingCandidates
{
    /// <summary>The default number of negatives per list (NCF's 99, so 100 candidates).</summary>
    public const int DefaultNegatives = 99;

    private readonly int[] _users;
    private readonly int[][] _items;

    private RankingCandidates(int[] users, int[][] items, int negatives)
    {
        _users = users;
        _items = items;
        Negatives = negatives;
    }

    /// <summary>The number of lists (test interactions).</summary>
    public int Count => _users.Length;

    /// <summary>Negatives per list; every list has <see cref="Negatives"/> + 1 items.</summary>
    public int Negatives { get; }

    /// <summary>The user of each list.</summary>
    public IReadOnlyList<int> Users => _users;

    /// <summary>The items of list <paramref name="index"/>: the positive first, then the negatives.</summary>
    /// <param name="index">0-based list index.</param>
    public IReadOnlyList<int> ItemsOf(int index) => _items[index];

    /// <summary>
    /// One list per distinct (user, item) of <paramref name="test"/>: the item and
    /// <paramref name="negatives"/> distinct items that user has in neither part.
    /// </summary>
    /// <param name="test">The held-out interactions.</param>
    /// <param name="all">Every interaction (training and test), so no negative is a real positive.</param>
    /// <param name="negatives">Negatives per list; at least 1.</param>
    /// <param name="seed">The same seed gives the same lists.</param>
    /// <exception cref="DataFormatException">A user has fewer than <paramref name="negatives"/> items left to sample.</exception>
    public static RankingCandidates Sample(InteractionData test, InteractionData all, int negatives = DefaultNegatives, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(all);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(negatives);
        var seen = all.ItemsPerUser();
        var random = new SeededRandom(seed);
        var users = new List<int>();
        var lists = new List<int[]>();
        var done = new HashSet<(int, int)>();
        foreach (var x in test.Interactions)
        {
            if (!done.Add((x.User, x.Item))) continue;
            int available = all.ItemCount - seen[x.User].Count;
            if (available < negatives)
                throw new DataFormatException(test.Location, $"user {x.User} has only {available} items it never interacted with; cannot sample {negatives} negatives (lower the number of negatives)");
            var list = new int[negatives + 1];
            list[0] = x.Item;
            var chosen = new HashSet<int>();
            for (int k = 1; k <= negatives; k++)
            {
                int item;
                do item = random.NextBelow(all.ItemCount); while (seen[x.User].Contains(item) || !chosen.Add(item));
                list[k] = item;
            }
            users.Add(x.User);
            lists.Add(list);
        }
        return new RankingCandidates(users.ToArray(), lists.ToArray(), negatives);
    }
}
