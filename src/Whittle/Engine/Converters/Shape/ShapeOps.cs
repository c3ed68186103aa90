using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Axis, shape and input-reading helpers shared by the shape-family converters.</summary>
internal static class ShapeOps
{
    /// <summary>An axis in [-rank, rank) turned into [0, rank).</summary>
    public static long Axis(long axis, long rank, string what = "axis")
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
            throw new EngineException($"{what} {axis} is out of range for a tensor of rank {rank}");
        return a;
    }

    /// <summary>Every axis normalized to [0, rank); duplicates are an error.</summary>
    public static long[] Axes(IEnumerable<long> axes, long rank, string what = "axes")
    {
        var result = axes.Select(a => Axis(a, rank, what)).ToArray();
        if (result.Distinct().Count() != result.Length)
            throw new EngineException($"{what} [{string.Join(", ", axes)}] repeat an axis");
        return result;
    }

    /// <summary>The product of the dimensions in [from, to).</summary>
    public static long Product(long[] shape, int from = 0, int to = int.MaxValue)
    {
        long p = 1;
        for (int i = from; i < Math.Min(to, shape.Length); i++) p *= shape[i];
        return p;
    }

    /// <summary>
    /// The values of an optional shape-like input (shapes, axes, pads, sizes), or null when the
    /// input is omitted. These are small int tensors, read at run time because backend tests
    /// (and dynamic graphs) feed them as graph inputs rather than initializers.
    /// </summary>
    public static long[]? OptionalLongs(Tensor?[] inputs, int index) =>
        inputs.At(index) is { } t ? TorchTensors.ToLongs(t) : null;

    /// <summary>A required shape-like input.</summary>
    public static long[] Longs(Tensor?[] inputs, int index, string name) =>
        OptionalLongs(inputs, index) ?? throw new EngineException($"input '{name}' is required");

    /// <summary>The first value of a scalar (or one-element) tensor as a double.</summary>
    public static double Scalar(Tensor t)
    {
        using var flat = t.detach().reshape(-1).to_type(ScalarType.Float64);
        if (flat.shape[0] < 1) throw new EngineException("expected a scalar, got an empty tensor");
        using var first = flat[0];
        return first.item<double>();
    }

    /// <summary>A 1-D int64 tensor on the device of <paramref name="like"/>.</summary>
    public static Tensor LongTensor(long[] values, Tensor like) => tensor(values, dtype: ScalarType.Int64, device: like.device);

    /// <summary>Indices with negative entries counted from the end of a dimension of size <paramref name="size"/>, as int64.</summary>
    public static Tensor WrapNegative(Tensor indices, long size)
    {
        var idx = indices.to_type(ScalarType.Int64);
        return where(idx.lt(0), idx + size, idx);
    }

    /// <summary>
    /// Every initializer input whose element type the Engine cannot hold. The pre-flight pass
    /// checks graph inputs itself; initializers are only seen by the converters that read them.
    /// </summary>
    public static IEnumerable<string> UnsupportedInitializers(OpContext context)
    {
        for (int i = 0; i < context.Node.Inputs.Count; i++)
            if (context.ConstantInput(i) is { } t && !TorchTensors.IsSupported(t.DataType))
                yield return $"input {i} ('{t.Name}') has element type {OnnxDataTypes.Name(t.DataType)}, which the Engine does not support";
    }

    /// <summary>A problem when a string attribute is not one of the accepted values, else nothing.</summary>
    public static IEnumerable<string> RequireOneOf(OnnxNode node, string attribute, string defaultValue, params string[] accepted)
    {
        var value = node.GetString(attribute, defaultValue);
        if (!accepted.Contains(value, StringComparer.Ordinal))
            yield return $"{attribute} '{value}' is not supported (supported: {string.Join(", ", accepted)})";
    }
}
