namespace Whittle.Data;

/// <summary>
/// Finds and loads the IDX image and label files of one split in a directory, under the names
/// MNIST-style datasets ship with: <c>{train|t10k|test}-{images-idx3|labels-idx1}-ubyte</c>, the
/// dotted variant <c>{prefix}-images.idx3-ubyte</c>, each optionally ending in <c>.gz</c>.
/// </summary>
public static class IdxDirectory
{
    /// <summary>True when <paramref name="directory"/> holds the image and label files of <paramref name="split"/>.</summary>
    /// <param name="directory">The directory to look in.</param>
    /// <param name="split">The split whose files to look for.</param>
    public static bool Contains(string directory, DatasetSplit split) =>
        Find(directory, split, "images", "idx3") is not null && Find(directory, split, "labels", "idx1") is not null;

    /// <summary>The paths of the image and label files of <paramref name="split"/> in <paramref name="directory"/>.</summary>
    /// <param name="directory">The directory to look in.</param>
    /// <param name="split">The split whose files to find.</param>
    /// <exception cref="DataFormatException">The directory or one of the files is missing; the message lists the names tried.</exception>
    public static (string Images, string Labels) FindFiles(string directory, DatasetSplit split)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Enum.IsDefined(split)) throw new ArgumentOutOfRangeException(nameof(split), split, "Unknown dataset split.");
        if (!Directory.Exists(directory)) throw new DataFormatException(directory, "directory not found");
        string images = Find(directory, split, "images", "idx3")
            ?? throw new DataFormatException(directory, $"no {split.ToString().ToLowerInvariant()} image file; looked for {string.Join(", ", Candidates(split, "images", "idx3"))}");
        string labels = Find(directory, split, "labels", "idx1")
            ?? throw new DataFormatException(directory, $"no {split.ToString().ToLowerInvariant()} label file; looked for {string.Join(", ", Candidates(split, "labels", "idx1"))}");
        return (images, labels);
    }

    /// <summary>Loads the images and labels of <paramref name="split"/> from <paramref name="directory"/> (see <see cref="IdxFile.LoadDataset"/>).</summary>
    /// <param name="directory">The directory holding the IDX files.</param>
    /// <param name="split">The split to load.</param>
    /// <param name="classNames">Class names in index order, or null to name classes by number.</param>
    /// <param name="preprocessing">Applied while loading, in the loaded array itself (no second copy); null to keep the raw values.</param>
    /// <exception cref="DataFormatException">A file is missing or malformed.</exception>
    public static TensorDataset Load(string directory, DatasetSplit split, IReadOnlyList<string>? classNames = null, Preprocessing? preprocessing = null)
    {
        var (images, labels) = FindFiles(directory, split);
        return IdxFile.LoadDataset(images, labels, classNames, preprocessing);
    }

    private static string? Find(string directory, DatasetSplit split, string kind, string idx) =>
        Candidates(split, kind, idx).Select(name => Path.Combine(directory, name)).FirstOrDefault(File.Exists);

    private static IEnumerable<string> Candidates(DatasetSplit split, string kind, string idx)
    {
        string[] prefixes = split == DatasetSplit.Train ? ["train"] : ["t10k", "test"];
        foreach (string prefix in prefixes)
            foreach (string stem in new[] { $"{prefix}-{kind}-{idx}-ubyte", $"{prefix}-{kind}.{idx}-ubyte" })
                foreach (string suffix in new[] { ".gz", "" })
                    yield return stem + suffix;
    }
}
