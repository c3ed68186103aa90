using System.Text;

namespace Whittle.Data;

/// <summary>
/// Reads a text-classification corpus from a folder with one file per class: the file name
/// without its extension is the class, and every non-blank line is one example. Classes are in
/// ordinal file-name order; hidden files, symbolic links and subdirectories are skipped.
/// </summary>
public static class TextFolderReader
{
    /// <summary>Reads <paramref name="directory"/>.</summary>
    /// <param name="directory">The folder.</param>
    /// <exception cref="DataFormatException">The folder is missing, has fewer than two class files, or a class file has no example.</exception>
    public static TextCorpus Read(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory)) throw new DataFormatException(directory, "directory not found");
        var files = new DirectoryInfo(directory).EnumerateFiles()
            .Where(f => f.LinkTarget is null && !f.Name.StartsWith('.'))
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToArray();
        if (files.Length < 2) throw new DataFormatException(directory, $"a classifier needs at least two class files; the folder has {files.Length}");
        var names = files.Select(f => Path.GetFileNameWithoutExtension(f.Name)).ToArray();
        var repeated = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new DataFormatException(directory, $"two files name the class '{repeated.Key}'");

        var texts = new List<string>();
        var labels = new List<int>();
        for (int c = 0; c < files.Length; c++)
        {
            int before = texts.Count;
            using var stream = DataFiles.OpenRead(files[c].FullName);
            using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: false));
            for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
            {
                string text = line.Trim();
                if (text.Length == 0) continue;
                texts.Add(text);
                labels.Add(c);
            }
            if (texts.Count == before) throw new DataFormatException(files[c].FullName, "the class file holds no examples (an empty class file)");
        }
        return new TextCorpus(texts, labels, names, directory, $"text folder {Path.GetFileName(Path.TrimEndingDirectorySeparator(directory))}");
    }
}
