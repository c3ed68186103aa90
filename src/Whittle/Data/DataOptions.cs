namespace Whittle.Data;

/// <summary>
/// How a dataset is read for a model: preprocessing of tensors, the classes and vocabulary of text,
/// the fixed test split of text and interactions, and the sampled-candidate protocol of ranking.
/// One definition for every job, so every verb reads data the same way. Immutable; validated here.
/// </summary>
public sealed class DataOptions
{
    /// <summary>The options with every default.</summary>
    public static DataOptions Default { get; } = new();

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="scale">Divide raw features by this first; null for the kind's default (255 for IDX image bytes, 1 otherwise).</param>
    /// <param name="mean">Per-channel means subtracted after scaling (with <paramref name="std"/>); null for none.</param>
    /// <param name="std">Per-channel standard deviations divided by after the mean; as many as <paramref name="mean"/>.</param>
    /// <param name="categories">Fortunes: the categories (the classes, in order); null for all (or the model's, from its vocabulary).</param>
    /// <param name="tokenizer">How a new vocabulary tokenizes (training a text model that has none).</param>
    /// <param name="testFraction">Text: the stratified share held out as the test split.</param>
    /// <param name="splitSeed">Text and interactions: seed of the fixed test split and of the ranking candidates.</param>
    /// <param name="negatives">Ranking: sampled negatives per test positive.</param>
    /// <param name="trainNegatives">Ranking: sampled negatives per training positive.</param>
    /// <param name="csvHeader">CSV: whether the first row is a header; detected by default (a header only when no feature cell of it is a number).</param>
    /// <param name="subwordLength">Text for a model with its own WordPiece vocabulary (a BERT sentence-embedding model): token ids per text, [CLS] and [SEP] included, padded or truncated.</param>
    /// <exception cref="InvalidOptionException">A value is out of range.</exception>
    public DataOptions(float? scale = null, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null, IReadOnlyList<string>? categories = null,
        TokenizerOptions? tokenizer = null, double testFraction = TextCorpus.DefaultTestFraction, int splitSeed = TextCorpus.DefaultSplitSeed,
        int negatives = RankingCandidates.DefaultNegatives, int trainNegatives = ImplicitFeedback.DefaultNegatives, CsvHeader csvHeader = CsvHeader.Detect,
        int subwordLength = Runtime.GeneratedInputs.DefaultSequenceLength)
    {
        OptionChecks.AtLeast(subwordLength, 3, nameof(SubwordLength));
        OptionChecks.Defined(csvHeader, nameof(CsvHeader));
        if (scale is { } s && !(float.IsFinite(s) && s != 0)) throw new InvalidOptionException(nameof(Scale), $"the scale must be a finite non-zero number, not {s}");
        if ((mean is null) != (std is null)) throw new InvalidOptionException(nameof(Mean), "normalization needs both means and standard deviations");
        if (mean is not null && std is not null)
        {
            if (mean.Count == 0 || mean.Count != std.Count) throw new InvalidOptionException(nameof(Mean), $"normalization takes as many means as standard deviations ({mean.Count} and {std.Count})");
            if (mean.Any(v => !float.IsFinite(v))) throw new InvalidOptionException(nameof(Mean), "every mean must be a finite number");
            if (std.Any(v => !(float.IsFinite(v) && v > 0))) throw new InvalidOptionException(nameof(Std), "every standard deviation must be a positive number");
        }
        if (categories is { Count: 0 }) throw new InvalidOptionException(nameof(Categories), "the list of categories is empty");
        if (!(testFraction > 0 && testFraction < 1)) throw new InvalidOptionException(nameof(TestFraction), $"the test fraction must be between 0 and 1, not {testFraction}");
        if (negatives < 1) throw new InvalidOptionException(nameof(Negatives), $"negatives per test positive must be at least 1, not {negatives}");
        if (trainNegatives < 1) throw new InvalidOptionException(nameof(TrainNegatives), $"negatives per training positive must be at least 1, not {trainNegatives}");
        Scale = scale;
        Mean = mean?.ToArray();
        Std = std?.ToArray();
        Categories = categories?.ToArray();
        Tokenizer = tokenizer ?? new TokenizerOptions();
        TestFraction = testFraction;
        SplitSeed = splitSeed;
        Negatives = negatives;
        TrainNegatives = trainNegatives;
        CsvHeader = csvHeader;
        SubwordLength = subwordLength;
    }

    /// <summary>WordPiece text: token ids per text ([CLS] and [SEP] included).</summary>
    public int SubwordLength { get; }

    /// <summary>CSV: whether the first row is a header.</summary>
    public CsvHeader CsvHeader { get; }

    /// <summary>Divide raw features by this first; null for the kind's default.</summary>
    public float? Scale { get; }

    /// <summary>Per-channel means, or null.</summary>
    public IReadOnlyList<float>? Mean { get; }

    /// <summary>Per-channel standard deviations, or null.</summary>
    public IReadOnlyList<float>? Std { get; }

    /// <summary>Fortunes categories, or null for all (or the model's).</summary>
    public IReadOnlyList<string>? Categories { get; }

    /// <summary>How a new vocabulary tokenizes.</summary>
    public TokenizerOptions Tokenizer { get; }

    /// <summary>Text: the share held out as the test split.</summary>
    public double TestFraction { get; }

    /// <summary>Seed of the fixed test split and the ranking candidates.</summary>
    public int SplitSeed { get; }

    /// <summary>Ranking: sampled negatives per test positive.</summary>
    public int Negatives { get; }

    /// <summary>Ranking: sampled negatives per training positive.</summary>
    public int TrainNegatives { get; }

    /// <summary>The preprocessing of tensors from <paramref name="spec"/>: IDX image bytes are scaled by 1/255 unless <see cref="Scale"/> says otherwise; CSV and NPY are used as they are.</summary>
    public Preprocessing PreprocessingFor(DatasetSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        bool imageBytes = spec.Kind is "fashion-mnist" or "fashion-mnist-mini" or "idx";
        var preprocessing = new Preprocessing(divisor: Scale ?? (imageBytes ? 255f : 1f));
        return Mean is null ? preprocessing : preprocessing.Normalize([.. Mean], [.. Std!]);
    }
}
