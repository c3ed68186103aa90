using System.Runtime.InteropServices;
using Google.Protobuf;
using Whittle.Onnx.Proto;

namespace Whittle.Onnx;

/// <summary>
/// A tensor stored in an ONNX model (an initializer, a Constant's value or an attribute).
/// A view over the underlying protobuf message: edits are seen by the model that owns it.
/// Reads handle every storage form ONNX allows: typed fields (<c>float_data</c>, <c>int64_data</c>, ...),
/// little-endian <c>raw_data</c>, and external data files next to the model.
/// </summary>
public sealed class OnnxTensor
{
    internal TensorProto Proto { get; }

    /// <summary>Directory external data locations are relative to (the model file's directory), if known.</summary>
    internal string? BaseDirectory { get; }

    internal OnnxTensor(TensorProto proto, string? baseDirectory = null)
    {
        Proto = proto;
        BaseDirectory = baseDirectory;
    }

    /// <summary>The tensor's name (the value name when it is an initializer).</summary>
    public string Name
    {
        get => Proto.Name;
        set => Proto.Name = value;
    }

    /// <summary>The element type.</summary>
    public OnnxDataType DataType => (OnnxDataType)Proto.DataType;

    /// <summary>The shape (empty for a scalar).</summary>
    public long[] Dims => Proto.Dims.ToArray();

