using Google.Protobuf;
using Whittle.Onnx.Proto;

namespace Whittle.Onnx;

/// <summary>
/// One operator invocation in an ONNX graph, with typed attribute access. A view over the
/// protobuf node: edits are seen by the graph that owns it.
/// </summary>
public sealed class OnnxNode
{
    internal NodeProto Proto { get; }
    private readonly string? _baseDirectory;

    internal OnnxNode(NodeProto proto, string? baseDirectory = null)
    {
        Proto = proto;
        _baseDirectory = baseDirectory;
    }

    /// <summary>Creates a detached node; add it to a graph with <see cref="OnnxGraph.AddNode"/>.</summary>
    public OnnxNode(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, string? name = null, string domain = "")
    {
        Proto = new NodeProto { OpType = opType };
        Proto.Input.Add(inputs);
        Proto.Output.Add(outputs);
        if (name is not null) Proto.Name = name;
        if (domain.Length > 0) Proto.Domain = domain;
    }

    /// <summary>The node name (may be empty in models that do not name nodes).</summary>
    public string Name
    {
        get => Proto.Name;
        set => Proto.Name = value;
    }

    /// <summary>The operator type, e.g. <c>Conv</c>.</summary>
    public string OpType => Proto.OpType;

    /// <summary>The operator domain; empty string for the default ONNX domain.</summary>
    public string Domain => Proto.Domain == "ai.onnx" ? "" : Proto.Domain;

    /// <summary>Input value names; an empty string marks an omitted optional input.</summary>
    public IList<string> Inputs => Proto.Input;

    /// <summary>Output value names; an empty string marks an omitted optional output.</summary>
    public IList<string> Outputs => Proto.Output;

    /// <summary>A name for messages: the node name, or its op type and first output when unnamed.</summary>
    public string DisplayName => Proto.Name.Length > 0 ? Proto.Name : $"{OpType}->{(Outputs.Count > 0 ? Outputs[0] : "?")}";

    /// <summary>Names of the attributes present on the node.</summary>
    public IEnumerable<string> AttributeNames => Proto.Attribute.Select(a => a.Name);

    /// <summary>True when the attribute is present (even when it holds a zero).</summary>
    public bool HasAttribute(string name) => Find(name) is not null;

    /// <summary>The attribute's kind, or null when absent.</summary>
    public OnnxAttributeType? GetAttributeType(string name) => Find(name) is { } a ? (OnnxAttributeType)a.Type : null;

    /// <summary>An int attribute, or <paramref name="defaultValue"/> when absent.</summary>
    public long GetInt(string name, long defaultValue) => Find(name) is { } a ? Expect(a, OnnxAttributeType.Int).I : defaultValue;

    /// <summary>A required int attribute.</summary>
    public long GetInt(string name) => Expect(Require(name), OnnxAttributeType.Int).I;

    /// <summary>A float attribute, or <paramref name="defaultValue"/> when absent.</summary>
    public float GetFloat(string name, float defaultValue) => Find(name) is { } a ? Expect(a, OnnxAttributeType.Float).F : defaultValue;

    /// <summary>A required float attribute.</summary>
    public float GetFloat(string name) => Expect(Require(name), OnnxAttributeType.Float).F;

    /// <summary>A string attribute, or <paramref name="defaultValue"/> when absent.</summary>
    public string GetString(string name, string defaultValue) =>
        Find(name) is { } a ? Expect(a, OnnxAttributeType.String).S.ToStringUtf8() : defaultValue;

    /// <summary>A required string attribute.</summary>
    public string GetString(string name) => Expect(Require(name), OnnxAttributeType.String).S.ToStringUtf8();

    /// <summary>An ints attribute, or <paramref name="defaultValue"/> (null when not given) when absent.</summary>
    public long[]? GetInts(string name, long[]? defaultValue = null) =>
        Find(name) is { } a ? Expect(a, OnnxAttributeType.Ints).Ints.ToArray() : defaultValue;

    /// <summary>A floats attribute, or <paramref name="defaultValue"/> when absent.</summary>
    public float[]? GetFloats(string name, float[]? defaultValue = null) =>
        Find(name) is { } a ? Expect(a, OnnxAttributeType.Floats).Floats.ToArray() : defaultValue;

    /// <summary>A strings attribute, or <paramref name="defaultValue"/> when absent.</summary>
    public string[]? GetStrings(string name, string[]? defaultValue = null) =>
        Find(name) is { } a ? Expect(a, OnnxAttributeType.Strings).Strings.Select(s => s.ToStringUtf8()).ToArray() : defaultValue;

    /// <summary>A tensor attribute (e.g. a Constant's value), or null when absent.</summary>
    public OnnxTensor? GetTensor(string name) =>
        Find(name) is { } a ? new OnnxTensor(Expect(a, OnnxAttributeType.Tensor).T, _baseDirectory) : null;

