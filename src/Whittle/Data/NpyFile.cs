using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Whittle.Data;

/// <summary>
/// Reads and writes NumPy <c>.npy</c> files (format versions 1.0, 2.0 and 3.0): a magic string,
/// a version, a header length, a Python-literal header dict
/// (<c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (2, 3), }</c>) padded so the data
/// starts on a 64-byte boundary, then the raw elements. Reads little-endian <c>|u1</c>,
/// <c>&lt;i4</c>, <c>&lt;i8</c>, <c>&lt;f4</c> and <c>&lt;f8</c> in C order; writes float32 and int64.
/// </summary>
public static partial class NpyFile
{
    // \x93 then "NUMPY"; a u8 string literal would encode \x93 as two UTF-8 bytes.
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
    private const int Alignment = 64;

    /// <summary>Reads a <c>.npy</c> file.</summary>
    /// <param name="path">The file to read.</param>
    /// <exception cref="DataFormatException">
    /// The file is missing, not NPY, of an unsupported version or element type, in Fortran
    /// order, truncated, or longer than its header says.
    /// </exception>
    public static NpyArray Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using FileStream stream = DataFiles.OpenRead(path);

        Span<byte> prefix = stackalloc byte[8];
        if (DataFiles.ReadFully(stream, prefix, path) < 8 || !prefix[..6].SequenceEqual(Magic))
            throw new DataFormatException(path, "not an NPY file: it does not start with \\x93NUMPY");
        byte major = prefix[6], minor = prefix[7];
        if (major is not (1 or 2 or 3) || minor != 0)
            throw new DataFormatException(path, $"NPY format version {major}.{minor} is not supported; versions 1.0, 2.0 and 3.0 are");

