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
/// </list>
/// A bare existing directory is read as <c>idx:</c>, a bare <c>.csv</c> or <c>.npy</c> file by its extension.
/// </summary>
/// <remarks>New loaders (text, interactions) become available by adding one entry to the kind table.</remarks>
public sealed class DatasetSpec
{
    private sealed record KindEntry(string Kind, string Usage, bool NeedsArgument, Func<string?, IDatasetSource> Open);

    private static readonly KindEntry[] Kinds =
    [
        new("fashion-mnist", "fashion-mnist[:DIR]", false, argument => new FashionMnistSource(argument, forceBundled: false)),
        new("fashion-mnist-mini", "fashion-mnist-mini[:DIR]", false, argument => new FashionMnistSource(argument, forceBundled: true)),
        new("idx", "idx:DIR", true, argument => new IdxDirectorySource(argument!)),
        new("csv", "csv:FILE", true, argument => new CsvSource(argument!)),
        new("npy", "npy:FEATURES[,LABELS]", true, argument => new NpySource(argument!)),
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
    public IDatasetSource Open() => _entry.Open(Argument);

    /// <inheritdoc />
    public override string ToString() => Argument is null ? Kind : $"{Kind}:{Argument}";

    private static KindEntry? Find(string kind) =>
        Kinds.FirstOrDefault(k => string.Equals(k.Kind, kind, StringComparison.OrdinalIgnoreCase));
}
