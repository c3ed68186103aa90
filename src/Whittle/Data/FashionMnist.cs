namespace Whittle.Data;

/// <summary>
/// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 28×28 grayscale images of clothing in 10
/// classes, 60,000 for training and 10,000 for testing. Loaded from the full set when the
/// Debian package <c>dataset-fashion-mnist</c> is installed, else from the stratified subset
/// bundled in the repository (10,000 training and 2,000 test images, 1,000 and 200 per class).
/// </summary>
public static class FashionMnist
{
    /// <summary>Where the Debian package <c>dataset-fashion-mnist</c> installs the full set.</summary>
    public const string FullSetDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The bundled subset's folder relative to the repository root: <c>data/fashion-mnist-mini</c>.</summary>
    public static readonly string BundledSubsetRelativePath = Path.Combine("data", "fashion-mnist-mini");

    /// <summary>
    /// The mean pixel value of the full training set after dividing by 255, for
    /// <see cref="Preprocessing.Normalize"/> (computed over all 47,040,000 pixels).
    /// </summary>
    public const float Mean = 0.28604060f;

    /// <summary>The (population) standard deviation of the full training set's pixels after dividing by 255.</summary>
    public const float Std = 0.35302424f;

    private static readonly string[] Names =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The ten class names in label order: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot.</summary>
    public static IReadOnlyList<string> ClassNames => Names;

    /// <summary>
    /// The usual preprocessing: pixels to [0, 1], normalised with the training set's
    /// <see cref="Mean"/> and <see cref="Std"/>, in the given layout.
    /// </summary>
    /// <param name="layout">[N, 1, 28, 28] (<see cref="FeatureLayout.Nchw"/>) or [N, 784] (<see cref="FeatureLayout.Flat"/>).</param>
    public static Preprocessing StandardPreprocessing(FeatureLayout layout = FeatureLayout.Nchw) =>
        new(divisor: 255f, mean: [Mean], std: [Std], layout: layout);

    /// <summary>True when the full set is installed in <see cref="FullSetDirectory"/>.</summary>
    public static bool IsFullSetInstalled =>
        IdxDirectory.Contains(FullSetDirectory, DatasetSplit.Train) && IdxDirectory.Contains(FullSetDirectory, DatasetSplit.Test);

    /// <summary>Loads the full set when it is installed, else the bundled subset; the result says which.</summary>
    /// <param name="split">Training or test images.</param>
    /// <param name="preprocessing">Applied while loading, in the loaded array itself (no second copy); null to keep the raw values.</param>
    /// <exception cref="DataFormatException">Neither the full set nor the bundled subset can be found, or a file is malformed.</exception>
    public static LoadedDataset Load(DatasetSplit split, Preprocessing? preprocessing = null) =>
        IsFullSetInstalled ? LoadFullSet(split, preprocessing: preprocessing) : LoadBundledSubset(split, preprocessing: preprocessing);

    /// <summary>Loads the full set from <paramref name="directory"/>.</summary>
    /// <param name="split">Training or test images.</param>
    /// <param name="directory">The directory holding the four IDX files; the Debian package's by default.</param>
    /// <param name="preprocessing">Applied while loading, in the loaded array itself (no second copy); null to keep the raw values.</param>
    /// <exception cref="DataFormatException">A file is missing or malformed.</exception>
    public static LoadedDataset LoadFullSet(DatasetSplit split, string directory = FullSetDirectory, Preprocessing? preprocessing = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        return new LoadedDataset(IdxDirectory.Load(directory, split, ClassNames, preprocessing), split, DatasetOrigin.FullSet, directory, "Fashion-MNIST, full set");
    }

    /// <summary>Loads the bundled subset from <paramref name="directory"/>, or from the folder <see cref="FindBundledSubset"/> finds.</summary>
    /// <param name="split">Training (10,000 images) or test (2,000 images).</param>
    /// <param name="directory">The subset's folder; null to search for it.</param>
    /// <param name="preprocessing">Applied while loading, in the loaded array itself (no second copy); null to keep the raw values.</param>
    /// <exception cref="DataFormatException">The subset cannot be found, or a file is malformed.</exception>
    public static LoadedDataset LoadBundledSubset(DatasetSplit split, string? directory = null, Preprocessing? preprocessing = null)
    {
        directory ??= FindBundledSubset() ?? throw new DataFormatException(
            $"Fashion-MNIST is not available: the full set is not installed in {FullSetDirectory} (Debian package dataset-fashion-mnist), " +
            $"and no {BundledSubsetRelativePath} folder was found above {string.Join(" or ", SearchStarts())}. Pass the folder explicitly, e.g. fashion-mnist-mini:/path/to/{BundledSubsetRelativePath}.");
        return new LoadedDataset(IdxDirectory.Load(directory, split, ClassNames, preprocessing), split, DatasetOrigin.BundledSubset, directory, "Fashion-MNIST, bundled subset");
    }

    /// <summary>
    /// Finds the bundled subset from the running program: the first <c>data/fashion-mnist-mini</c>
    /// folder holding its files in <see cref="AppContext.BaseDirectory"/>, the current directory,
    /// or any of their parents. Null when there is none.
    /// </summary>
    public static string? FindBundledSubset()
    {
        foreach (string start in SearchStarts())
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, BundledSubsetRelativePath);
                if (IdxDirectory.Contains(candidate, DatasetSplit.Train)) return candidate;
            }
        }
        return null;
    }

    private static IEnumerable<string> SearchStarts() =>
        new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() }.Distinct();
}
