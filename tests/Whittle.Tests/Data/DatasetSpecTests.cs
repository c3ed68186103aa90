using Whittle.Data;

namespace Whittle.Tests.Data;

public class DatasetSpecTests
{
    [Theory]
    [InlineData("fashion-mnist", "fashion-mnist", null)]
    [InlineData("fashion-mnist-mini", "fashion-mnist-mini", null)]
    [InlineData("idx:/data/mnist", "idx", "/data/mnist")]
    [InlineData("csv:iris.csv", "csv", "iris.csv")]
    [InlineData("npy:x.npy,y.npy", "npy", "x.npy,y.npy")]
    [InlineData("CSV: spaced.csv ", "csv", "spaced.csv")]
    public void Parses_kind_and_argument(string text, string kind, string? argument)
    {
        DatasetSpec spec = DatasetSpec.Parse(text);

        Assert.Equal(kind, spec.Kind);
        Assert.Equal(argument, spec.Argument);
    }

    [Fact]
    public void Unknown_kind_lists_the_known_ones()
    {
        var error = Assert.Throws<DataFormatException>(() => DatasetSpec.Parse("parquet:data.parquet"));

        Assert.Contains("'parquet'", error.Message);
        foreach (string usage in DatasetSpec.KnownKinds) Assert.Contains(usage, error.Message);
    }

    [Fact]
    public void Kinds_that_need_a_path_say_so()
    {
        Assert.Contains("idx:DIR", Assert.Throws<DataFormatException>(() => DatasetSpec.Parse("idx")).Message);
        Assert.Contains("csv:FILE", Assert.Throws<DataFormatException>(() => DatasetSpec.Parse("csv:")).Message);
        Assert.Throws<DataFormatException>(() => DatasetSpec.OpenSource("npy:a.npy,b.npy,c.npy"));
    }

    [Fact]
    public void Nonexistent_bare_name_is_explained()
    {
        var error = Assert.Throws<DataFormatException>(() => DatasetSpec.Parse("no-such-dataset-here"));

        Assert.Contains("neither a known dataset nor an existing file", error.Message);
    }

    [Fact]
    public void Bare_paths_are_recognised_by_what_they_are()
    {
        using var dir = new TempDirectory();
        string csv = dir.WriteText("d.csv", "1,2,0\n3,4,1\n");
        string npy = dir.File("d.npy");
        NpyFile.Write(npy, [1f, 2f], [2]);

        Assert.Equal("idx", DatasetSpec.Parse(dir.Path).Kind);
        Assert.Equal("csv", DatasetSpec.Parse(csv).Kind);
        Assert.Equal("npy", DatasetSpec.Parse(npy).Kind);
        Assert.Equal($"csv:{csv}", DatasetSpec.Parse(csv).ToString());
    }

    [Fact]
    public void Single_file_sources_have_only_a_training_part()
    {
        using var dir = new TempDirectory();
        string csv = dir.WriteText("d.csv", "1,2,0\n3,4,1\n");
        IDatasetSource source = DatasetSpec.OpenSource($"csv:{csv}");

        Assert.False(source.HasTestSplit);
        Assert.Equal(2, source.Load(DatasetSplit.Train).Dataset.Count);
        var error = Assert.Throws<DataFormatException>(() => source.Load(DatasetSplit.Test));
        Assert.Contains("TensorDataset.Split", error.Message);
    }

    [Fact]
    public void Idx_directory_spec_loads_the_bundled_files()
    {
        string folder = FashionMnist.FindBundledSubset()!;
        IDatasetSource source = DatasetSpec.OpenSource($"idx:{folder}");

        LoadedDataset test = source.Load(DatasetSplit.Test);

        Assert.True(source.HasTestSplit);
        Assert.Equal(2_000, test.Dataset.Count);
        Assert.Equal(DatasetOrigin.UserFiles, test.Origin);
        Assert.Equal(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"], test.Dataset.ClassNames);
    }

    [Fact]
    public void Fashion_mnist_spec_with_a_directory_keeps_the_class_names()
    {
        string folder = FashionMnist.FindBundledSubset()!;

        LoadedDataset loaded = DatasetSpec.OpenSource($"fashion-mnist:{folder}").Load(DatasetSplit.Test);

        Assert.Equal(FashionMnist.ClassNames, loaded.Dataset.ClassNames);
    }
}
