namespace Whittle.Data;

/// <summary>A dataset together with where it came from.</summary>
public sealed class LoadedDataset
{
    /// <summary>Pairs a dataset with its provenance.</summary>
    /// <param name="dataset">The samples.</param>
    /// <param name="split">Which part of the source they are.</param>
    /// <param name="origin">What kind of source they came from.</param>
    /// <param name="location">The directory or file they were read from.</param>
    /// <param name="description">A short human-readable name of the source, e.g. "Fashion-MNIST, full set".</param>
    public LoadedDataset(TensorDataset dataset, DatasetSplit split, DatasetOrigin origin, string location, string description)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(description);
        if (!Enum.IsDefined(split)) throw new ArgumentOutOfRangeException(nameof(split), split, "Unknown dataset split.");
        if (!Enum.IsDefined(origin)) throw new ArgumentOutOfRangeException(nameof(origin), origin, "Unknown dataset origin.");
        Dataset = dataset;
        Split = split;
        Origin = origin;
        Location = location;
        Description = description;
    }

    /// <summary>The samples.</summary>
    public TensorDataset Dataset { get; }

    /// <summary>Which part of the source the samples are.</summary>
    public DatasetSplit Split { get; }

    /// <summary>What kind of source the samples came from (full set, bundled subset, user files).</summary>
    public DatasetOrigin Origin { get; }

    /// <summary>The directory or file the samples were read from.</summary>
    public string Location { get; }

    /// <summary>A short human-readable name of the source, e.g. "Fashion-MNIST, bundled subset".</summary>
    public string Description { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Description}, {Split.ToString().ToLowerInvariant()}: {Dataset} ({Location})";
}
