namespace Whittle.Data;

/// <summary>One user-item event of recommender data: the user and item ids (0-based), and the rating and time when the data has them.</summary>
/// <param name="User">The user id, 0-based.</param>
/// <param name="Item">The item id, 0-based.</param>
/// <param name="Rating">The explicit rating, or null (implicit feedback: the interaction itself is the signal).</param>
/// <param name="Timestamp">When it happened (any increasing integer clock), or null.</param>
public readonly record struct Interaction(int User, int Item, float? Rating = null, long? Timestamp = null);
