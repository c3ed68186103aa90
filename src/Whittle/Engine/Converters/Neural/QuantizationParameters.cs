using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// What QuantizeLinear, DequantizeLinear and <see cref="FakeQuantize"/> share: integer ranges
/// and the shaping of a scale or zero point for per-tensor, per-axis or blocked quantization.
/// </summary>
internal static class QuantizationParameters
{
    /// <summary>The integer element types the Engine quantizes to and from.</summary>
    public static readonly OnnxDataType[] IntegerTypes = [OnnxDataType.UInt8, OnnxDataType.Int8, OnnxDataType.Int16, OnnxDataType.Int32];

    /// <summary>
    /// The integer element types DequantizeLinear reads: <see cref="IntegerTypes"/> and the 4-bit ones
    /// (int4 QDQ weights), which the Engine holds widened to int8 and uint8 (torch has no 4-bit dtype).
    /// </summary>
    public static readonly OnnxDataType[] DequantizableTypes = [.. IntegerTypes, OnnxDataType.UInt4, OnnxDataType.Int4];

    /// <summary>The representable range of an integer dtype (saturation bounds).</summary>
    public static (long Min, long Max) Range(ScalarType type) => type switch
    {
        ScalarType.Byte => (byte.MinValue, byte.MaxValue),
        ScalarType.Int8 => (sbyte.MinValue, sbyte.MaxValue),
        ScalarType.Int16 => (short.MinValue, short.MaxValue),
        ScalarType.Int32 => (int.MinValue, int.MaxValue),
        _ => throw new EngineException($"quantized type {type} is not supported (uint8, int8, int16, int32 are)"),
    };

    /// <summary>
    /// <paramref name="p"/> (a scale or zero point) shaped to broadcast against <paramref name="x"/>:
    /// a scalar for per-tensor quantization, a 1-D tensor laid along <paramref name="axis"/> for
    /// per-axis quantization, or, with <paramref name="blockSize"/> &gt; 0, a tensor of x's rank
    /// whose entries repeat blockSize times along axis (blocked quantization).
    /// </summary>
    public static Tensor Broadcastable(Tensor p, Tensor x, long axis, long blockSize = 0)
    {
        long rank = x.dim();
        if (blockSize > 0)
        {
            long a = NormalizeAxis(axis, rank);
            if (p.dim() != rank)
                throw new EngineException($"blocked quantization needs a scale of rank {rank}, it has rank {p.dim()}");
            return p.repeat_interleave(blockSize, a).narrow(a, 0, x.shape[a]);
        }
        if (p.numel() == 1 && p.dim() <= 1) return p.reshape([]);
        if (p.dim() != 1)
            throw new EngineException($"scale and zero point must be scalars or 1-D (per axis), they have shape [{string.Join(",", p.shape)}]");
        long along = NormalizeAxis(rank == 1 ? 0 : axis, rank);
        if (p.shape[0] != x.shape[along])
            throw new EngineException($"per-axis scale has {p.shape[0]} values, axis {along} of the input has {x.shape[along]}");
        var shape = Enumerable.Repeat(1L, (int)rank).ToArray();
        shape[along] = -1;
        return p.reshape(shape);
    }

    private static long NormalizeAxis(long axis, long rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new EngineException($"quantization axis {axis} is out of range for rank {rank}");
        return a;
    }
}
