using TorchSharp;
using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Engine;

/// <summary>Conversions between ONNX tensors / element types and torch tensors.</summary>
public static class TorchTensors
{
    /// <summary>The torch dtype of an ONNX element type.</summary>
    /// <exception cref="EngineException">The type has no torch equivalent here.</exception>
    public static ScalarType ToScalarType(OnnxDataType type) => type switch
    {
        OnnxDataType.Float => ScalarType.Float32,
        OnnxDataType.Double => ScalarType.Float64,
        OnnxDataType.Float16 => ScalarType.Float16,
        OnnxDataType.BFloat16 => ScalarType.BFloat16,
        OnnxDataType.Int64 => ScalarType.Int64,
        OnnxDataType.Int32 => ScalarType.Int32,
        OnnxDataType.Int16 => ScalarType.Int16,
        OnnxDataType.Int8 => ScalarType.Int8,
        OnnxDataType.UInt8 => ScalarType.Byte,
        OnnxDataType.Bool => ScalarType.Bool,
        _ => throw new EngineException($"element type {OnnxDataTypes.Name(type)} is not supported by the Engine"),
    };

    /// <summary>Whether an ONNX element type maps to a torch dtype.</summary>
    public static bool IsSupported(OnnxDataType type) => type is OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16
        or OnnxDataType.BFloat16 or OnnxDataType.Int64 or OnnxDataType.Int32 or OnnxDataType.Int16 or OnnxDataType.Int8
        or OnnxDataType.UInt8 or OnnxDataType.Bool;

    /// <summary>
    /// Whether an initializer of an ONNX element type can be loaded: the <see cref="IsSupported"/> types, and
    /// int4/uint4 (int4 QDQ weights), which <see cref="FromOnnx"/> widens to int8/uint8.
    /// </summary>
    public static bool IsLoadable(OnnxDataType type) => IsSupported(type) || type is OnnxDataType.Int4 or OnnxDataType.UInt4;

    /// <summary>The ONNX element type of a torch dtype.</summary>
    public static OnnxDataType ToOnnxType(ScalarType type) => type switch
    {
        ScalarType.Float32 => OnnxDataType.Float,
        ScalarType.Float64 => OnnxDataType.Double,
        ScalarType.Float16 => OnnxDataType.Float16,
        ScalarType.BFloat16 => OnnxDataType.BFloat16,
        ScalarType.Int64 => OnnxDataType.Int64,
        ScalarType.Int32 => OnnxDataType.Int32,
        ScalarType.Int16 => OnnxDataType.Int16,
        ScalarType.Int8 => OnnxDataType.Int8,
        ScalarType.Byte => OnnxDataType.UInt8,
        ScalarType.Bool => OnnxDataType.Bool,
        _ => throw new EngineException($"torch dtype {type} has no ONNX equivalent here"),
    };

    /// <summary>
    /// A new torch tensor holding an ONNX tensor's values (any supported type; int4 and uint4 unpacked
    /// to int8 and uint8, as torch has no 4-bit dtype and every value fits).
    /// </summary>
    public static Tensor FromOnnx(OnnxTensor t)
    {
        var dims = t.Dims;
        var type = t.DataType;
        switch (type)
        {
            case OnnxDataType.Float: return tensor(t.ToFloatArray(), dims);
            case OnnxDataType.Double: return tensor(t.ToDoubleArray(), dims);
            case OnnxDataType.Float16:
            case OnnxDataType.BFloat16:
                using (var f = tensor(t.ToFloatArray(), dims)) return f.to_type(ToScalarType(type));
            case OnnxDataType.Int64: return tensor(t.ToInt64Array(), dims);
            case OnnxDataType.Int32: return tensor(t.ToInt32Array(), dims);
            case OnnxDataType.Int16: return tensor(t.ToInt64Array().Select(v => (short)v).ToArray(), dims);
            case OnnxDataType.Int8: return tensor(t.ToInt64Array().Select(v => (sbyte)v).ToArray(), dims);
            case OnnxDataType.UInt8: return tensor(t.ToInt64Array().Select(v => (byte)v).ToArray(), dims);
            case OnnxDataType.Int4: return tensor(t.ToInt64Array().Select(v => (sbyte)v).ToArray(), dims);
            case OnnxDataType.UInt4: return tensor(t.ToInt64Array().Select(v => (byte)v).ToArray(), dims);
            case OnnxDataType.Bool: return tensor(t.ToInt64Array().Select(v => v != 0).ToArray(), dims);
            default: throw new EngineException($"tensor '{t.Name}': element type {OnnxDataTypes.Name(type)} is not supported by the Engine");
        }
    }

    /// <summary>Reads a tensor's values as 64-bit integers (shape-like inputs: shapes, axes, pads).</summary>
    public static long[] ToLongs(Tensor t)
    {
        // TorchSharp's accessor throws on empty tensors of rank 2 and more.
        if (t.numel() == 0) return [];
        using var c = t.to_type(ScalarType.Int64).contiguous();
        return c.data<long>().ToArray();
    }

    /// <summary>Reads a tensor's values as floats.</summary>
    public static float[] ToFloats(Tensor t)
    {
        if (t.numel() == 0) return [];
        using var c = t.detach().to_type(ScalarType.Float32).contiguous();
        return c.data<float>().ToArray();
    }

    /// <summary>An ONNX tensor with a torch tensor's values, in the given element type.</summary>
    public static OnnxTensor ToOnnx(string name, Tensor t, OnnxDataType type)
    {
        var dims = t.shape;
        switch (type)
        {
            case OnnxDataType.Float:
                return OnnxTensor.FromFloats(name, dims, ToFloats(t));
            case OnnxDataType.Int64:
                return OnnxTensor.FromInt64s(name, dims, ToLongs(t));
            case OnnxDataType.Int32:
            {
                using var c = t.to_type(ScalarType.Int32).contiguous();
                return OnnxTensor.FromInt32s(name, dims, c.data<int>().ToArray());
            }
            case OnnxDataType.Double:
            {
                using var c = t.detach().to_type(ScalarType.Float64).contiguous();
                var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(c.data<double>().ToArray().AsSpan());
                return OnnxTensor.FromBytes(name, type, dims, bytes);
            }
            case OnnxDataType.Float16:
            {
                var halves = ToFloats(t).Select(v => (Half)v).ToArray();
                return OnnxTensor.FromBytes(name, type, dims, System.Runtime.InteropServices.MemoryMarshal.AsBytes(halves.AsSpan()));
            }
            default:
                throw new EngineException($"cannot write a torch tensor as ONNX {OnnxDataTypes.Name(type)} ('{name}')");
        }
    }
}
