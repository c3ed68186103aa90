namespace Whittle.Zoo;

/// <summary>
/// The settings every architecture in <see cref="ModelZoo"/> understands, as a command line
/// gives them (<c>--classes --input-shape --width --depth --seed</c>). A null setting keeps the
/// architecture's default. Immutable; validated when made.
/// </summary>
public sealed class ZooModelSettings
{
    /// <summary>Creates settings; every given value is checked here.</summary>
    /// <param name="classes">Output classes (at least 2).</param>
    /// <param name="inputShape">One sample's shape without the batch axis, e.g. [3,32,32].</param>
    /// <param name="width">A positive channel multiplier; see <see cref="ZooArchitecture.WidthMeaning"/>.</param>
    /// <param name="depth">A depth; see <see cref="ZooArchitecture.DepthMeaning"/>.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <param name="vocabularySize">Text models: rows of the token embedding (the vocabulary's size).</param>
    /// <param name="users">Recommenders: rows of the user tables.</param>
    /// <param name="items">Recommenders: rows of the item tables.</param>
    public ZooModelSettings(int? classes = null, IReadOnlyList<int>? inputShape = null, double? width = null, int? depth = null, long? seed = null,
        int? vocabularySize = null, int? users = null, int? items = null)
    {
        // A vocabulary has <pad>, <unk> and at least one word.
        if (vocabularySize is { } v) OptionChecks.AtLeast(v, 3, nameof(VocabularySize));
        if (users is { } u) OptionChecks.Positive(u, nameof(Users));
        if (items is { } i) OptionChecks.Positive(i, nameof(Items));
        VocabularySize = vocabularySize;
        Users = users;
        Items = items;
        if (classes is { } c) ZooOptionChecks.Classes(c, nameof(Classes));
        if (inputShape is not null) ZooOptionChecks.PositiveList(inputShape, [], nameof(InputShape), allowEmpty: false);
        if (width is { } w) OptionChecks.Positive(w, nameof(Width));
        if (depth is { } d) OptionChecks.Positive(d, nameof(Depth));
        Classes = classes;
        InputShape = inputShape?.ToArray();
        Width = width;
        Depth = depth;
        Seed = seed;
    }

    /// <summary>Output classes, or null for the default.</summary>
    public int? Classes { get; }

    /// <summary>One sample's shape, or null for the default.</summary>
    public IReadOnlyList<int>? InputShape { get; }

    /// <summary>Channel multiplier, or null for 1.</summary>
    public double? Width { get; }

    /// <summary>Depth, or null for the default.</summary>
    public int? Depth { get; }

    /// <summary>Rows of a text model's token embedding, or null for the default.</summary>
    public int? VocabularySize { get; }

    /// <summary>Rows of a recommender's user tables, or null for the default.</summary>
    public int? Users { get; }

    /// <summary>Rows of a recommender's item tables, or null for the default.</summary>
    public int? Items { get; }

    /// <summary>Seed, or null for <see cref="ZooDefaults.Seed"/>.</summary>
    public long? Seed { get; }
}
