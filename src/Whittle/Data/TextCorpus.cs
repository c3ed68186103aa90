namespace Whittle.Data;

/// <summary>
/// Labelled texts for classification, as read from a TSV file, a folder with one file per class
/// or a fortune directory: one string and one class index per example. Immutable; the split
/// methods return new corpora.
/// </summary>
public sealed class TextCorpus
{
    /// <summary>The share of examples <see cref="SplitTest"/> holds out by default (the fortunes reference task's 20%).</summary>
    public const double DefaultTestFraction = 0.2;

    /// <summary>The seed of the default train/test split, kept apart from training seeds so every seed is judged on the same test texts.</summary>
    public const int DefaultSplitSeed = 0;

    private readonly string[] _texts;
    private readonly int[] _labels;
    private readonly string[] _classNames;

    /// <summary>Wraps the examples; the arrays are copied.</summary>
    /// <param name="texts">One text per example.</param>
    /// <param name="labels">One class index per example, each in [0, class count).</param>
    /// <param name="classNames">The class names in index order; unique.</param>
    /// <param name="location">The file or directory the texts were read from.</param>
    /// <param name="description">A short name of the source, e.g. "fortunes (10 categories)".</param>
    public TextCorpus(IReadOnlyList<string> texts, IReadOnlyList<int> labels, IReadOnlyList<string> classNames, string location, string description)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(description);
        if (texts.Count != labels.Count) throw new ArgumentException($"There are {labels.Count} labels for {texts.Count} texts.", nameof(labels));
        if (classNames.Distinct(StringComparer.Ordinal).Count() != classNames.Count) throw new ArgumentException("A class name appears twice.", nameof(classNames));
        for (int i = 0; i < labels.Count; i++)
            if ((uint)labels[i] >= (uint)classNames.Count)
                throw new ArgumentException($"Label {labels[i]} of example {i} is outside the {classNames.Count} classes.", nameof(labels));
        if (texts.Any(t => t is null)) throw new ArgumentException("A text is null.", nameof(texts));
        _texts = texts.ToArray();
        _labels = labels.ToArray();
        _classNames = classNames.ToArray();
        Location = location;
        Description = description;
    }

    /// <summary>The number of examples.</summary>
    public int Count => _texts.Length;

    /// <summary>The texts, in example order.</summary>
    public IReadOnlyList<string> Texts => _texts;

    /// <summary>The class index of every example.</summary>
    public IReadOnlyList<int> Labels => _labels;

    /// <summary>The class names in index order.</summary>
    public IReadOnlyList<string> ClassNames => _classNames;

    /// <summary>The file or directory the texts came from.</summary>
    public string Location { get; }

    /// <summary>A short name of the source.</summary>
    public string Description { get; }

    /// <summary>How many examples each class has, indexed by class.</summary>
    public int[] CountPerClass()
    {
        var counts = new int[_classNames.Length];
        foreach (int label in _labels) counts[label]++;
        return counts;
    }

    /// <summary>The examples at <paramref name="indices"/>, in that order.</summary>
    /// <param name="indices">0-based example indices.</param>
    public TextCorpus Subset(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return new TextCorpus(indices.Select(i => _texts[i]).ToArray(), indices.Select(i => _labels[i]).ToArray(), _classNames, Location, Description);
    }

    /// <summary>
    /// A stratified split into training and test examples: each class gives
    /// round(<paramref name="testFraction"/> × its size) examples (largest-remainder rounding)
    /// chosen by <paramref name="seed"/>, exactly as <see cref="TensorDataset.Split"/> chooses
    /// validation samples. Both parts keep the corpus order.
    /// </summary>
    /// <param name="testFraction">The share held out, strictly between 0 and 1.</param>
    /// <param name="seed">The same seed always gives the same split.</param>
    public (TextCorpus Train, TextCorpus Test) SplitTest(double testFraction = DefaultTestFraction, int seed = DefaultSplitSeed)
    {
        // The indices go through TensorDataset's stratified split, so texts and tensors share one
        // split algorithm (float32 holds every index below 2^24 exactly).
        if (Count >= 1 << 24) throw new InvalidOperationException($"A corpus of {Count} texts is too large to split here.");
        var indices = new float[Count];
        for (int i = 0; i < Count; i++) indices[i] = i;
        var (train, test) = new TensorDataset(indices, [1], _labels, _classNames.Length, _classNames).Split(testFraction, seed, stratified: true);
        return (Subset(IndicesOf(train)), Subset(IndicesOf(test)));
    }

    private static int[] IndicesOf(TensorDataset part)
    {
        var values = part.Features.Span;
        var result = new int[part.Count];
        for (int i = 0; i < result.Length; i++) result[i] = (int)values[i];
        return result;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Description}: {Count} texts in {_classNames.Length} classes ({Location})";
}
