using System.Text;

namespace Whittle.Data;

/// <summary>
/// Reads a text-classification corpus from a tab-separated file with one example per line:
/// <c>label&lt;TAB&gt;text</c>. Classes are numbered in order of first appearance. Blank lines are
/// skipped; a line without a tab, or with an empty label or text, is an error naming the line.
/// </summary>
public static class TsvTextReader
{
    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <param name="path">The TSV file (UTF-8).</param>
    /// <exception cref="DataFormatException">The file is missing, has a malformed line, or has fewer than two classes.</exception>
    public static TextCorpus Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var texts = new List<string>();
        var labels = new List<int>();
        var classes = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = new List<string>();
        using var stream = DataFiles.OpenRead(path);
        using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: false));
        int lineNumber = 0;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNumber++;
            if (line.Trim().Length == 0) continue;
            int tab = line.IndexOf('\t');
            if (tab < 0) throw new DataFormatException(path, "no tab: expected label<TAB>text", lineNumber);
            string label = line[..tab].Trim();
            string text = line[(tab + 1)..].Trim();
            if (label.Length == 0) throw new DataFormatException(path, "the label before the tab is empty", lineNumber);
            if (text.Length == 0) throw new DataFormatException(path, "the text after the tab is empty", lineNumber);
            if (!classes.TryGetValue(label, out int index))
            {
                index = names.Count;
                classes[label] = index;
                names.Add(label);
            }
            texts.Add(text);
            labels.Add(index);
        }
        if (names.Count < 2) throw new DataFormatException(path, $"a classifier needs at least two labels; the file has {names.Count}");
        return new TextCorpus(texts, labels, names, path, $"TSV {Path.GetFileName(path)}");
    }
}
