namespace Whittle.Data;

/// <summary>The element types <see cref="NpyFile"/> reads, all little-endian.</summary>
public enum NpyElementType
{
    /// <summary>Unsigned byte, NumPy descr <c>|u1</c>.</summary>
    UInt8,

    /// <summary>32-bit signed integer, <c>&lt;i4</c>.</summary>
    Int32,

    /// <summary>64-bit signed integer, <c>&lt;i8</c>.</summary>
    Int64,

    /// <summary>32-bit float, <c>&lt;f4</c>.</summary>
    Float32,

    /// <summary>64-bit float, <c>&lt;f8</c>.</summary>
    Float64,
}
