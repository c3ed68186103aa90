namespace Whittle.Data;

/// <summary>
/// Recommender data: user-item interactions with ids 0 .. <see cref="UserCount"/> − 1 and
/// 0 .. <see cref="ItemCount"/> − 1, read by <see cref="InteractionReader"/> or made by
/// <see cref="SyntheticRecsys"/>. Immutable.
/// </summary>
public sealed class InteractionData
{
    private readonly Interaction[] _interactions;

    /// <summary>Wraps the interactions (copied).</summary>
    /// <param name="interactions">The events, in file (or generation) order.</param>
    /// <param name="userCount">The number of user ids; more than every user id.</param>
    /// <param name="itemCount">The number of item ids; more than every item id.</param>
    /// <param name="location">The file the data came from, or a description of the generator.</param>
    /// <param name="description">A short name, e.g. "interactions ratings.csv" or "synthetic recsys (seed 0)".</param>
    /// <param name="isSynthetic">True for generated data, so every number shown on it can say so.</param>
    public InteractionData(IReadOnlyList<Interaction> interactions, int userCount, int itemCount, string location, string description, bool isSynthetic = false)
    {
        ArgumentNullException.ThrowIfNull(interactions);
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(description);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(userCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(itemCount);
        foreach (var x in interactions)
        {
            if ((uint)x.User >= (uint)userCount) throw new ArgumentException($"User id {x.User} is outside 0..{userCount - 1}.", nameof(interactions));
            if ((uint)x.Item >= (uint)itemCount) throw new ArgumentException($"Item id {x.Item} is outside 0..{itemCount - 1}.", nameof(interactions));
        }
        _interactions = interactions.ToArray();
        UserCount = userCount;
        ItemCount = itemCount;
        Location = location;
        Description = description;
        IsSynthetic = isSynthetic;
    }

    /// <summary>The events.</summary>
    public IReadOnlyList<Interaction> Interactions => _interactions;

    /// <summary>The number of events.</summary>
    public int Count => _interactions.Length;

    /// <summary>The number of user ids (rows of a model's user table).</summary>
    public int UserCount { get; }

    /// <summary>The number of item ids (rows of a model's item table).</summary>
    public int ItemCount { get; }

    /// <summary>True when every event has a timestamp.</summary>
    public bool HasTimestamps => _interactions.Length > 0 && _interactions.All(x => x.Timestamp is not null);

    /// <summary>The file, or the generator and its settings.</summary>
    public string Location { get; }

    /// <summary>A short name of the data; synthetic data says so.</summary>
    public string Description { get; }

    /// <summary>True for generated data.</summary>
    public bool IsSynthetic { get; }

    /// <summary>The same kind of data with other events (a split part); ids ranges and labels carry over.</summary>
    /// <param name="interactions">The events of the part.</param>
    public InteractionData WithInteractions(IReadOnlyList<Interaction> interactions) =>
        new(interactions, UserCount, ItemCount, Location, Description, IsSynthetic);

    /// <summary>The distinct items of every user, indexed by user.</summary>
    public HashSet<int>[] ItemsPerUser()
    {
        var sets = new HashSet<int>[UserCount];
        for (int u = 0; u < UserCount; u++) sets[u] = [];
        foreach (var x in _interactions) sets[x.User].Add(x.Item);
        return sets;
    }

    /// <summary>How many events each item has, indexed by item: the popularity baseline's score.</summary>
    public int[] CountPerItem()
    {
        var counts = new int[ItemCount];
        foreach (var x in _interactions) counts[x.Item]++;
        return counts;
    }

    /// <summary>
    /// Checks that a model's user and item tables have a row for every id of this data; a model
    /// built for other data would index past its tables.
    /// </summary>
    /// <param name="userRows">Rows of the model's user table(s).</param>
    /// <param name="itemRows">Rows of the model's item table(s).</param>
    /// <param name="modelPath">The model, for the message.</param>
    /// <exception cref="DataFormatException">An id is out of range.</exception>
    public void CheckFits(long userRows, long itemRows, string modelPath)
    {
        int maxUser = _interactions.Length == 0 ? -1 : _interactions.Max(x => x.User);
        int maxItem = _interactions.Length == 0 ? -1 : _interactions.Max(x => x.Item);
        if (maxUser >= userRows || UserCount > userRows)
            throw new DataFormatException(Location, $"user id {Math.Max(maxUser, UserCount - 1)} is out of range: {modelPath} has {userRows} user rows (ids 0..{userRows - 1})");
        if (maxItem >= itemRows || ItemCount > itemRows)
            throw new DataFormatException(Location, $"item id {Math.Max(maxItem, ItemCount - 1)} is out of range: {modelPath} has {itemRows} item rows (ids 0..{itemRows - 1})");
    }

    /// <inheritdoc />
    public override string ToString() => $"{Description}: {Count} interactions, {UserCount} users, {ItemCount} items ({Location})";
}
