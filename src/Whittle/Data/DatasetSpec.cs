namespace Whittle.Data;

/// <summary>
/// A dataset named by a short string, as a user types it on a command line:
/// <c>kind</c> or <c>kind:argument</c>. Known kinds:
/// <list type="bullet">
/// <item><c>fashion-mnist</c>: the full set if installed, else the bundled subset; <c>fashion-mnist:DIR</c> reads the IDX files in DIR with Fashion-MNIST's class names.</item>
/// <item><c>fashion-mnist-mini</c>: the bundled subset, found from the running program; <c>fashion-mnist-mini:DIR</c> names its folder.</item>
/// <item><c>idx:DIR</c>: train/t10k image and label IDX files in DIR.</item>
/// <item><c>csv:FILE</c>: numeric columns with the label last, header detected (for other layouts call <see cref="CsvFile.Load"/>).</item>
/// <item><c>npy:FEATURES[,LABELS]</c>: features from one <c>.npy</c> file, labels from another.</item>
/// <item><c>fortunes[:DIR]</c>: text, one class per fortune file (<see cref="FortuneReader"/>), from the Debian package's directory by default.</item>
/// <item><c>text-tsv:FILE</c>: text, <c>label&lt;TAB&gt;text</c> lines (<see cref="TsvTextReader"/>).</item>
/// <item><c>text-folder:DIR</c>: text, one file per class, one example per line (<see cref="TextFolderReader"/>).</item>
/// <item><c>interactions:FILE</c>: recommender events <c>user,item[,rating][,timestamp]</c> (<see cref="InteractionReader"/>).</item>
/// <item><c>synthetic-recsys[:SETTINGS]</c>: seeded synthetic recommender data (<see cref="SyntheticRecsys"/>, settings as in <see cref="SyntheticRecsysOptions.Parse"/>).</item>
/// </list>
/// A bare existing directory is read as <c>idx:</c>, a bare <c>.csv</c> or <c>.npy</c> file by its extension.
/// </summary>
/// <remarks>
/// Each kind belongs to a <see cref="DatasetFamily"/>: tensors open with <see cref="Open()"/>, text
/// with <see cref="OpenText"/> (a <see cref="Vocabulary"/> then encodes it) and recommender data with
/// <see cref="OpenInteractions"/>. A new loader becomes available by adding one entry to the kind table.
/// </remarks>
public sealed class DatasetSpec
{
    private sealed record KindEntry(string Kind, string Usage, bool NeedsArgument, DatasetFamily Family,
        Func<string?, CsvHeader, IDatasetSource>? Open = null, Func<string?, IReadOnlyList<string>?, TextCorpus>? OpenText = null,
        Func<string?, InteractionData>? OpenInteractions = null);

    private static readonly KindEntry[] Kinds =
    [
        new("fashion-mnist", "fashion-mnist[:DIR]", false, DatasetFamily.Tensors, Open: (argument, _) => new FashionMnistSource(argument, forceBundled: false)),
        new("fashion-mnist-mini", "fashion-mnist-mini[:DIR]", false, DatasetFamily.Tensors, Open: (argument, _) => new FashionMnistSource(argument, forceBundled: true)),
        new("idx", "idx:DIR", true, DatasetFamily.Tensors, Open: (argument, _) => new IdxDirectorySource(argument!)),
        new("csv", "csv:FILE", true, DatasetFamily.Tensors, Open: (argument, header) => new CsvSource(argument!, header)),
        new("npy", "npy:FEATURES[,LABELS]", true, DatasetFamily.Tensors, Open: (argument, _) => new NpySource(argument!)),
        new("fortunes", "fortunes[:DIR]", false, DatasetFamily.Text,
            OpenText: (argument, categories) => FortuneReader.Read(argument ?? FortuneReader.DebianDirectory, categories)),
        new("text-tsv", "text-tsv:FILE", true, DatasetFamily.Text, OpenText: (argument, _) => TsvTextReader.Read(argument!)),
        new("text-folder", "text-folder:DIR", true, DatasetFamily.Text, OpenText: (argument, _) => TextFolderReader.Read(argument!)),
        new("interactions", "interactions:FILE", true, DatasetFamily.Interactions, OpenInteractions: argument => InteractionReader.Read(argument!)),
        new("synthetic-recsys", "synthetic-recsys[:users=N,items=N,density=X,factors=N,skew=X,seed=N]", false, DatasetFamily.Interactions,
            OpenInteractions: argument => SyntheticRecsys.Generate(SyntheticRecsysOptions.Parse(argument))),
    ];

    private readonly KindEntry _entry;

    private DatasetSpec(KindEntry entry, string? argument)
    {
        _entry = entry;
        Argument = argument;
    }

    /// <summary>The usage of every known kind, e.g. <c>idx:DIR</c>, for help texts and error messages.</summary>
    public static IReadOnlyList<string> KnownKinds { get; } = Kinds.Select(k => k.Usage).ToArray();

    /// <summary>The kind, e.g. <c>fashion-mnist</c> or <c>csv</c>.</summary>
    public string Kind => _entry.Kind;

