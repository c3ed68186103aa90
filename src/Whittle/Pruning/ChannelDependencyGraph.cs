using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Pruning;

/// <summary>
/// The dependency graph of structured pruning. Every producer of channels (a Conv's filters, a
/// Gemm's or MatMul's output features) opens a channel space; the <see cref="IChannelSlicer"/> of
/// each node says how the channels flow through it (unchanged through BatchNorm, activations and
/// pooling; concatenated by Concat; cut by Split; spread into blocks by Flatten) and which
/// initializer axes follow them. Ops that tie channels together (a residual Add, a gating Mul)
/// unite their spaces into one group, pruned atomically. Whatever cannot be proven safe (an
/// unknown op, a Reshape that does not flatten, a grouped convolution, a graph output) marks the
/// spaces it touches as unprunable, with the reason, instead of guessing.
/// </summary>
public sealed class ChannelDependencyGraph
{
    private readonly List<ChannelSpace> _spaces = [];
    private readonly List<int> _parent = [];
    private readonly Dictionary<string, ChannelLayout> _layouts = new(StringComparer.Ordinal);
    private readonly List<TensorSlice> _slices = [];
    private readonly List<AttributeEdit> _edits = [];
    private readonly Dictionary<string, OnnxTensor> _initializers;
    private readonly Dictionary<string, OnnxTensor> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long[]> _shapes;
    private readonly Dictionary<string, long> _macs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _macWeights = new(StringComparer.Ordinal);
    private readonly List<(string Node, string Op)> _producers = [];

