namespace Whittle.Data;

/// <summary>
/// Something that can load a dataset: a named dataset, a directory of IDX files, a CSV file,
/// NPY files, and later text and interaction data. <see cref="DatasetSpec.Open()"/> makes one
/// from a <c>kind:path</c> string.
/// </summary>
public interface IDatasetSource
{
    /// <summary>A short human-readable name of the source, e.g. "Fashion-MNIST" or "CSV iris.csv".</summary>
    string Description { get; }

    /// <summary>
    /// True when the source has a predefined <see cref="DatasetSplit.Test"/> part; otherwise
    /// everything is <see cref="DatasetSplit.Train"/> and a held-out part comes from
    /// <see cref="TensorDataset.Split"/>.
    /// </summary>
    bool HasTestSplit { get; }

    /// <summary>Loads one part of the source.</summary>
    /// <param name="split">Which part to load.</param>
    /// <param name="preprocessing">Applied while loading, without a second copy of the features; null to keep the raw values (e.g. pixels 0..255).</param>
    /// <exception cref="DataFormatException">The data is missing or malformed, or the source has no such part.</exception>
    LoadedDataset Load(DatasetSplit split, Preprocessing? preprocessing = null);
}
