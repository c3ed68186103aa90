using System.Text;

namespace Whittle.Data;

/// <summary>
/// Reads the <c>fortune</c> format (Debian package <c>fortunes</c>, <c>/usr/share/games/fortunes/</c>)
/// as a text-classification corpus: each category is one file whose entries are separated by a
/// line holding only <c>%</c>; the category is the class.
/// </summary>
/// <remarks>
/// Category files have no extension: the <c>strfile</c> index files (<c>.dat</c>), the <c>.u8</c>
/// symbolic links that point back at the same files, a README, every other symbolic link and
/// every subdirectory (the separate <c>off/</c> collection) are not categories, so listing a
/// directory skips them.
/// </remarks>
public static class FortuneReader
{
    /// <summary>Where the Debian package <c>fortunes</c> installs the corpus.</summary>
    public const string DebianDirectory = "/usr/share/games/fortunes";

    /// <summary>The ten categories of the reference task, in class order.</summary>
    public static IReadOnlyList<string> ReferenceCategories { get; } =
        ["computers", "education", "food", "law", "love", "politics", "science", "sports", "startrek", "work"];

    /// <summary>The category files in <paramref name="directory"/>, sorted by name (ordinal).</summary>
    /// <param name="directory">A fortune directory.</param>
    /// <exception cref="DataFormatException">The directory does not exist or holds no category file.</exception>
    public static IReadOnlyList<string> ListCategories(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory)) throw new DataFormatException(directory, "fortune directory not found (Debian package fortunes installs one in " + DebianDirectory + ")");
        var names = new DirectoryInfo(directory).EnumerateFiles()
            .Where(f => f.LinkTarget is null && !f.Name.StartsWith('.') && f.Extension.Length == 0)
            .Select(f => f.Name)
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (names.Length == 0) throw new DataFormatException(directory, "holds no fortune category files");
        return names;
    }

    /// <summary>
    /// Reads <paramref name="categories"/> (every category in the directory when null) from
    /// <paramref name="directory"/>; class i is categories[i].
    /// </summary>
    /// <param name="directory">A fortune directory.</param>
    /// <param name="categories">Category file names, at least two, no repeats; null for all of them.</param>
    /// <exception cref="DataFormatException">A category is missing or holds no entry, or the directory is missing.</exception>
    public static TextCorpus Read(string directory, IReadOnlyList<string>? categories = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var available = ListCategories(directory);
        var chosen = (categories ?? available).ToArray();
        if (chosen.Length < 2) throw new DataFormatException(directory, $"a classifier needs at least two categories; got {chosen.Length}");
        var repeated = chosen.GroupBy(c => c, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new DataFormatException(directory, $"category '{repeated.Key}' is named twice");

        var texts = new List<string>();
        var labels = new List<int>();
        for (int c = 0; c < chosen.Length; c++)
        {
            if (!available.Contains(chosen[c], StringComparer.Ordinal))
                throw new DataFormatException(directory, $"no fortune category '{chosen[c]}'; available: {string.Join(", ", available)}");
            string path = Path.Combine(directory, chosen[c]);
            var entries = ReadEntries(path);
            if (entries.Count == 0) throw new DataFormatException(path, "the category file holds no fortunes (an empty category file)");
            texts.AddRange(entries);
            labels.AddRange(Enumerable.Repeat(c, entries.Count));
        }
        return new TextCorpus(texts, labels, chosen, directory, $"fortunes ({chosen.Length} categories)");
    }

    /// <summary>The entries of one fortune file, trimmed; blank entries are skipped.</summary>
    /// <param name="path">A fortune file.</param>
    /// <exception cref="DataFormatException">The file cannot be read.</exception>
    public static IReadOnlyList<string> ReadEntries(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var entries = new List<string>();
        var current = new StringBuilder();
        using var stream = DataFiles.OpenRead(path);
        // Invalid UTF-8 (a few entries are Latin-1) becomes U+FFFD instead of failing the whole file.
        using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: false));
        try
        {
            for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
            {
                if (line == "%")
                {
                    Flush();
                    continue;
                }
                current.Append(line).Append('\n');
            }
        }
        catch (IOException e)
        {
            throw new DataFormatException(path, $"cannot be read: {e.Message}", inner: e);
        }
        Flush();
        return entries;

        void Flush()
        {
            string text = current.ToString().Trim();
            if (text.Length > 0) entries.Add(text);
            current.Clear();
        }
    }
}
