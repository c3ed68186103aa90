using Whittle.Onnx;

namespace Whittle.Runtime;

/// <summary>
/// A dense tensor passed to or returned from ONNX Runtime: a row-major array and its shape.
/// Kept independent of ORT's own types so that callers need no ORT reference.
/// </summary>
public sealed class RuntimeTensor
{
    private RuntimeTensor(OnnxDataType type, Array data, long[] shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in shape [{string.Join(",", shape)}]", nameof(shape));
            n *= d;
        }
        if (n != data.Length)
            throw new ArgumentException($"{data.Length} values do not fill shape [{string.Join(",", shape)}] ({n} elements)", nameof(data));
        ElementType = type;
        Data = data;
        Shape = shape;
    }

    /// <summary>The element type.</summary>
    public OnnxDataType ElementType { get; }

    /// <summary>The values (float[], long[], int[], byte[], sbyte[], bool[] or double[]).</summary>
    public Array Data { get; }

    /// <summary>The shape.</summary>
    public long[] Shape { get; }

    /// <summary>Number of elements.</summary>
    public int Length => Data.Length;

    /// <summary>A float32 tensor.</summary>
    public static RuntimeTensor FromFloats(float[] data, params long[] shape) => new(OnnxDataType.Float, data, shape);

    /// <summary>An int64 tensor.</summary>
    public static RuntimeTensor FromInt64s(long[] data, params long[] shape) => new(OnnxDataType.Int64, data, shape);

    /// <summary>An int32 tensor.</summary>
    public static RuntimeTensor FromInt32s(int[] data, params long[] shape) => new(OnnxDataType.Int32, data, shape);

    /// <summary>A uint8 tensor.</summary>
    public static RuntimeTensor FromBytes(byte[] data, params long[] shape) => new(OnnxDataType.UInt8, data, shape);

    /// <summary>An int8 tensor.</summary>
    public static RuntimeTensor FromSBytes(sbyte[] data, params long[] shape) => new(OnnxDataType.Int8, data, shape);

    /// <summary>A bool tensor.</summary>
    public static RuntimeTensor FromBools(bool[] data, params long[] shape) => new(OnnxDataType.Bool, data, shape);

    /// <summary>A float64 tensor.</summary>
    public static RuntimeTensor FromDoubles(double[] data, params long[] shape) => new(OnnxDataType.Double, data, shape);

    /// <summary>The values as float32 (converting integer and double data).</summary>
    public float[] AsFloats() => Data switch
    {
        float[] f => f,
        double[] d => Array.ConvertAll(d, v => (float)v),
        long[] l => Array.ConvertAll(l, v => (float)v),
        int[] i => Array.ConvertAll(i, v => (float)v),
        byte[] b => Array.ConvertAll(b, v => (float)v),
        sbyte[] s => Array.ConvertAll(s, v => (float)v),
        bool[] b => Array.ConvertAll(b, v => v ? 1f : 0f),
        _ => throw new InvalidOperationException($"cannot convert {ElementType} to float"),
    };

    /// <inheritdoc />
    public override string ToString() => $"{OnnxDataTypes.Name(ElementType)}[{string.Join(",", Shape)}]";
}
