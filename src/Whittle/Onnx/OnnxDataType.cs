namespace Whittle.Onnx;

/// <summary>Element types of ONNX tensors (values of <c>TensorProto.DataType</c>).</summary>
public enum OnnxDataType
{
    /// <summary>Not set.</summary>
    Undefined = 0,
    /// <summary>32-bit IEEE float.</summary>
    Float = 1,
    /// <summary>Unsigned 8-bit integer.</summary>
    UInt8 = 2,
    /// <summary>Signed 8-bit integer.</summary>
    Int8 = 3,
    /// <summary>Unsigned 16-bit integer.</summary>
    UInt16 = 4,
    /// <summary>Signed 16-bit integer.</summary>
    Int16 = 5,
    /// <summary>Signed 32-bit integer.</summary>
    Int32 = 6,
    /// <summary>Signed 64-bit integer.</summary>
    Int64 = 7,
    /// <summary>UTF-8 string.</summary>
    String = 8,
    /// <summary>Boolean (one byte).</summary>
    Bool = 9,
    /// <summary>16-bit IEEE float.</summary>
    Float16 = 10,
    /// <summary>64-bit IEEE float.</summary>
    Double = 11,
    /// <summary>Unsigned 32-bit integer.</summary>
    UInt32 = 12,
    /// <summary>Unsigned 64-bit integer.</summary>
    UInt64 = 13,
    /// <summary>Complex of two 32-bit floats.</summary>
    Complex64 = 14,
    /// <summary>Complex of two 64-bit floats.</summary>
    Complex128 = 15,
    /// <summary>bfloat16.</summary>
    BFloat16 = 16,
    /// <summary>float8 e4m3fn.</summary>
    Float8E4M3FN = 17,
    /// <summary>float8 e4m3fnuz.</summary>
    Float8E4M3FNUZ = 18,
    /// <summary>float8 e5m2.</summary>
    Float8E5M2 = 19,
    /// <summary>float8 e5m2fnuz.</summary>
    Float8E5M2FNUZ = 20,
    /// <summary>Unsigned 4-bit integer, two per byte.</summary>
    UInt4 = 21,
    /// <summary>Signed 4-bit integer, two per byte.</summary>
    Int4 = 22,
    /// <summary>float4 e2m1, two per byte.</summary>
    Float4E2M1 = 23,
    /// <summary>float8 e8m0 (scale type).</summary>
    Float8E8M0 = 24,
    /// <summary>Unsigned 2-bit integer, four per byte.</summary>
    UInt2 = 25,
    /// <summary>Signed 2-bit integer, four per byte.</summary>
    Int2 = 26,
}

/// <summary>Facts about <see cref="OnnxDataType"/> values.</summary>
public static class OnnxDataTypes
{
    /// <summary>
    /// Storage bits per element in <c>raw_data</c>, or 0 for types without a fixed width (string, undefined).
    /// </summary>
    public static int BitsPerElement(OnnxDataType type) => type switch
    {
        OnnxDataType.Float or OnnxDataType.Int32 or OnnxDataType.UInt32 => 32,
        OnnxDataType.Double or OnnxDataType.Int64 or OnnxDataType.UInt64 or OnnxDataType.Complex64 => 64,
        OnnxDataType.Complex128 => 128,
        OnnxDataType.Float16 or OnnxDataType.BFloat16 or OnnxDataType.Int16 or OnnxDataType.UInt16 => 16,
        OnnxDataType.UInt8 or OnnxDataType.Int8 or OnnxDataType.Bool or OnnxDataType.Float8E4M3FN
            or OnnxDataType.Float8E4M3FNUZ or OnnxDataType.Float8E5M2 or OnnxDataType.Float8E5M2FNUZ
            or OnnxDataType.Float8E8M0 => 8,
        OnnxDataType.UInt4 or OnnxDataType.Int4 or OnnxDataType.Float4E2M1 => 4,
        OnnxDataType.UInt2 or OnnxDataType.Int2 => 2,
        _ => 0,
    };

    /// <summary>Bytes needed to store <paramref name="count"/> elements (sub-byte types rounded up).</summary>
    public static long StorageBytes(OnnxDataType type, long count) => (BitsPerElement(type) * count + 7) / 8;

    /// <summary>True for floating-point element types (the ones that hold trainable weights).</summary>
    public static bool IsFloatingPoint(OnnxDataType type) => type is OnnxDataType.Float or OnnxDataType.Double
        or OnnxDataType.Float16 or OnnxDataType.BFloat16 or OnnxDataType.Float8E4M3FN or OnnxDataType.Float8E4M3FNUZ
        or OnnxDataType.Float8E5M2 or OnnxDataType.Float8E5M2FNUZ or OnnxDataType.Float4E2M1 or OnnxDataType.Float8E8M0;

    /// <summary>The lower-case name ONNX uses in text form (float, int64, uint8, ...).</summary>
    public static string Name(OnnxDataType type) => type switch
    {
        OnnxDataType.Float => "float32",
        OnnxDataType.Double => "float64",
        OnnxDataType.Float16 => "float16",
        OnnxDataType.BFloat16 => "bfloat16",
        _ => type.ToString().ToLowerInvariant(),
    };
}
