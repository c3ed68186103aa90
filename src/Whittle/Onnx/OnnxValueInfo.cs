using Whittle.Onnx.Proto;

namespace Whittle.Onnx;

/// <summary>One dimension of a declared tensor shape: a fixed size, a symbolic name, or unknown.</summary>
/// <param name="Value">The fixed size, or null when symbolic or unknown.</param>
/// <param name="Symbol">The symbolic name (e.g. <c>batch</c>), or null.</param>
public readonly record struct OnnxDim(long? Value, string? Symbol)
{
    /// <inheritdoc />
    public override string ToString() => Value?.ToString() ?? (string.IsNullOrEmpty(Symbol) ? "?" : Symbol);
}

/// <summary>
/// A named value with its declared type: a graph input, output or intermediate
/// (<c>ValueInfoProto</c>). A view over the protobuf message.
/// </summary>
public sealed class OnnxValueInfo
{
    internal ValueInfoProto Proto { get; }

    internal OnnxValueInfo(ValueInfoProto proto) => Proto = proto;

    /// <summary>Creates a detached tensor value info.</summary>
    public OnnxValueInfo(string name, OnnxDataType elementType, IEnumerable<OnnxDim>? shape)
    {
        Proto = new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elementType } } };
        if (shape is not null)
        {
            var s = new TensorShapeProto();
            foreach (var d in shape)
            {
                var dim = new TensorShapeProto.Types.Dimension();
                if (d.Value is { } v) dim.DimValue = v;
                else if (d.Symbol is { } p) dim.DimParam = p;
                s.Dim.Add(dim);
            }
            Proto.Type.TensorType.Shape = s;
        }
    }

    /// <summary>The value name.</summary>
    public string Name => Proto.Name;

    /// <summary>True when the value is a tensor (not a sequence, map or optional).</summary>
    public bool IsTensor => Proto.Type?.ValueCase == TypeProto.ValueOneofCase.TensorType;

    /// <summary>The tensor element type, or <see cref="OnnxDataType.Undefined"/> when not a tensor or not declared.</summary>
    public OnnxDataType ElementType => IsTensor ? (OnnxDataType)Proto.Type.TensorType.ElemType : OnnxDataType.Undefined;

    /// <summary>The declared shape, or null when the rank is unknown.</summary>
    public OnnxDim[]? Shape
    {
        get
        {
            if (!IsTensor || Proto.Type.TensorType.Shape is null) return null;
            return Proto.Type.TensorType.Shape.Dim.Select(d => d.ValueCase switch
            {
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => new OnnxDim(d.DimValue, null),
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => new OnnxDim(null, d.DimParam),
                _ => new OnnxDim(null, null),
            }).ToArray();
        }
    }

    /// <summary>A description such as <c>float32[batch,1,28,28]</c>.</summary>
    public string TypeDescription => !IsTensor
        ? (Proto.Type?.ValueCase.ToString() ?? "untyped")
        : $"{OnnxDataTypes.Name(ElementType)}[{(Shape is { } s ? string.Join(",", s.Select(d => d.ToString())) : "...")}]";

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {TypeDescription}";
}
