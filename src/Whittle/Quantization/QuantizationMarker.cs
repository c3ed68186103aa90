using Whittle.Onnx;

namespace Whittle.Quantization;

/// <summary>What static quantization decided for one node.</summary>
/// <param name="Node">The node's display name.</param>
/// <param name="OpType">Its op type.</param>
/// <param name="Quantized">Whether its tensors were marked.</param>
/// <param name="Reason">Why it stays float (excluded, unsupported, constant weight missing...), or how it was handled.</param>
public sealed record NodeDecision(string Node, string OpType, bool Quantized, string? Reason);

/// <summary>The marks for one model, and the decision for every node.</summary>
/// <param name="Marks">Tensor marks by name.</param>
/// <param name="FusedActivationOutputs">Outputs of Relu/Clip nodes absorbed into the producer's quantized output.</param>
/// <param name="Nodes">One decision per node, in graph order.</param>
public sealed record MarkingResult(IReadOnlyDictionary<string, TensorMark> Marks, IReadOnlySet<string> FusedActivationOutputs, IReadOnlyList<NodeDecision> Nodes)
{
    /// <summary>The activations whose ranges calibration must measure (marks of other kinds need no data).</summary>
    public IReadOnlyList<string> ActivationsToCalibrate =>
        Marks.Values.OfType<ActivationMark>().Select(m => m.Tensor).Order(StringComparer.Ordinal).ToList();
}

/// <summary>
/// Runs the per-op quantizers over a graph in topological order and collects their marks; the
/// graph itself is not changed (mark, then rewrite).
/// </summary>
public static class QuantizationMarker
{
    /// <summary>Every op type Whittle's own quantizers handle (<see cref="OpQuantizerRegistry.Default"/>).</summary>
    public static IReadOnlySet<string> SupportedOpTypes { get; } = OpQuantizerRegistry.Default.OpTypes;

    /// <summary>
    /// Marks <paramref name="model"/>'s tensors with the quantizers of
    /// <see cref="StaticQuantizationOptions.OpQuantizers"/>. <paramref name="floatNodes"/> are node names kept
    /// in float on top of <see cref="StaticQuantizationOptions.Exclude"/> (the latency placement's choice).
    /// </summary>
    /// <exception cref="InvalidOptionException">An option is invalid, or an exclusion rule matches no node name and no op type of the graph.</exception>
    public static MarkingResult Mark(OnnxModel model, StaticQuantizationOptions options, IReadOnlySet<string>? floatNodes = null)
    {
        var graph = model.Graph;
        var nodes = graph.TopologicalOrder();
        var excluded = ExclusionRules.Resolve(graph, options.Exclude, nameof(options.Exclude));
        var opTypes = options.OpTypes?.ToHashSet(StringComparer.Ordinal);
        var quantizers = options.OpQuantizers;

        string? Exclusion(OnnxNode n)
        {
            if (n.Domain.Length != 0 || quantizers.Find(n.OpType) is null) return "op type not quantized";
            if (opTypes is not null && !opTypes.Contains(n.OpType)) return "op type not selected";
            if (excluded.TryGetValue(n.DisplayName, out var rule)) return $"excluded by rule '{rule}'";
            if (floatNodes is not null && floatNodes.Contains(n.DisplayName)) return "kept in float: faster on this machine";
            return null;
        }

        var context = new MarkingContext(graph, n => Exclusion(n) is null, options.SymmetricActivations);
        var decisions = new List<NodeDecision>();
        foreach (var node in nodes)
        {
            var reason = Exclusion(node) ?? quantizers.Find(node.OpType)!.Mark(node, context);
            var fused = context.IsFusedActivation(node);
            decisions.Add(new NodeDecision(node.DisplayName, node.OpType, reason is null, fused ? "absorbed into its producer's quantized output" : reason));
        }
        return new MarkingResult(new Dictionary<string, TensorMark>(context.Marks, StringComparer.Ordinal),
            context.FusedActivationOutputs.ToHashSet(StringComparer.Ordinal), decisions);
    }
}