    /// <summary>Number of elements (product of the dims; 1 for a scalar).</summary>
    /// <exception cref="OnnxException">A dimension is negative, or their product overflows (a corrupt file).</exception>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Proto.Dims)
            {
                if (d < 0) throw new OnnxException($"tensor '{Name}' has a negative dimension in [{string.Join(",", Proto.Dims)}]");
                try { n = checked(n * d); }
                catch (OverflowException) { throw new OnnxException($"tensor '{Name}' has dimensions [{string.Join(",", Proto.Dims)}] whose product overflows"); }
            }
            return n;
        }
    }

    /// <summary>The element count as an array length.</summary>
    /// <exception cref="OnnxException">It does not fit one .NET array.</exception>
    private int ArrayLength => ElementCount is var n && n <= Array.MaxLength ? (int)n
        : throw new OnnxException($"tensor '{Name}' has {ElementCount:N0} elements, more than one array holds");

    /// <summary>True when the data lives in a separate file (<c>data_location = EXTERNAL</c>).</summary>
    public bool IsExternal => Proto.HasDataLocation && Proto.DataLocation == TensorProto.Types.DataLocation.External;

    /// <summary>Bytes this tensor's data occupies when stored raw (sub-byte types packed).</summary>
    public long StorageBytes => DataType == OnnxDataType.String
        ? Proto.StringData.Sum(s => (long)s.Length)
        : OnnxDataTypes.StorageBytes(DataType, ElementCount);

    /// <summary>Reads the elements as 32-bit floats (float, double and float16 convert; integers convert).</summary>
    public float[] ToFloatArray()
    {
        var n = ArrayLength;
        switch (DataType)
        {
            case OnnxDataType.Float:
                if (TryRaw(out var raw)) return ReadRaw<float>(raw, n);
                CheckCount(Proto.FloatData.Count, n);
                return Proto.FloatData.ToArray();
            case OnnxDataType.Double:
                return Array.ConvertAll(ToDoubleArray(), d => (float)d);
            case OnnxDataType.Float16:
                if (TryRaw(out raw)) return Array.ConvertAll(ReadRaw<Half>(raw, n), h => (float)h);
                CheckCount(Proto.Int32Data.Count, n);
                return Proto.Int32Data.Select(bits => (float)BitConverter.UInt16BitsToHalf((ushort)bits)).ToArray();
            case OnnxDataType.BFloat16:
                if (TryRaw(out raw))
                    return ReadRaw<ushort>(raw, n).Select(b => BitConverter.Int32BitsToSingle(b << 16)).ToArray();
                CheckCount(Proto.Int32Data.Count, n);
                return Proto.Int32Data.Select(b => BitConverter.Int32BitsToSingle((b & 0xFFFF) << 16)).ToArray();
            default:
                if (IsIntegral(DataType)) return Array.ConvertAll(ToInt64Array(), v => (float)v);
                throw new OnnxException($"tensor '{Name}': cannot read {OnnxDataTypes.Name(DataType)} as float");
        }
    }

    /// <summary>Reads the elements as doubles.</summary>
    public double[] ToDoubleArray()
    {
        var n = ArrayLength;
        if (DataType == OnnxDataType.Double)
        {
            if (TryRaw(out var raw)) return ReadRaw<double>(raw, n);
            CheckCount(Proto.DoubleData.Count, n);
            return Proto.DoubleData.ToArray();
        }
        return Array.ConvertAll(ToFloatArray(), f => (double)f);
    }

    /// <summary>Reads integer or boolean elements as 64-bit integers.</summary>
    public long[] ToInt64Array()
    {
        var n = ArrayLength;
        bool raw = TryRaw(out var bytes);
        switch (DataType)
        {
            case OnnxDataType.Int64:
                if (raw) return ReadRaw<long>(bytes, n);
                CheckCount(Proto.Int64Data.Count, n);
                return Proto.Int64Data.ToArray();
            case OnnxDataType.UInt64:
                if (raw) return Array.ConvertAll(ReadRaw<ulong>(bytes, n), v => unchecked((long)v));
                CheckCount(Proto.Uint64Data.Count, n);
                return Proto.Uint64Data.Select(v => unchecked((long)v)).ToArray();
            case OnnxDataType.UInt32:
                if (raw) return Array.ConvertAll(ReadRaw<uint>(bytes, n), v => (long)v);
                CheckCount(Proto.Uint64Data.Count, n);
                return Proto.Uint64Data.Select(v => (long)v).ToArray();
            case OnnxDataType.Int32:
                if (raw) return Array.ConvertAll(ReadRaw<int>(bytes, n), v => (long)v);
                break;
            case OnnxDataType.Int16:
                if (raw) return Array.ConvertAll(ReadRaw<short>(bytes, n), v => (long)v);
                break;
            case OnnxDataType.UInt16:
                if (raw) return Array.ConvertAll(ReadRaw<ushort>(bytes, n), v => (long)v);
                break;
            case OnnxDataType.Int8:
                if (raw) return Array.ConvertAll(ReadRaw<sbyte>(bytes, n), v => (long)v);
                break;
            case OnnxDataType.UInt8:
            case OnnxDataType.Bool:
                if (raw) return Array.ConvertAll(ReadRaw<byte>(bytes, n), v => (long)v);
                break;
            case OnnxDataType.Int4:
            case OnnxDataType.UInt4:
                if (raw) return UnpackNibbles(bytes.Span, n, DataType == OnnxDataType.Int4);
                break;
            default:
                throw new OnnxException($"tensor '{Name}': cannot read {OnnxDataTypes.Name(DataType)} as integers");
        }
        // Types narrower than 32 bits (and int32 itself) use int32_data when not raw.
        if (DataType is OnnxDataType.Int4 or OnnxDataType.UInt4)
        {
            // int32_data holds the packed bytes, two elements each.
            var packed = Proto.Int32Data.Select(v => (byte)v).ToArray();
            return UnpackNibbles(packed, n, DataType == OnnxDataType.Int4);
        }
        CheckCount(Proto.Int32Data.Count, n);
        return Proto.Int32Data.Select(v => (long)v).ToArray();
    }

    /// <summary>Reads integer elements as 32-bit integers (error if a value does not fit).</summary>
    public int[] ToInt32Array() => Array.ConvertAll(ToInt64Array(), v => checked((int)v));

    /// <summary>
    /// The data as little-endian bytes, exactly as <c>raw_data</c> would hold it
    /// (converting from the typed fields when the tensor does not use raw storage).
    /// </summary>
    public byte[] ToRawBytes()
    {
        if (TryRaw(out var raw)) return raw.ToArray();
        return DataType switch
        {
            OnnxDataType.Float => MemoryMarshal.AsBytes(ToFloatArray().AsSpan()).ToArray(),
            OnnxDataType.Double => MemoryMarshal.AsBytes(ToDoubleArray().AsSpan()).ToArray(),
            OnnxDataType.Int64 => MemoryMarshal.AsBytes(ToInt64Array().AsSpan()).ToArray(),
            OnnxDataType.UInt64 => MemoryMarshal.AsBytes(ToInt64Array().AsSpan()).ToArray(),
            OnnxDataType.Int32 => MemoryMarshal.AsBytes(ToInt32Array().AsSpan()).ToArray(),
            OnnxDataType.UInt32 => MemoryMarshal.AsBytes(ToInt64Array().Select(v => (uint)v).ToArray().AsSpan()).ToArray(),
            OnnxDataType.Int16 or OnnxDataType.UInt16 or OnnxDataType.Float16 or OnnxDataType.BFloat16 =>
                MemoryMarshal.AsBytes(Proto.Int32Data.Select(v => (ushort)v).ToArray().AsSpan()).ToArray(),
            OnnxDataType.Int8 or OnnxDataType.UInt8 or OnnxDataType.Bool or OnnxDataType.Int4 or OnnxDataType.UInt4
                or OnnxDataType.Float8E4M3FN or OnnxDataType.Float8E4M3FNUZ or OnnxDataType.Float8E5M2
                or OnnxDataType.Float8E5M2FNUZ or OnnxDataType.Float8E8M0 or OnnxDataType.Float4E2M1 =>
                Proto.Int32Data.Select(v => (byte)v).ToArray(),
            _ => throw new OnnxException($"tensor '{Name}': {OnnxDataTypes.Name(DataType)} has no raw byte form"),
        };
    }

    /// <summary>Reads string elements.</summary>
    public string[] ToStringArray()
    {
        if (DataType != OnnxDataType.String)
            throw new OnnxException($"tensor '{Name}': is {OnnxDataTypes.Name(DataType)}, not string");
        return Proto.StringData.Select(s => s.ToStringUtf8()).ToArray();
    }

    /// <summary>Counts elements that are not zero (works for every numeric type).</summary>
    public long CountNonZero()
    {
        if (DataType == OnnxDataType.String) return ElementCount;
        if (DataType is OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16 or OnnxDataType.BFloat16)
        {
            long count = 0;
            foreach (var v in ToFloatArray()) if (v != 0f) count++;
            return count;
        }
        if (IsIntegral(DataType))
        {
            long count = 0;
            foreach (var v in ToInt64Array()) if (v != 0) count++;
            return count;
        }
        // float8/float4: zero is the all-zero bit pattern (sign bit aside).
        long nz = 0;
        foreach (var b in ToRawBytes()) if ((b & 0x7F) != 0) nz++;
        return nz;
    }

    /// <summary>Replaces the data with float values (stored as raw_data), keeping the name.</summary>
    public void SetData(ReadOnlySpan<float> values, long[]? dims = null) =>
        SetRaw(OnnxDataType.Float, MemoryMarshal.AsBytes(values), dims ?? Dims, values.Length);

    /// <summary>Replaces the data with int64 values (stored as raw_data), keeping the name.</summary>
    public void SetData(ReadOnlySpan<long> values, long[]? dims = null) =>
        SetRaw(OnnxDataType.Int64, MemoryMarshal.AsBytes(values), dims ?? Dims, values.Length);

    /// <summary>Replaces the data with int32 values (stored as raw_data), keeping the name.</summary>
    public void SetData(ReadOnlySpan<int> values, long[]? dims = null) =>
        SetRaw(OnnxDataType.Int32, MemoryMarshal.AsBytes(values), dims ?? Dims, values.Length);

    /// <summary>Creates a float tensor.</summary>
    public static OnnxTensor FromFloats(string name, long[] dims, ReadOnlySpan<float> values) =>
        Create(name, OnnxDataType.Float, dims, MemoryMarshal.AsBytes(values), values.Length);

    /// <summary>Creates an int64 tensor.</summary>
    public static OnnxTensor FromInt64s(string name, long[] dims, ReadOnlySpan<long> values) =>
        Create(name, OnnxDataType.Int64, dims, MemoryMarshal.AsBytes(values), values.Length);

    /// <summary>Creates an int32 tensor.</summary>
    public static OnnxTensor FromInt32s(string name, long[] dims, ReadOnlySpan<int> values) =>
        Create(name, OnnxDataType.Int32, dims, MemoryMarshal.AsBytes(values), values.Length);

    /// <summary>
    /// Creates an int4 tensor: values in [-8, 7], packed two per byte as the ONNX spec lays them out
    /// (element 2i in the low nibble, 2i+1 in the high nibble; an odd count leaves the last high nibble zero).
    /// </summary>
    /// <exception cref="OnnxException">A value is outside [-8, 7], or the values do not fill the shape.</exception>
    public static OnnxTensor FromInt4(string name, long[] dims, ReadOnlySpan<int> values) =>
        Create(name, OnnxDataType.Int4, dims, PackNibbles(name, values, -8, 7), values.Length);

    /// <summary>
    /// Creates a uint4 tensor: values in [0, 15], packed two per byte like <see cref="FromInt4"/>.
    /// </summary>
    /// <exception cref="OnnxException">A value is outside [0, 15], or the values do not fill the shape.</exception>
    public static OnnxTensor FromUInt4(string name, long[] dims, ReadOnlySpan<int> values) =>
        Create(name, OnnxDataType.UInt4, dims, PackNibbles(name, values, 0, 15), values.Length);

    private static byte[] PackNibbles(string name, ReadOnlySpan<int> values, int min, int max)
    {
        var packed = new byte[(values.Length + 1) / 2];
        for (int i = 0; i < values.Length; i++)
        {
            int v = values[i];
            if (v < min || v > max)
                throw new OnnxException($"tensor '{name}': value {v} at index {i} is outside the 4-bit range [{min}, {max}]");
            packed[i / 2] |= (byte)((v & 0xF) << (4 * (i % 2)));
        }
        return packed;
    }

    /// <summary>Creates a tensor of any fixed-width type from little-endian bytes.</summary>
    public static OnnxTensor FromBytes(string name, OnnxDataType type, long[] dims, ReadOnlySpan<byte> littleEndian)
    {
        long count = 1;
        foreach (var d in dims) count *= d;
        return Create(name, type, dims, littleEndian, count);
    }

    private static OnnxTensor Create(string name, OnnxDataType type, long[] dims, ReadOnlySpan<byte> bytes, long count)
    {
        var t = new OnnxTensor(new TensorProto { Name = name });
        t.SetRaw(type, bytes, dims, count);
        return t;
    }

    private void SetRaw(OnnxDataType type, ReadOnlySpan<byte> bytes, long[] dims, long count)
    {
        long expected = 1;
        foreach (var d in dims) expected *= d;
        if (expected != count)
            throw new OnnxException($"tensor '{Name}': {count} values do not fill shape [{string.Join(",", dims)}]");
        if (OnnxDataTypes.StorageBytes(type, count) != bytes.Length)
            throw new OnnxException($"tensor '{Name}': {bytes.Length} bytes do not hold {count} {OnnxDataTypes.Name(type)} values");
        Proto.Dims.Clear();
        Proto.Dims.Add(dims);
        Proto.DataType = (int)type;
        Proto.FloatData.Clear();
        Proto.Int32Data.Clear();
        Proto.Int64Data.Clear();
        Proto.DoubleData.Clear();
        Proto.Uint64Data.Clear();
        Proto.StringData.Clear();
        Proto.ExternalData.Clear();
        Proto.ClearDataLocation();
        Proto.RawData = BitConverter.IsLittleEndian
            ? ByteString.CopyFrom(bytes)
            : throw new PlatformNotSupportedException("Whittle needs a little-endian machine");
    }

    /// <summary>A deep copy, detached from any model.</summary>
    public OnnxTensor Clone() => new(Proto.Clone(), BaseDirectory);

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {OnnxDataTypes.Name(DataType)}[{string.Join(",", Dims)}]";

    private static bool IsIntegral(OnnxDataType t) => t is OnnxDataType.Int8 or OnnxDataType.UInt8 or OnnxDataType.Int16
        or OnnxDataType.UInt16 or OnnxDataType.Int32 or OnnxDataType.UInt32 or OnnxDataType.Int64 or OnnxDataType.UInt64
        or OnnxDataType.Bool or OnnxDataType.Int4 or OnnxDataType.UInt4;

    private void CheckCount(int actual, int expected)
    {
        if (actual != expected)
            throw new OnnxException($"tensor '{Name}': holds {actual} values but its shape [{string.Join(",", Proto.Dims)}] needs {expected}");
    }

    private bool TryRaw(out ReadOnlyMemory<byte> bytes)
    {
        if (IsExternal)
        {
            bytes = ReadExternal();
            return true;
        }
        if (Proto.HasRawData)
        {
            bytes = Proto.RawData.Memory;
            return true;
        }
        bytes = default;
        return false;
    }

    private T[] ReadRaw<T>(ReadOnlyMemory<byte> raw, int n) where T : unmanaged
    {
        int size = Marshal.SizeOf<T>();
        if (raw.Length != (long)n * size)
            throw new OnnxException($"tensor '{Name}': raw data has {raw.Length} bytes, shape [{string.Join(",", Proto.Dims)}] of {OnnxDataTypes.Name(DataType)} needs {(long)n * size}");
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Whittle needs a little-endian machine");
        return MemoryMarshal.Cast<byte, T>(raw.Span).ToArray();
    }

    private static long[] UnpackNibbles(ReadOnlySpan<byte> packed, int n, bool signed)
    {
        if (packed.Length != (n + 1) / 2) throw new OnnxException($"4-bit tensor: {packed.Length} bytes do not hold {n} values");
        var result = new long[n];
        for (int i = 0; i < n; i++)
        {
            int nibble = (packed[i / 2] >> (4 * (i % 2))) & 0xF;
            result[i] = signed && nibble >= 8 ? nibble - 16 : nibble;
        }
        return result;
    }

    private ReadOnlyMemory<byte> ReadExternal() => ReadExternalChecked();

    /// <summary>
    /// Reads this tensor's bytes from its external file, checking that the range is inside the file
    /// and (for fixed-width types) that it holds exactly the elements the shape needs.
    /// </summary>
    internal byte[] ReadExternalChecked()
    {
        var (path, offset, length) = ExternalRange();
        using var stream = OpenExternal(path);
        if (length < 0) length = stream.Length - offset;
        if (offset < 0 || length < 0 || offset + length > stream.Length)
            throw new OnnxException($"tensor '{Name}': external data range {offset}+{length} is beyond the end of '{path}' ({stream.Length} bytes)");
        if (DataType is not (OnnxDataType.String or OnnxDataType.Undefined) && length != StorageBytes)
            throw new OnnxException($"tensor '{Name}': external data in '{path}' has {length} bytes, shape [{string.Join(",", Proto.Dims)}] of {OnnxDataTypes.Name(DataType)} needs {StorageBytes}");
        if (length > Array.MaxLength)
            throw new OnnxException($"tensor '{Name}': {length} bytes of external data in one tensor is more than .NET can hold in one array");
        var buffer = new byte[length];
        stream.Position = offset;
        stream.ReadExactly(buffer);
        return buffer;
    }

    /// <summary>The number of bytes of external data (without reading them).</summary>
    internal long ExternalLength()
    {
        var (path, offset, length) = ExternalRange();
        if (length >= 0) return length;
        using var stream = OpenExternal(path);
        return Math.Max(0, stream.Length - offset);
    }

    /// <summary>
    /// Makes an external tensor inline (its bytes read into <c>raw_data</c>); used when a tensor
    /// moves into a model whose directory is not the one its location is relative to.
    /// </summary>
    internal void Materialize()
    {
        if (IsExternal) ExternalData.Inline(Proto, BaseDirectory);
    }

    private (string Path, long Offset, long Length) ExternalRange()
    {
        string? location = null;
        long offset = 0, length = -1;
        foreach (var kv in Proto.ExternalData)
        {
            switch (kv.Key)
            {
                case "location": location = kv.Value; break;
                case "offset": offset = ParseLong(kv.Value, "offset"); break;
                case "length": length = ParseLong(kv.Value, "length"); break;
            }
        }
        if (string.IsNullOrEmpty(location))
            throw new OnnxException($"tensor '{Name}': external data has no 'location'");
        if (Path.IsPathRooted(location) || location.Split('/', '\\').Contains(".."))
            throw new OnnxException($"tensor '{Name}': external data location '{location}' must be a relative path inside the model's directory");
        // Locations are relative to the model file's directory (the ONNX rule), never to the
        // working directory of whoever loads it; a model built in memory has no directory, and
        // then the working directory is all there is.
        var dir = BaseDirectory ?? Directory.GetCurrentDirectory();
        return (Path.Combine(dir, location), offset, length);
    }

    private FileStream OpenExternal(string path)
    {
        try
        {
            return File.OpenRead(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new OnnxException($"tensor '{Name}': external data file '{path}' not found");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxException($"tensor '{Name}': cannot read external data file '{path}': {e.Message}", e);
        }
    }

    private long ParseLong(string text, string key) => long.TryParse(text, out var v)
        ? v
        : throw new OnnxException($"tensor '{Name}': external data '{key}' is not an integer: '{text}'");
}