    /// <summary>Whether the data is tensors, text or recommender interactions, which decides how it opens and the default task.</summary>
    public DatasetFamily Family => _entry.Family;

    /// <summary>What follows the colon (a path, or paths separated by a comma), or null when there is none.</summary>
    public string? Argument { get; }

    /// <summary>
    /// Parses <paramref name="text"/>. A prefix before the first colon is a kind only when it
    /// has two or more characters, so Windows paths such as <c>C:\data</c> still read as paths.
    /// </summary>
    /// <param name="text">The spec, e.g. <c>fashion-mnist</c>, <c>idx:/data/mnist</c>, <c>npy:x.npy,y.npy</c>.</param>
    /// <exception cref="DataFormatException">The kind is unknown (the message lists the known ones), or its path is missing.</exception>
    public static DatasetSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (text.Length == 0) throw new DataFormatException($"The dataset spec is empty; known kinds: {string.Join(", ", KnownKinds)}.");

        int colon = text.IndexOf(':');
        if (colon >= 2)
        {
            string kind = text[..colon];
            KindEntry entry = Find(kind) ?? throw new DataFormatException(
                $"Unknown dataset kind '{kind}' in '{text}'; known kinds: {string.Join(", ", KnownKinds)}.");
            string argument = text[(colon + 1)..].Trim();
            if (argument.Length == 0) throw new DataFormatException($"The dataset spec '{text}' names no path; use {entry.Usage}.");
            return new DatasetSpec(entry, argument);
        }

        if (Find(text) is KindEntry named)
        {
            if (named.NeedsArgument) throw new DataFormatException($"The dataset kind '{text}' needs a path; use {named.Usage}.");
            return new DatasetSpec(named, null);
        }
        if (Directory.Exists(text)) return new DatasetSpec(Find("idx")!, text);
        if (File.Exists(text))
        {
            string extension = Path.GetExtension(text).ToLowerInvariant();
            if (extension == ".csv") return new DatasetSpec(Find("csv")!, text);
            if (extension == ".npy") return new DatasetSpec(Find("npy")!, text);
            throw new DataFormatException(text, $"cannot tell the data format from the extension '{extension}'; prefix the path with a kind: {string.Join(", ", KnownKinds)}");
        }
        throw new DataFormatException(
            $"'{text}' is neither a known dataset nor an existing file or directory; known kinds: {string.Join(", ", KnownKinds)}.");
    }

    /// <summary>Parses <paramref name="text"/> and opens it: <c>DatasetSpec.Parse(text).Open()</c>.</summary>
    /// <param name="text">The spec, e.g. <c>fashion-mnist</c>.</param>
    /// <exception cref="DataFormatException">The spec is not valid.</exception>
    public static IDatasetSource OpenSource(string text) => Parse(text).Open();

    /// <summary>The source this spec names; nothing is read until <see cref="IDatasetSource.Load"/>.</summary>
    /// <exception cref="DataFormatException">The spec names text or interaction data, which open with <see cref="OpenText"/> or <see cref="OpenInteractions"/>.</exception>
    public IDatasetSource Open() => Open(CsvHeader.Detect);

    /// <summary>Opens the tensor dataset this spec names; a CSV file's first row is read as <paramref name="csvHeader"/> says.</summary>
    /// <exception cref="DataFormatException">The spec names text or interaction data.</exception>
    public IDatasetSource Open(CsvHeader csvHeader) => _entry.Open is { } open ? open(Argument, csvHeader)
        : throw new DataFormatException($"'{this}' is {FamilyText} data, not a tensor dataset; it needs a {(Family == DatasetFamily.Text ? "vocabulary (a text model)" : "recommender model")}");

    /// <summary>Reads the text corpus this spec names.</summary>
    /// <param name="categories">For <c>fortunes</c>: the categories (class order); null for every category. Other kinds take none.</param>
    /// <exception cref="DataFormatException">The spec names other data, or the text is missing or malformed.</exception>
    public TextCorpus OpenText(IReadOnlyList<string>? categories = null)
    {
        if (_entry.OpenText is not { } open) throw new DataFormatException($"'{this}' is {FamilyText} data, not text");
        if (categories is not null && Kind != "fortunes") throw new DataFormatException($"'{this}': categories choose fortune files; {Kind} data takes its classes from the data");
        return open(Argument, categories);
    }

    /// <summary>Reads (or generates) the recommender interactions this spec names.</summary>
    /// <exception cref="DataFormatException">The spec names other data, or the file is missing or malformed.</exception>
    public InteractionData OpenInteractions() => _entry.OpenInteractions is { } open ? open(Argument)
        : throw new DataFormatException($"'{this}' is {FamilyText} data, not recommender interactions");

    private string FamilyText => Family switch
    {
        DatasetFamily.Text => "text",
        DatasetFamily.Interactions => "recommender interaction",
        _ => "tensor",
    };

    /// <inheritdoc />
    public override string ToString() => Argument is null ? Kind : $"{Kind}:{Argument}";

    private static KindEntry? Find(string kind) =>
        Kinds.FirstOrDefault(k => string.Equals(k.Kind, kind, StringComparison.OrdinalIgnoreCase));
}