        Span<byte> lengthBytes = stackalloc byte[major == 1 ? 2 : 4];
        if (DataFiles.ReadFully(stream, lengthBytes, path) < lengthBytes.Length)
            throw new DataFormatException(path, "truncated: the file ends inside the NPY header length");
        long headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(lengthBytes) : BinaryPrimitives.ReadUInt32LittleEndian(lengthBytes);
        if (headerLength > stream.Length - stream.Position)
            throw new DataFormatException(path, $"truncated: the NPY header is {headerLength} bytes long but the file ends before it does");
        byte[] headerBytes = new byte[headerLength];
        DataFiles.ReadFully(stream, headerBytes, path);
        // Versions 1 and 2 store the header in Latin-1, version 3 in UTF-8 (NEP 1).
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);

        var (elementType, itemSize) = ParseDescr(header, path);
        if (ParseFortranOrder(header, path))
            throw new DataFormatException(path, "the array is stored in Fortran (column-major) order; only C order is supported (NumPy: np.save(path, np.ascontiguousarray(a)))");
        int[] shape = ParseShape(header, path);

        long count = 1;
        foreach (int dim in shape)
        {
            count *= dim;
            if (count > Array.MaxLength) throw new DataFormatException(path, $"shape {TensorDataset.ShapeText(shape)} is too large to load");
        }
        long dataBytes = count * itemSize;
        long available = stream.Length - stream.Position;
        if (available < dataBytes)
            throw new DataFormatException(path, $"truncated: shape {TensorDataset.ShapeText(shape)} needs {dataBytes:N0} bytes of data but the file holds only {available:N0}");
        if (available > dataBytes)
            throw new DataFormatException(path, $"the file holds {available - dataBytes:N0} bytes more than shape {TensorDataset.ShapeText(shape)} needs");

        Array values = elementType switch
        {
            NpyElementType.UInt8 => ReadElements<byte>(stream, (int)count, path),
            NpyElementType.Int32 => ReadElements<int>(stream, (int)count, path),
            NpyElementType.Int64 => ReadElements<long>(stream, (int)count, path),
            NpyElementType.Float32 => ReadElements<float>(stream, (int)count, path),
            NpyElementType.Float64 => ReadElements<double>(stream, (int)count, path),
            _ => throw new InvalidOperationException("Unexpected element type."),
        };
        return new NpyArray(path, shape, elementType, values);
    }

    /// <summary>Writes a float32 array as a version 1.0 <c>.npy</c> file in C order.</summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="values">The elements in row-major order.</param>
    /// <param name="shape">The shape; its product must equal the number of elements (empty for a scalar).</param>
    public static void Write(string path, ReadOnlySpan<float> values, ReadOnlySpan<int> shape) =>
        Write(path, MemoryMarshal.AsBytes(values), values.Length, sizeof(float), "<f4", shape);

    /// <summary>Writes an int64 array as a version 1.0 <c>.npy</c> file in C order.</summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="values">The elements in row-major order.</param>
    /// <param name="shape">The shape; its product must equal the number of elements (empty for a scalar).</param>
    public static void Write(string path, ReadOnlySpan<long> values, ReadOnlySpan<int> shape) =>
        Write(path, MemoryMarshal.AsBytes(values), values.Length, sizeof(long), "<i8", shape);

    /// <summary>
    /// Loads features [N, ...sample shape] from one <c>.npy</c> file and, optionally, integer
    /// class labels [N] from another. Features of shape [N] become samples of shape [1].
    /// </summary>
    /// <param name="featuresPath">The features file, any supported element type (converted to float32).</param>
    /// <param name="labelsPath">The labels file: whole, non-negative numbers of shape [N] or [N, 1]; null for unlabeled data.</param>
    /// <param name="classNames">Class names in index order; every label must be below their count. Null to name classes by number.</param>
    /// <param name="preprocessing">Applied while loading, in the loaded array itself (no second copy); null to keep the raw values.</param>
    /// <exception cref="DataFormatException">A file is missing or malformed, the counts differ, or a label is not a valid class index.</exception>
    public static TensorDataset LoadDataset(string featuresPath, string? labelsPath, IReadOnlyList<string>? classNames = null, Preprocessing? preprocessing = null)
    {
        NpyArray featureArray = Read(featuresPath);
        if (featureArray.Shape.Length == 0)
            throw new DataFormatException(featuresPath, "holds a scalar; features need a leading sample axis [N, ...]");
        int count = featureArray.Shape[0];
        int[] sampleShape = featureArray.Shape.Length == 1 ? [1] : featureArray.Shape[1..];
        if (sampleShape.Any(d => d == 0))
            throw new DataFormatException(featuresPath, $"samples of shape {TensorDataset.ShapeText(sampleShape)} have no values");

        int[]? labels = null;
        if (labelsPath is not null)
        {
            NpyArray labelArray = Read(labelsPath);
            bool column = labelArray.Shape.Length == 2 && labelArray.Shape[1] == 1;
            if (labelArray.Shape.Length != 1 && !column)
                throw new DataFormatException(labelsPath, $"labels must have shape [N] or [N, 1], not {TensorDataset.ShapeText(labelArray.Shape)}");
            if (labelArray.Shape[0] != count)
                throw new DataFormatException(labelsPath, $"holds {labelArray.Shape[0]:N0} labels but the features file {featuresPath} holds {count:N0} samples");
            labels = labelArray.ToInt32();
            for (int i = 0; i < labels.Length; i++)
            {
                if (labels[i] < 0) throw new DataFormatException(labelsPath, $"label {labels[i]} of sample {i} is negative; labels must be class indices 0, 1, ...");
                if (classNames is not null && labels[i] >= classNames.Count)
                    throw new DataFormatException(labelsPath, $"label {labels[i]} of sample {i} is outside the {classNames.Count} classes");
            }
        }
        return new TensorDataset(featureArray.ToFloat32(), sampleShape, labels, classNames?.Count, classNames)
            .PreprocessFresh(preprocessing);
    }

    private static T[] ReadElements<T>(Stream stream, int count, string path) where T : unmanaged
    {
        T[] values = new T[count];
        DataFiles.ReadFully(stream, MemoryMarshal.AsBytes(values.AsSpan()), path);
        if (!BitConverter.IsLittleEndian) ReverseEndianness(values);
        return values;
    }

    private static void ReverseEndianness<T>(T[] values) where T : unmanaged
    {
        switch (values)
        {
            case int[] i: BinaryPrimitives.ReverseEndianness(i, i); break;
            case long[] l: BinaryPrimitives.ReverseEndianness(l, l); break;
            case float[] f: var fi = MemoryMarshal.Cast<float, int>(f.AsSpan()); BinaryPrimitives.ReverseEndianness(fi, fi); break;
            case double[] d: var dl = MemoryMarshal.Cast<double, long>(d.AsSpan()); BinaryPrimitives.ReverseEndianness(dl, dl); break;
        }
    }

    private static (NpyElementType Type, int ItemSize) ParseDescr(string header, string path)
    {
        Match match = DescrPattern().Match(header);
        if (!match.Success)
            throw new DataFormatException(path, "the NPY header has no 'descr' string (structured dtypes are not supported)");
        string descr = match.Groups["value"].Value;
        return descr switch
        {
            "|u1" or "<u1" or "u1" => (NpyElementType.UInt8, 1),
            "<i4" => (NpyElementType.Int32, 4),
            "<i8" => (NpyElementType.Int64, 8),
            "<f4" => (NpyElementType.Float32, 4),
            "<f8" => (NpyElementType.Float64, 8),
            _ when descr.StartsWith('>') => throw new DataFormatException(path,
                $"element type '{descr}' is big-endian; only little-endian is supported (NumPy: a.astype('<{descr[1..]}'))"),
            _ => throw new DataFormatException(path,
                $"element type '{descr}' is not supported; supported are '|u1' (uint8), '<i4' (int32), '<i8' (int64), '<f4' (float32), '<f8' (float64)"),
        };
    }

    private static bool ParseFortranOrder(string header, string path)
    {
        Match match = FortranOrderPattern().Match(header);
        if (!match.Success) throw new DataFormatException(path, "the NPY header has no 'fortran_order' True or False");
        return match.Groups["value"].Value == "True";
    }

    private static int[] ParseShape(string header, string path)
    {
        Match match = ShapePattern().Match(header);
        if (!match.Success) throw new DataFormatException(path, "the NPY header has no 'shape' tuple");
        string[] parts = match.Groups["value"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        int[] shape = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            // NumPy on Windows wrote 'L' suffixes under Python 2; tolerate them.
            string part = parts[i].TrimEnd('L');
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]))
                throw new DataFormatException(path, $"the NPY shape ({match.Groups["value"].Value}) has '{parts[i]}', not a dimension size");
        }
        return shape;
    }

    private static void Write(string path, ReadOnlySpan<byte> data, int count, int itemSize, string descr, ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(path);
        long expected = 1;
        foreach (int dim in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(dim, nameof(shape));
            expected *= dim;
        }
        if (expected != count)
            throw new ArgumentException($"Shape {TensorDataset.ShapeText(shape.ToArray())} holds {expected} elements but there are {count}.", nameof(shape));

        string dims = shape.Length == 1
            ? $"{shape[0]},"
            : string.Join(", ", shape.ToArray().Select(d => d.ToString(CultureInfo.InvariantCulture)));
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}";
        int unpadded = Magic.Length + 2 + 2 + dict.Length + 1;
        int padding = (Alignment - unpadded % Alignment) % Alignment;
        string header = dict + new string(' ', padding) + "\n";
        if (header.Length > ushort.MaxValue) throw new ArgumentException("The shape is too long for an NPY 1.0 header.", nameof(shape));

        byte[] prefix = new byte[Magic.Length + 4];
        Magic.CopyTo(prefix);
        prefix[6] = 1;
        prefix[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(prefix.AsSpan(8), (ushort)header.Length);

        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        file.Write(prefix);
        file.Write(Encoding.Latin1.GetBytes(header));
        if (BitConverter.IsLittleEndian)
        {
            file.Write(data);
        }
        else
        {
            byte[] swapped = data.ToArray();
            for (int i = 0; i < swapped.Length; i += itemSize) swapped.AsSpan(i, itemSize).Reverse();
            file.Write(swapped);
        }
    }

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""](?<value>[^'""]*)['""]")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(?<value>True|False)")]
    private static partial Regex FortranOrderPattern();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\((?<value>[^)]*)\)")]
    private static partial Regex ShapePattern();
}
