using Whittle.Onnx;

namespace Whittle.Quantization;

/// <summary>
/// What per-op quantizers see and call: the graph's constants, and the marks they set. Conflicts
/// resolve one way: a value that an op passes through unchanged (MaxPool, Reshape...) keeps its
/// input's parameters even when a consumer also wants it as an activation, and a weight shared by
/// nodes that disagree on the channel axis falls back to one scale.
/// </summary>
public sealed class MarkingContext
{
    private readonly OnnxGraph _graph;
    private readonly Dictionary<string, OnnxTensor> _initializers;
    private readonly HashSet<string> _graphOutputs;
    private readonly HashSet<string> _subgraphReads;
    private readonly Func<OnnxNode, bool> _isQuantized;
    private readonly Dictionary<string, TensorMark> _marks = new(StringComparer.Ordinal);
    private readonly HashSet<string> _fused = new(StringComparer.Ordinal);

    internal MarkingContext(OnnxGraph graph, Func<OnnxNode, bool> isQuantized, bool symmetricActivations)
    {
        _graph = graph;
        _initializers = graph.Initializers.ToDictionary(t => t.Name, StringComparer.Ordinal);
        _graphOutputs = graph.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        // Values If/Loop/Scan bodies read from the outer scope: the rewriter cannot point those reads at a DequantizeLinear.
        _subgraphReads = graph.Nodes.SelectMany(n => OnnxGraph.NodeDependencies(n.Proto).Skip(n.Inputs.Count(i => i.Length > 0))).ToHashSet(StringComparer.Ordinal);
        _isQuantized = isQuantized;
        SymmetricActivations = symmetricActivations;
    }

    /// <summary>Activations are int8 symmetric (zero point 0), so a ReLU cannot be absorbed by the quantizer's clipping.</summary>
    public bool SymmetricActivations { get; }

    /// <summary>The marks so far, by tensor name.</summary>
    public IReadOnlyDictionary<string, TensorMark> Marks => _marks;

    /// <summary>Outputs of Relu/Clip nodes absorbed into their producer's quantized output.</summary>
    public IReadOnlySet<string> FusedActivationOutputs => _fused;

    /// <summary>Whether <paramref name="name"/> is an initializer.</summary>
    public bool IsInitializer(string name) => _initializers.ContainsKey(name);

    /// <summary>Whether <paramref name="name"/> is a float32 initializer.</summary>
    public bool IsFloatInitializer(string name) => _initializers.TryGetValue(name, out var t) && t.DataType == OnnxDataType.Float;

    /// <summary>The initializer named <paramref name="name"/>, or null.</summary>
    public OnnxTensor? Initializer(string name) => _initializers.GetValueOrDefault(name);

    /// <summary>Marks an activation (ignored for constants and empty names).</summary>
    public void Activation(string tensor)
    {
        if (tensor.Length == 0 || IsInitializer(tensor)) return;
        _marks.TryAdd(tensor, new ActivationMark(tensor));
    }

    /// <summary>Marks a float initializer as an int8 weight, per channel on <paramref name="axis"/> or per tensor.</summary>
    public void Weight(string tensor, int? axis)
    {
        if (_marks.TryGetValue(tensor, out var existing) && existing is WeightMark w && w.Axis != axis)
            _marks[tensor] = new WeightMark(tensor, null);
        else
            _marks.TryAdd(tensor, new WeightMark(tensor, axis));
    }

    /// <summary>Marks a bias initializer as int32 with scale input scale × weight scale.</summary>
    public void Bias(string tensor, string input, string weight)
    {
        if (_marks.TryGetValue(tensor, out var existing))
        {
            // A bias shared by nodes with different inputs cannot have one integer scale: keep it float.
            if (existing is BiasMark b && (b.Input != input || b.Weight != weight)) _marks.Remove(tensor);
            return;
        }
        _marks[tensor] = new BiasMark(tensor, input, weight);
    }

    /// <summary>Marks <paramref name="tensor"/> to reuse <paramref name="source"/>'s scale and zero point.</summary>
    public void Shared(string tensor, string source)
    {
        if (tensor.Length == 0) return;
        _marks[tensor] = new SharedMark(tensor, source);
    }

    /// <summary>
    /// The value that carries <paramref name="node"/>'s quantized output: its own output, or the
    /// output of a Relu (or Clip with min 0) that is its only consumer. With asymmetric activations
    /// that Relu is absorbed, because the output's zero point is the type's minimum and
    /// QuantizeLinear's saturation clips negatives exactly as the Relu did; ONNX Runtime then fuses
    /// DQ→Conv→Q into one integer kernel. The clipping happens only in that QuantizeLinear, so the
    /// Relu is absorbed only where every reader of its output reads the dequantized value: never
    /// when its output is a graph output (those keep the float value) or is read inside a subgraph.
    /// </summary>
    public string OutputOf(OnnxNode node)
    {
        var output = node.Outputs[0];
        if (SymmetricActivations || !OnlyNodesRead(output)) return output;
        var consumers = _graph.FindConsumers(output);
        if (consumers.Count != 1) return output;
        var act = consumers[0];
        if (!IsZeroClippingActivation(act) || act.Inputs[0] != output || act.Outputs.Count != 1 || !_isQuantized(act)) return output;
        var activated = act.Outputs[0];
        if (activated.Length == 0 || !OnlyNodesRead(activated) || _graph.FindConsumers(activated).Count == 0) return output;
        _fused.Add(activated);
        return activated;
    }

    /// <summary>Whether <paramref name="value"/> is read only through node inputs (not a graph output, not read by a subgraph).</summary>
    private bool OnlyNodesRead(string value) => !_graphOutputs.Contains(value) && !_subgraphReads.Contains(value);

    /// <summary>Whether <paramref name="node"/> is a Relu/Clip absorbed into its producer.</summary>
    public bool IsFusedActivation(OnnxNode node) =>
        node.OpType is "Relu" or "Clip" && node.Outputs.Count > 0 && _fused.Contains(node.Outputs[0]);

    private bool IsZeroClippingActivation(OnnxNode node)
    {
        if (node.Domain.Length != 0) return false;
        if (node.OpType == "Relu") return true;
        if (node.OpType != "Clip") return false;
        if (node.HasAttribute("min")) return node.GetFloat("min") == 0f;
        if (node.Inputs.Count < 2 || node.Inputs[1].Length == 0) return false;
        return Initializer(node.Inputs[1]) is { } min && min.ElementCount == 1 && min.ToFloatArray()[0] == 0f;
    }
}
