namespace Whittle.Quantization;

/// <summary>The integer element type a float tensor is quantized to.</summary>
public enum QuantizationType
{
    /// <summary>Unsigned 8-bit, storage range [0, 255].</summary>
    UInt8,

    /// <summary>Signed 8-bit, storage range [-128, 127].</summary>
    Int8,

    /// <summary>Unsigned 4-bit (weight-only), storage range [0, 15].</summary>
    UInt4,

    /// <summary>Signed 4-bit (weight-only), storage range [-8, 7].</summary>
    Int4,
}
