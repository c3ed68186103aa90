namespace Whittle.Data;

/// <summary>Where a loaded dataset came from, so a tool can say which data its numbers are on.</summary>
public enum DatasetOrigin
{
    /// <summary>The complete published dataset, e.g. Fashion-MNIST from the Debian package <c>dataset-fashion-mnist</c>.</summary>
    FullSet,

    /// <summary>The small stratified subset bundled in the repository's <c>data/</c> folder.</summary>
    BundledSubset,

    /// <summary>Files the user named: an IDX directory, a CSV file, NPY files.</summary>
    UserFiles,
}
