using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>
/// A tensor flowing through a graph that an <see cref="OnnxGraphBuilder"/> is building: its value
/// name, element type and shape. The builder knows every shape so that each layer can size its
/// weights from its input (a convolution needs the input's channel count).
/// </summary>
public sealed class GraphValue
{
    /// <summary>Marks a dimension whose size is only known at run time (the batch, a sequence length).</summary>
    public const long DynamicDimension = -1;

    internal GraphValue(OnnxGraphBuilder owner, string name, OnnxDataType elementType, long[] shape)
    {
        Owner = owner;
        Name = name;
        ElementType = elementType;
        Shape = Array.AsReadOnly(shape);
    }

    internal OnnxGraphBuilder Owner { get; }

    /// <summary>The value name in the graph (for a layer's output, the layer name).</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public OnnxDataType ElementType { get; }

    /// <summary>The shape; <see cref="DynamicDimension"/> (-1) marks a size known only at run time.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>The number of dimensions.</summary>
    public int Rank => Shape.Count;

    /// <summary>The size of dimension <paramref name="axis"/> (negative counts from the end), or -1 when dynamic.</summary>
    public long Dimension(int axis) => Shape[NormalizeAxis(axis, Rank)];

    /// <summary>A description such as <c>conv1: float32[?,16,28,28]</c>.</summary>
    public override string ToString() => $"{Name}: {OnnxDataTypes.Name(ElementType)}{FormatShape(Shape)}";

    internal static string FormatShape(IReadOnlyList<long> shape) =>
        "[" + string.Join(",", shape.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";

    internal static int NormalizeAxis(int axis, int rank)
    {
        int normalized = axis < 0 ? axis + rank : axis;
        if (normalized < 0 || normalized >= rank)
            throw new ArgumentOutOfRangeException(nameof(axis), axis, $"axis is outside a rank-{rank} tensor");
        return normalized;
    }
}
