using System.IO.Compression;
using Whittle.Data;

namespace Whittle.Tests.Data;

public class IdxFileTests
{
    // Three 2x2 images with pixel values 0..11, labels 2, 0, 1.
    private static readonly byte[] ImageFile =
    [
        0x00, 0x00, 0x08, 0x03,
        0x00, 0x00, 0x00, 0x03,
        0x00, 0x00, 0x00, 0x02,
        0x00, 0x00, 0x00, 0x02,
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255,
    ];

    private static readonly byte[] LabelFile =
    [
        0x00, 0x00, 0x08, 0x01,
        0x00, 0x00, 0x00, 0x03,
        2, 0, 1,
    ];

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(bytes);
        return output.ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Hand_written_files_load_plain_or_gzipped(bool gzipped)
    {
        using var dir = new TempDirectory();
        // The names deliberately lack .gz: gzip is detected by content, not by name.
        string images = dir.WriteBytes("images", gzipped ? Gzip(ImageFile) : ImageFile);
        string labels = dir.WriteBytes("labels", gzipped ? Gzip(LabelFile) : LabelFile);

        TensorDataset data = IdxFile.LoadDataset(images, labels, ["a", "b", "c"]);

        Assert.Equal(3, data.Count);
        Assert.Equal([1, 2, 2], data.SampleShape);
        Assert.Equal([4f, 5f, 6f, 7f], data.GetFeatures(1).ToArray());
        Assert.Equal(255f, data.GetFeatures(2)[3]);
        Assert.Equal([2, 0, 1], data.Labels.ToArray());
        Assert.Equal(["a", "b", "c"], data.ClassNames);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Write_then_read_round_trips(bool gzip)
    {
        using var dir = new TempDirectory();
        byte[] data = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)(i * 7)).ToArray();
        string path = dir.File("x.idx");

        IdxFile.Write(path, [2, 3, 4], data, gzip);
        IdxArray read = IdxFile.Read(path);

        Assert.Equal([2, 3, 4], read.Dimensions);
        Assert.Equal(data, read.Data);
        byte[] raw = File.ReadAllBytes(path);
        Assert.Equal(gzip, raw[0] == 0x1f && raw[1] == 0x8b);
        if (!gzip) Assert.Equal(new byte[] { 0, 0, 0x08, 0x03, 0, 0, 0, 2 }, raw[..8]);
    }

    [Fact]
    public void Truncated_data_names_the_file_and_the_shortfall()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteBytes("short-images", ImageFile[..^5]);

        var error = Assert.Throws<DataFormatException>(() => IdxFile.Read(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("truncated", error.Message);
        Assert.Contains("12 bytes", error.Message);
        Assert.Contains("only 7", error.Message);
    }

    [Fact]
    public void Truncated_gzipped_file_is_a_data_format_error()
    {
        using var dir = new TempDirectory();
        byte[] gz = Gzip(ImageFile);
        string cut = dir.WriteBytes("cut.gz", gz[..(gz.Length / 2)]);
        string shortContent = dir.WriteBytes("short.gz", Gzip(ImageFile[..^5]));

        var cutError = Assert.Throws<DataFormatException>(() => IdxFile.Read(cut));
        var shortError = Assert.Throws<DataFormatException>(() => IdxFile.Read(shortContent));

        Assert.Contains(cut, cutError.Message);
        Assert.Contains("truncated", shortError.Message);
    }

    [Fact]
    public void Truncated_header_is_reported()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteBytes("header", ImageFile[..6]);

        var error = Assert.Throws<DataFormatException>(() => IdxFile.Read(path));

        Assert.Contains("truncated", error.Message);
        Assert.Contains("3 dimensions", error.Message);
    }

    [Fact]
    public void Extra_bytes_after_the_data_are_reported()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteBytes("long", [.. ImageFile, 1, 2]);

        var error = Assert.Throws<DataFormatException>(() => IdxFile.Read(path));

        Assert.Contains("more than", error.Message);
    }

    [Fact]
    public void Count_mismatch_between_images_and_labels_names_both_files()
    {
        using var dir = new TempDirectory();
        string images = dir.WriteBytes("images", ImageFile);
        string labels = dir.WriteBytes("labels", [0x00, 0x00, 0x08, 0x01, 0, 0, 0, 2, 1, 0]);

        var error = Assert.Throws<DataFormatException>(() => IdxFile.LoadDataset(images, labels));

        Assert.Contains(images, error.Message);
        Assert.Contains(labels, error.Message);
        Assert.Contains("2 labels", error.Message);
        Assert.Contains("3 images", error.Message);
    }

    [Fact]
    public void Label_file_in_place_of_images_is_rejected_with_the_expected_magic()
    {
        using var dir = new TempDirectory();
        string labels = dir.WriteBytes("labels", LabelFile);

        var error = Assert.Throws<DataFormatException>(() => IdxFile.LoadDataset(labels, null));

        Assert.Contains("0x00000803", error.Message);
    }

    [Fact]
    public void Non_idx_and_unsupported_types_are_explained()
    {
        using var dir = new TempDirectory();
        string text = dir.WriteText("notes.txt", "hello world");
        string floats = dir.WriteBytes("floats", [0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0]);

        Assert.Contains("not an IDX file", Assert.Throws<DataFormatException>(() => IdxFile.Read(text)).Message);
        Assert.Contains("float32", Assert.Throws<DataFormatException>(() => IdxFile.Read(floats)).Message);
    }

    [Fact]
    public void Missing_file_is_a_data_format_error_naming_it()
    {
        string path = Path.Combine(Path.GetTempPath(), "whittle-no-such-file-" + Guid.NewGuid());

        var error = Assert.Throws<DataFormatException>(() => IdxFile.Read(path));

        Assert.Equal(path, error.FilePath);
        Assert.Contains("not found", error.Message);
    }

    [Fact]
    public void Label_beyond_the_class_names_is_reported()
    {
        using var dir = new TempDirectory();
        string images = dir.WriteBytes("images", ImageFile);
        string labels = dir.WriteBytes("labels", LabelFile);

        var error = Assert.Throws<DataFormatException>(() => IdxFile.LoadDataset(images, labels, ["a", "b"]));

        Assert.Contains("label 2", error.Message);
    }

    [Fact]
    public void Directory_lookup_accepts_the_mnist_file_names()
    {
        using var dir = new TempDirectory();
        dir.WriteBytes("train-images-idx3-ubyte.gz", Gzip(ImageFile));
        dir.WriteBytes("train-labels-idx1-ubyte.gz", Gzip(LabelFile));
        dir.WriteBytes("t10k-images.idx3-ubyte", ImageFile);
        dir.WriteBytes("t10k-labels.idx1-ubyte", LabelFile);

        Assert.Equal(3, IdxDirectory.Load(dir.Path, DatasetSplit.Train).Count);
        Assert.Equal(3, IdxDirectory.Load(dir.Path, DatasetSplit.Test).Count);
    }

    [Fact]
    public void Directory_without_label_file_lists_the_names_tried()
    {
        using var dir = new TempDirectory();
        dir.WriteBytes("train-images-idx3-ubyte", ImageFile);

        var error = Assert.Throws<DataFormatException>(() => IdxDirectory.Load(dir.Path, DatasetSplit.Train));

        Assert.Contains("train-labels-idx1-ubyte.gz", error.Message);
    }
}
