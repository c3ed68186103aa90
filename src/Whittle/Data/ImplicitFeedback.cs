namespace Whittle.Data;

/// <summary>
/// Implicit-feedback training data: every distinct (user, item) pair of the interactions is a
/// positive (label 1), and each positive brings <c>negatives</c> items the user never
/// interacted with, drawn uniformly by a seed (label 0). The result is a dataset of
/// [user, item] rows for a binary cross-entropy loss on a recommender's score.
/// </summary>
public static class ImplicitFeedback
{
    /// <summary>The default number of sampled negatives per positive (NCF's 4).</summary>
    public const int DefaultNegatives = 4;

    /// <summary>The class names of the pair labels: 0 negative, 1 positive.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = ["negative", "positive"];

    /// <summary>Builds the labelled pairs, features [N, 2] (user id, item id as float32, exact below 2^24).</summary>
    /// <param name="train">The training interactions.</param>
    /// <param name="negatives">Sampled negatives per positive; at least 1.</param>
    /// <param name="seed">The same seed gives the same negatives.</param>
    /// <exception cref="DataFormatException">A user has interacted with every item, so no negative exists.</exception>
    public static TensorDataset TrainingPairs(InteractionData train, int negatives = DefaultNegatives, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(negatives);
        var items = train.ItemsPerUser();
        var random = new SeededRandom(seed);
        var features = new List<float>();
        var labels = new List<int>();
        for (int user = 0; user < items.Length; user++)
        {
            if (items[user].Count == 0) continue;
            if (items[user].Count >= train.ItemCount)
                throw new DataFormatException(train.Location, $"user {user} has interacted with all {train.ItemCount} items, so no negative can be sampled");
            foreach (int item in items[user].Order())
            {
                features.Add(user);
                features.Add(item);
                labels.Add(1);
                for (int k = 0; k < negatives; k++)
                {
                    int negative;
                    do negative = random.NextBelow(train.ItemCount); while (items[user].Contains(negative));
                    features.Add(user);
                    features.Add(negative);
                    labels.Add(0);
                }
            }
        }
        return new TensorDataset(features.ToArray(), [2], labels.ToArray(), 2, ClassNames);
    }
}
