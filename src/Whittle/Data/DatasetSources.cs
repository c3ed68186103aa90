namespace Whittle.Data;

/// <summary>Fashion-MNIST: full set or bundled subset, or IDX files in a given directory.</summary>
internal sealed class FashionMnistSource(string? directory, bool forceBundled) : IDatasetSource
{
    public string Description => forceBundled ? "Fashion-MNIST, bundled subset" : "Fashion-MNIST";

    public bool HasTestSplit => true;

    public LoadedDataset Load(DatasetSplit split, Preprocessing? preprocessing = null)
    {
        if (forceBundled) return FashionMnist.LoadBundledSubset(split, directory, preprocessing);
        if (directory is null) return FashionMnist.Load(split, preprocessing);
        return new LoadedDataset(IdxDirectory.Load(directory, split, FashionMnist.ClassNames, preprocessing), split, DatasetOrigin.UserFiles, directory, "Fashion-MNIST");
    }
}

/// <summary>A directory of MNIST-style IDX files.</summary>
internal sealed class IdxDirectorySource(string directory) : IDatasetSource
{
    public string Description => $"IDX files in {directory}";

    public bool HasTestSplit => IdxDirectory.Contains(directory, DatasetSplit.Test);

    public LoadedDataset Load(DatasetSplit split, Preprocessing? preprocessing = null) =>
        new(IdxDirectory.Load(directory, split, preprocessing: preprocessing), split, DatasetOrigin.UserFiles, directory, Description);
}

/// <summary>One CSV file, label last, its header read as asked; all of it is the training part.</summary>
internal sealed class CsvSource(string path, CsvHeader header = CsvHeader.Detect) : IDatasetSource
{
    public string Description => $"CSV {Path.GetFileName(path)}";

    public bool HasTestSplit => false;

    public LoadedDataset Load(DatasetSplit split, Preprocessing? preprocessing = null)
    {
        SingleFileSources.RequireTrain(split, path, "csv");
        var data = CsvFile.Load(path, new CsvOptions(header: header), preprocessing);
        return new(data, split, DatasetOrigin.UserFiles, path, $"{Description} ({data.Count:N0} rows)");
    }
}

/// <summary>Features from one .npy file and labels from another; all of it is the training part.</summary>
internal sealed class NpySource : IDatasetSource
{
    private readonly string _features;
    private readonly string? _labels;

    public NpySource(string argument)
    {
        string[] paths = argument.Split(',', StringSplitOptions.TrimEntries);
        if (paths.Length > 2 || paths.Any(p => p.Length == 0))
            throw new DataFormatException($"The dataset spec 'npy:{argument}' should name one or two files: npy:FEATURES[,LABELS].");
        _features = paths[0];
        _labels = paths.Length == 2 ? paths[1] : null;
    }

    public string Description => _labels is null ? $"NPY {Path.GetFileName(_features)}" : $"NPY {Path.GetFileName(_features)} + {Path.GetFileName(_labels)}";

    public bool HasTestSplit => false;

    public LoadedDataset Load(DatasetSplit split, Preprocessing? preprocessing = null)
    {
        SingleFileSources.RequireTrain(split, _features, "npy");
        return new(NpyFile.LoadDataset(_features, _labels, preprocessing: preprocessing), split, DatasetOrigin.UserFiles, _features, Description);
    }
}

internal static class SingleFileSources
{
    public static void RequireTrain(DatasetSplit split, string path, string kind)
    {
        if (split != DatasetSplit.Train)
            throw new DataFormatException(path, $"a {kind} source has no separate {split.ToString().ToLowerInvariant()} part; load the training part and hold some of it out with TensorDataset.Split");
    }
}
