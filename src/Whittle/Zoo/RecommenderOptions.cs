namespace Whittle.Zoo;

/// <summary>The sizes every recommender of the Zoo shares: user and item table rows, and the seed. Immutable; validated when made.</summary>
public sealed class RecommenderOptions
{
    /// <summary>The input with user ids.</summary>
    public const string UserInputName = "user";

    /// <summary>The input with item ids.</summary>
    public const string ItemInputName = "item";

    /// <summary>Validates and stores the sizes.</summary>
    /// <param name="users">Rows of the user tables (one more than the largest user id).</param>
    /// <param name="items">Rows of the item tables.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    public RecommenderOptions(int users = ZooDefaults.Users, int items = ZooDefaults.Items, long seed = ZooDefaults.Seed)
    {
        OptionChecks.Positive(users, nameof(Users));
        OptionChecks.Positive(items, nameof(Items));
        Users = users;
        Items = items;
        Seed = seed;
    }

    /// <summary>Rows of the user tables.</summary>
    public int Users { get; }

    /// <summary>Rows of the item tables.</summary>
    public int Items { get; }

    /// <summary>Seed of the initial weights.</summary>
    public long Seed { get; }

    /// <summary>The standard deviation of initial embedding rows (NCF's N(0, 0.01)).</summary>
    internal const float EmbeddingStd = 0.01f;

    internal (GraphValue User, GraphValue Item) Inputs(OnnxGraphBuilder builder) =>
        (builder.Input(UserInputName, [GraphValue.DynamicDimension], Whittle.Onnx.OnnxDataType.Int64),
         builder.Input(ItemInputName, [GraphValue.DynamicDimension], Whittle.Onnx.OnnxDataType.Int64));
}
