using System.Buffers.Binary;
using System.IO.Compression;

namespace Whittle.Data;

/// <summary>
/// Reads and writes IDX files, the format of MNIST and Fashion-MNIST: a 4-byte magic number
/// (two zero bytes, an element-type code and the number of dimensions), the dimensions as
/// big-endian 32-bit integers, then the elements in row-major order. Unsigned-byte elements
/// only, which is what image and label files hold. A file may be gzipped; that is detected by
/// its first two bytes (1f 8b), not by its name.
/// </summary>
public static class IdxFile
{
    /// <summary>The magic number of an image file: unsigned bytes, 3 dimensions [N, rows, columns].</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>The magic number of a label file: unsigned bytes, 1 dimension [N].</summary>
    public const int LabelsMagic = 0x00000801;

    private const byte UnsignedByteType = 0x08;

    /// <summary>Reads an unsigned-byte IDX file, gzipped or not.</summary>
    /// <param name="path">The file to read.</param>
    /// <exception cref="DataFormatException">The file is missing, is not IDX, holds another element type, or is truncated or longer than its header says.</exception>
    public static IdxArray Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using Stream stream = OpenAtData(path, out int[] dims, out long size);
        byte[] data = new byte[size];
        int read = DataFiles.ReadFully(stream, data, path);
        CheckDataLength(stream, path, dims, size, read);
        return new IdxArray(dims, data);
    }

    /// <summary>
    /// Loads an image file [N, rows, columns] and, optionally, its label file [N] as a dataset of
    /// N samples of shape [1, rows, columns] with the raw pixel values 0..255 as floats (scale
    /// them with <see cref="Preprocessing.BytesToUnitRange"/>).
    /// </summary>
    /// <param name="imagesPath">The image file (magic 0x00000803), gzipped or not.</param>
    /// <param name="labelsPath">The label file (magic 0x00000801), gzipped or not; null for unlabeled data.</param>
    /// <param name="classNames">Class names in index order; every label must be below their count. Null to name classes by number.</param>
    /// <param name="preprocessing">Applied while loading, in the loaded array itself (no second copy); null to keep the raw values.</param>
    /// <exception cref="DataFormatException">A file is missing or malformed, the counts differ, or a label has no class name.</exception>
    public static TensorDataset LoadDataset(string imagesPath, string? labelsPath, IReadOnlyList<string>? classNames = null, Preprocessing? preprocessing = null)
    {
        ArgumentNullException.ThrowIfNull(imagesPath);
        using Stream imageStream = OpenAtData(imagesPath, out int[] dims, out long size);
        if (dims.Length != 3)
            throw new DataFormatException(imagesPath, $"expected an IDX image file (magic 0x{ImagesMagic:x8}: unsigned bytes, 3 dimensions), found {dims.Length} dimension(s) {TensorDataset.ShapeText(dims)}");
        int count = dims[0];
        if (dims[1] == 0 || dims[2] == 0)
            throw new DataFormatException(imagesPath, $"images of shape {TensorDataset.ShapeText(dims.Skip(1))} have no pixels");

        // Labels first: a mismatched pair is reported before the large image file is decompressed.
        int[]? labels = null;
        if (labelsPath is not null)
        {
            IdxArray labelFile = Read(labelsPath);
            if (labelFile.Rank != 1)
                throw new DataFormatException(labelsPath, $"expected an IDX label file (magic 0x{LabelsMagic:x8}: unsigned bytes, 1 dimension), found {labelFile.Rank} dimensions {TensorDataset.ShapeText(labelFile.Dimensions)}");
            if (labelFile.Dimensions[0] != count)
                throw new DataFormatException(labelsPath, $"holds {labelFile.Dimensions[0]:N0} labels but the image file {imagesPath} holds {count:N0} images");
            labels = new int[count];
            ReadOnlySpan<byte> raw = labelFile.Data;
            for (int i = 0; i < count; i++) labels[i] = raw[i];
            if (classNames is not null)
                for (int i = 0; i < count; i++)
                    if (labels[i] >= classNames.Count)
                        throw new DataFormatException(labelsPath, $"label {labels[i]} of sample {i} is outside the {classNames.Count} classes");
        }

        float[] features = ReadBytesAsFloats(imageStream, imagesPath, dims, size);
        return new TensorDataset(features, [1, dims[1], dims[2]], labels, classNames?.Count, classNames)
            .PreprocessFresh(preprocessing);
    }

    /// <summary>Writes an unsigned-byte IDX file, gzipped or not (for fixtures, subsets and tests).</summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="dimensions">The dimensions, 1 to 255 of them; their product must equal the data length.</param>
    /// <param name="data">The elements in row-major order.</param>
    /// <param name="gzip">Compress the file with gzip.</param>
    public static void Write(string path, ReadOnlySpan<int> dimensions, ReadOnlySpan<byte> data, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (dimensions.Length is 0 or > 255) throw new ArgumentException("An IDX file has 1 to 255 dimensions.", nameof(dimensions));
        long size = 1;
        foreach (int dim in dimensions)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(dim, nameof(dimensions));
            size *= dim;
        }
        if (size != data.Length)
            throw new ArgumentException($"Dimensions {TensorDataset.ShapeText(dimensions.ToArray())} hold {size} elements but the data has {data.Length}.", nameof(data));

        byte[] header = new byte[4 + 4 * dimensions.Length];
        header[2] = UnsignedByteType;
        header[3] = (byte)dimensions.Length;
        for (int i = 0; i < dimensions.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dimensions[i]);

        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        using Stream output = gzip ? new GZipStream(file, CompressionLevel.Optimal) : file;
        output.Write(header);
        output.Write(data);
    }

    /// <summary>Opens an IDX file, checks its magic number and reads its dimensions, leaving the stream at the first element.</summary>
    private static Stream OpenAtData(string path, out int[] dims, out long size)
    {
        Stream stream = DataFiles.OpenMaybeGzipped(path, out _);
        try
        {
            Span<byte> magic = stackalloc byte[4];
            int read = DataFiles.ReadFully(stream, magic, path);
            if (read < 4) throw new DataFormatException(path, $"truncated: the file ends after {read} byte(s), inside the 4-byte IDX magic number");
            if (magic[0] != 0 || magic[1] != 0)
                throw new DataFormatException(path, $"not an IDX file: it starts with bytes {magic[0]:x2} {magic[1]:x2}, not 00 00");
            if (magic[2] != UnsignedByteType)
                throw new DataFormatException(path, $"IDX element type 0x{magic[2]:x2} ({TypeName(magic[2])}) is not supported; only 0x08 (unsigned byte) is");
            int rank = magic[3];
            if (rank == 0) throw new DataFormatException(path, "the IDX header declares zero dimensions");

            Span<byte> header = stackalloc byte[4 * rank];
            read = DataFiles.ReadFully(stream, header, path);
            if (read < header.Length)
                throw new DataFormatException(path, $"truncated: the header declares {rank} dimensions but the file ends inside them");
            dims = new int[rank];
            size = 1;
            for (int i = 0; i < rank; i++)
            {
                uint dim = BinaryPrimitives.ReadUInt32BigEndian(header[(4 * i)..]);
                size *= dim;
                if (dim > int.MaxValue || size > Array.MaxLength)
                    throw new DataFormatException(path, $"the IDX header declares dimension {dim}, too large to load");
                dims[i] = (int)dim;
            }
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    // Converting chunk by chunk avoids holding a byte copy of the whole file next to the floats.
    private static float[] ReadBytesAsFloats(Stream stream, string path, int[] dims, long size)
    {
        float[] values = new float[size];
        byte[] chunk = new byte[1 << 16];
        int done = 0;
        while (done < size)
        {
            int wanted = (int)Math.Min(chunk.Length, size - done);
            int read = DataFiles.ReadFully(stream, chunk.AsSpan(0, wanted), path);
            Span<float> target = values.AsSpan(done, read);
            for (int i = 0; i < target.Length; i++) target[i] = chunk[i];
            done += read;
            if (read < wanted) break;
        }
        CheckDataLength(stream, path, dims, size, done);
        return values;
    }

    private static void CheckDataLength(Stream stream, string path, int[] dims, long size, long read)
    {
        if (read < size)
            throw new DataFormatException(path, $"truncated: the header promises {TensorDataset.ShapeText(dims)} = {size:N0} bytes of data but the file holds only {read:N0}");
        if (DataFiles.HasMore(stream, path))
            throw new DataFormatException(path, $"the file holds more than the {size:N0} bytes of data its header {TensorDataset.ShapeText(dims)} promises; is it an IDX file?");
    }

    private static string TypeName(byte type) => type switch
    {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => "unknown",
    };
}