    /// <summary>Sets (or replaces) an int attribute.</summary>
    public void SetAttribute(string name, long value) => Put(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });

    /// <summary>Sets (or replaces) a float attribute.</summary>
    public void SetAttribute(string name, float value) => Put(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value });

    /// <summary>Sets (or replaces) a string attribute.</summary>
    public void SetAttribute(string name, string value) =>
        Put(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) });

    /// <summary>Sets (or replaces) an ints attribute.</summary>
    public void SetAttribute(string name, IEnumerable<long> values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(values);
        Put(a);
    }

    /// <summary>Sets (or replaces) a floats attribute.</summary>
    public void SetAttribute(string name, IEnumerable<float> values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        a.Floats.Add(values);
        Put(a);
    }

    /// <summary>Sets (or replaces) a tensor attribute (a copy of <paramref name="value"/>).</summary>
    public void SetAttribute(string name, OnnxTensor value)
    {
        var copy = new OnnxTensor(value.Proto.Clone(), value.BaseDirectory);
        // An external location is relative to the model the tensor came from, so data from
        // another directory (or for a node not yet in a model) is read in now.
        if (copy.IsExternal && !string.Equals(value.BaseDirectory, _baseDirectory, StringComparison.Ordinal)) copy.Materialize();
        Put(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = copy.Proto });
    }

    /// <summary>Removes an attribute; returns whether it was present.</summary>
    public bool RemoveAttribute(string name)
    {
        var a = Find(name);
        return a is not null && Proto.Attribute.Remove(a);
    }

    /// <summary>A deep copy, detached from any graph.</summary>
    public OnnxNode Clone() => new(Proto.Clone(), _baseDirectory);

    /// <inheritdoc />
    public override string ToString() => $"{DisplayName} ({(Domain.Length > 0 ? Domain + "." : "")}{OpType}): [{string.Join(", ", Inputs)}] -> [{string.Join(", ", Outputs)}]";

    private AttributeProto? Find(string name)
    {
        foreach (var a in Proto.Attribute) if (a.Name == name) return a;
        return null;
    }

    private AttributeProto Require(string name) =>
        Find(name) ?? throw new OnnxException($"node '{DisplayName}' ({OpType}): required attribute '{name}' is missing");

    private AttributeProto Expect(AttributeProto a, OnnxAttributeType type)
    {
        var actual = (OnnxAttributeType)a.Type;
        // IR 1-2 models may leave 'type' unset; infer it from the field that holds a value.
        if (!a.HasType) actual = InferType(a);
        if (actual != type)
            throw new OnnxException($"node '{DisplayName}' ({OpType}): attribute '{a.Name}' is {actual}, expected {type}");
        return a;
    }

    private static OnnxAttributeType InferType(AttributeProto a) =>
        a.HasF ? OnnxAttributeType.Float : a.HasI ? OnnxAttributeType.Int : a.HasS ? OnnxAttributeType.String
        : a.T is not null ? OnnxAttributeType.Tensor : a.G is not null ? OnnxAttributeType.Graph
        : a.Floats.Count > 0 ? OnnxAttributeType.Floats : a.Ints.Count > 0 ? OnnxAttributeType.Ints
        : a.Strings.Count > 0 ? OnnxAttributeType.Strings : OnnxAttributeType.Undefined;

    private void Put(AttributeProto attribute)
    {
        for (int i = 0; i < Proto.Attribute.Count; i++)
        {
            if (Proto.Attribute[i].Name == attribute.Name)
            {
                Proto.Attribute[i] = attribute;
                return;
            }
        }
        Proto.Attribute.Add(attribute);
    }
}

/// <summary>Kinds of ONNX attributes (values of <c>AttributeProto.AttributeType</c>).</summary>
public enum OnnxAttributeType
{
    /// <summary>Not set.</summary>
    Undefined = 0,
    /// <summary>One float.</summary>
    Float = 1,
    /// <summary>One 64-bit integer.</summary>
    Int = 2,
    /// <summary>One string.</summary>
    String = 3,
    /// <summary>One tensor.</summary>
    Tensor = 4,
    /// <summary>One subgraph.</summary>
    Graph = 5,
    /// <summary>A list of floats.</summary>
    Floats = 6,
    /// <summary>A list of 64-bit integers.</summary>
    Ints = 7,
    /// <summary>A list of strings.</summary>
    Strings = 8,
    /// <summary>A list of tensors.</summary>
    Tensors = 9,
    /// <summary>A list of subgraphs.</summary>
    Graphs = 10,
    /// <summary>One sparse tensor.</summary>
    SparseTensor = 11,
    /// <summary>A list of sparse tensors.</summary>
    SparseTensors = 12,
    /// <summary>One type.</summary>
    TypeProto = 13,
    /// <summary>A list of types.</summary>
    TypeProtos = 14,
}
