using System.Buffers.Binary;
using System.Text;
using Whittle.Data;

namespace Whittle.Tests.Data;

public class NpyFileTests
{
    /// <summary>
    /// Builds an .npy file byte by byte as the format spec describes: "\x93NUMPY", major and
    /// minor version, the header length (uint16 LE for 1.0, uint32 LE for 2.0 and 3.0), the
    /// dict literal padded with spaces and ended by '\n' so the data starts at a multiple of 64.
    /// </summary>
    private static byte[] Npy(string dict, byte[] data, byte major = 1)
    {
        int lengthField = major == 1 ? 2 : 4;
        int unpadded = 6 + 2 + lengthField + Encoding.UTF8.GetByteCount(dict) + 1;
        string header = dict + new string(' ', (64 - unpadded % 64) % 64) + "\n";
        byte[] headerBytes = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetBytes(header);

        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', major, 0 };
        byte[] length = new byte[lengthField];
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)headerBytes.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)headerBytes.Length);
        bytes.AddRange(length);
        bytes.AddRange(headerBytes);
        Assert.Equal(0, bytes.Count % 64);
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    private static byte[] Float32Bytes(params float[] values)
    {
        byte[] bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }

    private static byte[] Float64Bytes(params double[] values)
    {
        byte[] bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(8 * i), values[i]);
        return bytes;
    }

    private static byte[] Int64Bytes(params long[] values)
    {
        byte[] bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8 * i), values[i]);
        return bytes;
    }

    private static byte[] Int32Bytes(params int[] values)
    {
        byte[] bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Float32_reads_in_every_format_version(byte major)
    {
        using var dir = new TempDirectory();
        string path = dir.WriteBytes("x.npy", Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", Float32Bytes(0, 1.5f, -2, 3, 4, 5), major));

        NpyArray array = NpyFile.Read(path);

        Assert.Equal([2, 3], array.Shape);
        Assert.Equal(NpyElementType.Float32, array.ElementType);
        Assert.Equal([0f, 1.5f, -2f, 3f, 4f, 5f], array.ToFloat32());
    }

    [Fact]
    public void Float64_is_converted_to_float32()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteBytes("d.npy", Npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", Float64Bytes(0.1, 2, -3.5)));

        NpyArray array = NpyFile.Read(path);

        Assert.Equal(NpyElementType.Float64, array.ElementType);
        Assert.Equal([3], array.Shape);
        Assert.Equal([0.1f, 2f, -3.5f], array.ToFloat32());
    }

    [Fact]
    public void Integer_types_read_as_int64_int32_and_float()
    {
        using var dir = new TempDirectory();
        string i8 = dir.WriteBytes("i8.npy", Npy("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", Int64Bytes(7, -1, 1L << 40)));
        string i4 = dir.WriteBytes("i4.npy", Npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", Int32Bytes(5, -6)));
        string u1 = dir.WriteBytes("u1.npy", Npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", [0, 1, 128, 255]));

        Assert.Equal([7L, -1L, 1L << 40], NpyFile.Read(i8).ToInt64());
        Assert.Equal([5, -6], NpyFile.Read(i4).ToInt32());
        Assert.Equal([0f, 1f, 128f, 255f], NpyFile.Read(u1).ToFloat32());
        Assert.Equal(NpyElementType.UInt8, NpyFile.Read(u1).ElementType);
        Assert.Throws<DataFormatException>(() => NpyFile.Read(i8).ToInt32());
    }

    [Fact]
    public void Scalar_and_empty_shapes()
    {
        using var dir = new TempDirectory();
        string scalar = dir.WriteBytes("s.npy", Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", Float32Bytes(42)));
        string empty = dir.WriteBytes("e.npy", Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", []));

        Assert.Empty(NpyFile.Read(scalar).Shape);
        Assert.Equal([42f], NpyFile.Read(scalar).ToFloat32());
        Assert.Equal(0, NpyFile.Read(empty).Length);
    }

    [Fact]
    public void Fortran_order_is_rejected_with_a_hint()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteBytes("f.npy", Npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", Float32Bytes(1, 2, 3, 4)));

        var error = Assert.Throws<DataFormatException>(() => NpyFile.Read(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("Fortran", error.Message);
        Assert.Contains("ascontiguousarray", error.Message);
    }

    [Fact]
    public void Unsupported_and_big_endian_types_are_named()
    {
        using var dir = new TempDirectory();
        string big = dir.WriteBytes("b.npy", Npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0]));
        string complex = dir.WriteBytes("c.npy", Npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new byte[8]));

        Assert.Contains("big-endian", Assert.Throws<DataFormatException>(() => NpyFile.Read(big)).Message);
        Assert.Contains("'<c8' is not supported", Assert.Throws<DataFormatException>(() => NpyFile.Read(complex)).Message);
    }

    [Fact]
    public void Truncated_data_and_bad_magic_are_reported()
    {
        using var dir = new TempDirectory();
        string truncated = dir.WriteBytes("t.npy", Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", Float32Bytes(1, 2, 3)));
        string notNpy = dir.WriteText("n.npy", "just text, not numpy");

        var error = Assert.Throws<DataFormatException>(() => NpyFile.Read(truncated));
        Assert.Contains("truncated", error.Message);
        Assert.Contains("16 bytes", error.Message);
        Assert.Contains("only 12", error.Message);
        Assert.Contains("not an NPY file", Assert.Throws<DataFormatException>(() => NpyFile.Read(notNpy)).Message);
    }

    [Fact]
    public void Writer_produces_the_spec_header_and_round_trips()
    {
        using var dir = new TempDirectory();
        string floats = dir.File("f.npy");
        string longs = dir.File("l.npy");

        NpyFile.Write(floats, [1f, 2f, 3f, 4f, 5f, 6f], [2, 3]);
        NpyFile.Write(longs, [9L, 8L, 7L], [3]);

        byte[] raw = File.ReadAllBytes(floats);
        Assert.Equal(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", Float32Bytes(1, 2, 3, 4, 5, 6)), raw);
        Assert.Equal(Npy("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", Int64Bytes(9, 8, 7)), File.ReadAllBytes(longs));
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], NpyFile.Read(floats).ToFloat32());
        Assert.Equal([9L, 8L, 7L], NpyFile.Read(longs).ToInt64());
        Assert.Throws<ArgumentException>(() => NpyFile.Write(floats, [1f, 2f], [3]));
    }

    [Fact]
    public void Dataset_from_features_and_labels_files()
    {
        using var dir = new TempDirectory();
        string features = dir.File("x.npy");
        string labels = dir.File("y.npy");
        NpyFile.Write(features, Enumerable.Range(0, 3 * 4).Select(i => (float)i).ToArray(), [3, 2, 2]);
        NpyFile.Write(labels, [1L, 0L, 1L], [3]);

        TensorDataset data = NpyFile.LoadDataset(features, labels);
        LoadedDataset viaSpec = DatasetSpec.OpenSource($"npy:{features},{labels}").Load(DatasetSplit.Train);

        Assert.Equal(3, data.Count);
        Assert.Equal([2, 2], data.SampleShape);
        Assert.Equal([1, 0, 1], data.Labels.ToArray());
        Assert.Equal([4f, 5f, 6f, 7f], data.GetFeatures(1).ToArray());
        Assert.Equal(data.Labels.ToArray(), viaSpec.Dataset.Labels.ToArray());
        Assert.Equal(DatasetOrigin.UserFiles, viaSpec.Origin);
    }

    [Fact]
    public void Dataset_label_problems_name_the_labels_file()
    {
        using var dir = new TempDirectory();
        string features = dir.File("x.npy");
        string shortLabels = dir.File("short.npy");
        string negative = dir.File("neg.npy");
        string fractional = dir.WriteBytes("frac.npy", Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", Float32Bytes(0, 0.5f)));
        NpyFile.Write(features, new float[4], [2, 2]);
        NpyFile.Write(shortLabels, [1L], [1]);
        NpyFile.Write(negative, [1L, -1L], [2]);

        Assert.Contains("1 labels", Assert.Throws<DataFormatException>(() => NpyFile.LoadDataset(features, shortLabels)).Message);
        Assert.Contains("negative", Assert.Throws<DataFormatException>(() => NpyFile.LoadDataset(features, negative)).Message);
        var error = Assert.Throws<DataFormatException>(() => NpyFile.LoadDataset(features, fractional));
        Assert.Contains(fractional, error.Message);
        Assert.Contains("whole number", error.Message);
    }
}
