using System.Diagnostics;
using Whittle.Data;

namespace Whittle.Tests.Data;

public class FashionMnistTests
{
    [Theory]
    [InlineData(DatasetSplit.Train, 10_000, 1_000)]
    [InlineData(DatasetSplit.Test, 2_000, 200)]
    public void Bundled_subset_is_found_and_stratified(DatasetSplit split, int count, int perClass)
    {
        LoadedDataset loaded = FashionMnist.LoadBundledSubset(split);

        Assert.Equal(DatasetOrigin.BundledSubset, loaded.Origin);
        Assert.Equal(split, loaded.Split);
        TensorDataset data = loaded.Dataset;
        Assert.Equal(count, data.Count);
        Assert.Equal([1, 28, 28], data.SampleShape);
        Assert.Equal(10, data.ClassCount);
        Assert.All(data.CountPerClass(), n => Assert.Equal(perClass, n));
        Assert.Equal(FashionMnist.ClassNames, data.ClassNames);
        Assert.Equal(255f, data.Features.Span.ToArray().Max());
    }

    [Fact]
    public void Bundled_subset_is_found_from_the_test_binary_folder()
    {
        string? found = FashionMnist.FindBundledSubset();

        Assert.NotNull(found);
        Assert.EndsWith(Path.Combine("data", "fashion-mnist-mini"), found);
    }

    [Fact]
    public void Bundled_subset_from_an_explicit_folder_and_through_the_spec()
    {
        string folder = FashionMnist.FindBundledSubset()!;

        LoadedDataset explicitFolder = FashionMnist.LoadBundledSubset(DatasetSplit.Test, folder);
        LoadedDataset viaSpec = DatasetSpec.OpenSource("fashion-mnist-mini").Load(DatasetSplit.Test);

        Assert.Equal(2_000, explicitFolder.Dataset.Count);
        Assert.Equal(DatasetOrigin.BundledSubset, viaSpec.Origin);
        Assert.Equal(explicitFolder.Dataset.Labels.ToArray(), viaSpec.Dataset.Labels.ToArray());
    }

    [Fact]
    public void Class_names_are_the_published_ones()
    {
        Assert.Equal(
            ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
            FashionMnist.ClassNames);
    }

    [Fact]
    public void Default_load_prefers_the_full_set_when_installed()
    {
        LoadedDataset loaded = FashionMnist.Load(DatasetSplit.Test);

        if (FashionMnist.IsFullSetInstalled)
        {
            Assert.Equal(DatasetOrigin.FullSet, loaded.Origin);
            Assert.Equal(10_000, loaded.Dataset.Count);
            Assert.All(loaded.Dataset.CountPerClass(), n => Assert.Equal(1_000, n));
        }
        else
        {
            Assert.Equal(DatasetOrigin.BundledSubset, loaded.Origin);
        }
    }

    [SkippableFact]
    public void Full_training_set_has_6000_images_per_class_when_installed()
    {
        // Load speed is measured by the benchmarks, not asserted here (shared machines are noisy).
        Skip.IfNot(FashionMnist.IsFullSetInstalled, "Debian package dataset-fashion-mnist is not installed");

        LoadedDataset loaded = FashionMnist.LoadFullSet(DatasetSplit.Train);

        Assert.Equal(60_000, loaded.Dataset.Count);
        Assert.All(loaded.Dataset.CountPerClass(), n => Assert.Equal(6_000, n));
        Assert.Equal(DatasetOrigin.FullSet, loaded.Origin);
    }

    [Fact]
    public void Preprocessing_while_loading_equals_preprocessing_afterwards()
    {
        Preprocessing standard = FashionMnist.StandardPreprocessing(FeatureLayout.Flat);

        TensorDataset whileLoading = FashionMnist.LoadBundledSubset(DatasetSplit.Test, preprocessing: standard).Dataset;
        TensorDataset raw = FashionMnist.LoadBundledSubset(DatasetSplit.Test).Dataset;
        TensorDataset afterwards = raw.Preprocess(standard);

        Assert.Equal([784], whileLoading.SampleShape);
        Assert.True(whileLoading.Features.Span.SequenceEqual(afterwards.Features.Span));
        // Preprocess must not have touched the raw dataset it was given.
        Assert.Equal(255f, raw.Features.Span.ToArray().Max());
    }

    [Fact]
    public void Standard_preprocessing_centres_the_bundled_training_set()
    {
        TensorDataset data = FashionMnist.LoadBundledSubset(DatasetSplit.Train).Dataset
            .Preprocess(FashionMnist.StandardPreprocessing(FeatureLayout.Nchw));

        var (mean, std) = data.ChannelStatistics();

        Assert.Equal([1, 28, 28], data.SampleShape);
        // The subset is a stratified sample of the full set, so its statistics are close to the full set's.
        Assert.InRange(mean[0], -0.05f, 0.05f);
        Assert.InRange(std[0], 0.95f, 1.05f);
    }
}
