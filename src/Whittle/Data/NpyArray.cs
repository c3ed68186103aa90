namespace Whittle.Data;

/// <summary>
/// The contents of a <c>.npy</c> file: its shape, its element type, and its elements in
/// row-major (C) order, readable as float32, int64 or int32 whatever the stored type.
/// </summary>
public sealed class NpyArray
{
    private readonly Array _values;

    internal NpyArray(string path, int[] shape, NpyElementType elementType, Array values)
    {
        Path = path;
        Shape = shape;
        ElementType = elementType;
        _values = values;
    }

    /// <summary>The file the array was read from (named in conversion errors).</summary>
    public string Path { get; }

    /// <summary>The array's shape; empty for a scalar.</summary>
    public int[] Shape { get; }

    /// <summary>The element type stored in the file.</summary>
    public NpyElementType ElementType { get; }

    /// <summary>The number of elements (the product of <see cref="Shape"/>).</summary>
    public int Length => _values.Length;

    /// <summary>The elements as float32 (a copy); float64 and integers are rounded to the nearest float.</summary>
    public float[] ToFloat32() => _values switch
    {
        float[] f => (float[])f.Clone(),
        double[] d => Array.ConvertAll(d, v => (float)v),
        byte[] b => Array.ConvertAll(b, v => (float)v),
        int[] i => Array.ConvertAll(i, v => (float)v),
        long[] l => Array.ConvertAll(l, v => (float)v),
        _ => throw new InvalidOperationException("Unexpected element storage."),
    };

    /// <summary>The elements as int64 (a copy). Float elements must hold whole numbers.</summary>
    /// <exception cref="DataFormatException">A float element is not a whole number in the int64 range.</exception>
    public long[] ToInt64() => _values switch
    {
        long[] l => (long[])l.Clone(),
        int[] i => Array.ConvertAll(i, v => (long)v),
        byte[] b => Array.ConvertAll(b, v => (long)v),
        float[] f => WholeNumbers(f.Length, k => f[k], long.MinValue, long.MaxValue),
        double[] d => WholeNumbers(d.Length, k => d[k], long.MinValue, long.MaxValue),
        _ => throw new InvalidOperationException("Unexpected element storage."),
    };

    /// <summary>The elements as int32 (a copy). Every element must be a whole number in the int32 range.</summary>
    /// <exception cref="DataFormatException">An element is not a whole number in the int32 range.</exception>
    public int[] ToInt32()
    {
        switch (_values)
        {
            case int[] i: return (int[])i.Clone();
            case byte[] b: return Array.ConvertAll(b, v => (int)v);
            case long[] l:
                int[] narrowed = new int[l.Length];
                for (int k = 0; k < l.Length; k++)
                {
                    if (l[k] is < int.MinValue or > int.MaxValue)
                        throw new DataFormatException(Path, $"element {k} is {l[k]}, outside the int32 range");
                    narrowed[k] = (int)l[k];
                }
                return narrowed;
            case float[] f: return Array.ConvertAll(WholeNumbers(f.Length, k => f[k], int.MinValue, int.MaxValue), v => (int)v);
            case double[] d: return Array.ConvertAll(WholeNumbers(d.Length, k => d[k], int.MinValue, int.MaxValue), v => (int)v);
            default: throw new InvalidOperationException("Unexpected element storage.");
        }
    }

    private long[] WholeNumbers(int count, Func<int, double> element, double min, double max)
    {
        long[] result = new long[count];
        for (int k = 0; k < count; k++)
        {
            double v = element(k);
            // max + 1 is exact for both ranges (2^31, and 2^63 since (double)long.MaxValue already is 2^63).
            if (v != Math.Floor(v) || !(v >= min && v < max + 1))
                throw new DataFormatException(Path, $"element {k} is {v}, not a whole number{(min == int.MinValue ? " in the int32 range" : "")}; expected integer values such as class labels");
            result[k] = (long)v;
        }
        return result;
    }
}