    private ChannelDependencyGraph(OnnxModel model, Dictionary<string, long[]> shapes)
    {
        Model = model;
        _shapes = shapes;
        _initializers = model.Graph.Initializers.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var n in model.Graph.Nodes)
            if (n.OpType == "Constant" && n.Domain.Length == 0 && n.Outputs.Count == 1 && n.GetTensor("value") is { } v)
                _constants[n.Outputs[0]] = v;
    }

    /// <summary>The analysed model (a private copy).</summary>
    public OnnxModel Model { get; }

    /// <summary>
    /// Analyses a model. Static shapes come from one ONNX Runtime run at batch 1 on generated
    /// inputs (every intermediate value captured), which also proves the model runs.
    /// </summary>
    /// <exception cref="OnnxException">The graph is invalid.</exception>
    /// <exception cref="RuntimeException">ONNX Runtime cannot run the model.</exception>
    public static ChannelDependencyGraph Build(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.Validate().ThrowIfInvalid(model.SourcePath ?? model.Graph.Name);
        var copy = model.Clone();
        var graph = new ChannelDependencyGraph(copy, CaptureShapes(copy));
        graph.Trace();
        return graph;
    }

    private static Dictionary<string, long[]> CaptureShapes(OnnxModel model)
    {
        var names = IntermediateCapture.NodeOutputs(model);
        using var probe = new OnnxRuntimeSession(model, RuntimeOptions.Default.WithOptimization(GraphOptimization.Disabled));
        var inputs = probe.SampleInputs(probe.Inputs.Select(i => i.FixedBatchSize).FirstOrDefault(b => b is not null) ?? 1);
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var (name, t) in inputs) shapes[name] = t.Shape;
        foreach (var (name, t) in IntermediateCapture.Capture(model, inputs, names, RuntimeOptions.Default.WithOptimization(GraphOptimization.Disabled)))
            shapes[name] = t.Shape;
        foreach (var init in model.Graph.Initializers) shapes[init.Name] = init.Dims;
        return shapes;
    }

    // ---- tracing ---------------------------------------------------------------------------

    private void Trace()
    {
        var graph = Model.Graph;
        foreach (var input in graph.Inputs)
        {
            if (!_shapes.TryGetValue(input.Name, out var shape) || shape.Length < 2) continue;
            int space = NewSpace((int)shape[1], $"graph input '{input.Name}'", "", "input");
            MarkSpace(space, $"graph input '{input.Name}' has fixed channels");
            _layouts[input.Name] = ChannelLayout.Single(shape.Length, 1, space);
        }
        foreach (var node in graph.TopologicalOrder())
        {
            if (node.Proto.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0))
            {
                // Subgraphs read outer values the slicers cannot see: nothing they read may change.
                foreach (var v in OnnxGraph.NodeDependencies(node.Proto)) MarkValue(v, $"{Describe(node)} has subgraphs");
                continue;
            }
            var slicer = node.Domain.Length == 0 ? ChannelSlicers.Find(node.OpType) : null;
            if (slicer is null)
            {
                MarkInputs(node, $"{Describe(node)}: operator not proven channel-safe");
                continue;
            }
            slicer.Trace(node, this);
        }
        foreach (var output in graph.Outputs) MarkValue(output.Name, $"reaches graph output '{output.Name}'");

        // An initializer cut for one reader must not feed another reader that expects the old shape.
        foreach (var group in _slices.GroupBy(s => s.Initializer))
        {
            var readers = graph.FindConsumers(group.Key).Select(n => n.DisplayName).Distinct().ToList();
            var constantReaders = _constants.ContainsKey(group.Key) ? 1 : 0;
            if (readers.Count + constantReaders > 1 || graph.Outputs.Any(o => o.Name == group.Key))
                foreach (var s in group) MarkLayout(s.Layout, $"initializer '{group.Key}' is shared by {string.Join(", ", readers)}");
        }
    }

    // ---- services for the slicers ------------------------------------------------------------

    internal IReadOnlyDictionary<string, long[]> Shapes => _shapes;

    internal ChannelLayout? LayoutOf(string value) => value.Length > 0 && _layouts.TryGetValue(value, out var l) ? l : null;

    internal void SetLayout(string value, ChannelLayout layout)
    {
        if (value.Length > 0) _layouts[value] = layout;
    }

    internal long[]? ShapeOf(string value) => _shapes.TryGetValue(value, out var s) ? s : null;

    /// <summary>The float initializer (not a graph input that callers may override) of this name, or null.</summary>
    internal OnnxTensor? Initializer(string name) =>
        name.Length > 0 && _initializers.TryGetValue(name, out var t) && Model.Graph.AllInputs.All(i => i.Name != name) ? t : null;

    /// <summary>A constant value: an initializer or a Constant node's tensor.</summary>
    internal OnnxTensor? Constant(string name) => Initializer(name) ?? (_constants.TryGetValue(name, out var c) ? c : null);

    internal int NewSpace(int size, string origin, string producerNode, string producerOp)
    {
        var s = new ChannelSpace(_spaces.Count, size, origin, producerNode, producerOp);
        _spaces.Add(s);
        _parent.Add(s.Id);
        if (producerNode.Length > 0) _producers.Add((producerNode, producerOp));
        return s.Id;
    }

    internal int Size(ChannelLayout layout) => layout.Spaces.Sum(s => _spaces[s].Size);

    internal void Slice(string initializer, int axis, ChannelLayout layout, OnnxNode node, SliceRole role = SliceRole.Sliced) =>
        _slices.Add(new TensorSlice(initializer, axis, layout, node.DisplayName, role));

    internal void Edit(AttributeEdit edit) => _edits.Add(edit);

    internal void CountMacs(OnnxNode node, string weight, string output)
    {
        if (ShapeOf(output) is not { } shape || shape.Length == 0 || Initializer(weight) is not { } w) return;
        long outElements = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        long outChannels = node.OpType is "Conv" or "ConvTranspose" ? shape.Length > 1 ? shape[1] : 1 : shape[^1];
        if (outChannels == 0) return;
        // MACs per sample = (output positions per channel) x (weight elements): exact for Conv, depthwise, Gemm, MatMul.
        _macs[node.DisplayName] = outElements / outChannels * w.ElementCount;
        _macWeights[node.DisplayName] = weight;
    }

    /// <summary>Ties two layouts channel for channel (a residual Add); false when they cannot be proven to match.</summary>
    internal bool Unite(ChannelLayout a, ChannelLayout b)
    {
        if (!a.SameStructure(b)) return false;
        for (int i = 0; i < a.Spaces.Count; i++)
            if (_spaces[a.Spaces[i]].Size != _spaces[b.Spaces[i]].Size) return false;
        for (int i = 0; i < a.Spaces.Count; i++)
        {
            int ra = Find(a.Spaces[i]), rb = Find(b.Spaces[i]);
            if (ra != rb) _parent[Math.Max(ra, rb)] = Math.Min(ra, rb);
        }
        return true;
    }

    internal void MarkLayout(ChannelLayout layout, string reason)
    {
        foreach (var s in layout.Spaces) MarkSpace(s, reason);
    }

    internal void MarkValue(string value, string reason)
    {
        if (LayoutOf(value) is { } l) MarkLayout(l, reason);
    }

    internal void MarkInputs(OnnxNode node, string reason)
    {
        foreach (var i in node.Inputs) MarkValue(i, reason);
    }

    private void MarkSpace(int space, string reason)
    {
        var s = _spaces[space];
        if (!s.Unprunable.Contains(reason)) s.Unprunable.Add(reason);
    }

    internal static string Describe(OnnxNode node) => $"{node.DisplayName} ({node.OpType})";

    private int Find(int s)
    {
        while (_parent[s] != s)
        {
            _parent[s] = _parent[_parent[s]];
            s = _parent[s];
        }
        return s;
    }

    // ---- results for the planner ---------------------------------------------------------------

    internal IReadOnlyList<ChannelSpace> Spaces => _spaces;

    internal IReadOnlyList<TensorSlice> Slices => _slices;

    internal IReadOnlyList<AttributeEdit> Edits => _edits;

    internal IReadOnlyDictionary<string, long> Macs => _macs;

    internal IReadOnlyDictionary<string, string> MacWeights => _macWeights;

    /// <summary>Producer nodes (name, op) in graph order: what exclusions may name.</summary>
    internal IReadOnlyList<(string Node, string Op)> Producers => _producers;

    /// <summary>The groups: spaces united by ties, each listed by its members' ids (smallest root first).</summary>
    internal IReadOnlyList<IReadOnlyList<int>> Groups() =>
        _spaces.GroupBy(s => Find(s.Id)).OrderBy(g => g.Key).Select(g => (IReadOnlyList<int>)g.Select(s => s.Id).ToList()).ToList();

    /// <summary>Number of channel groups (including unprunable ones).</summary>
    public int GroupCount => Groups().Count;
}
