using System.Text.RegularExpressions;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Quantization;

/// <summary>One node's measured cost in float and in int8, and the choice made.</summary>
/// <param name="Node">The node (display name in the prepared float graph).</param>
/// <param name="OpType">Its op type.</param>
/// <param name="FloatMs">ORT kernel time of the node in the float model (with whatever ORT fused into it).</param>
/// <param name="Int8Ms">Kernel time in the all-int8 candidate, including the QuantizeLinear/DequantizeLinear nodes ORT could not fuse into it.</param>
/// <param name="Quantized">Whether the written model runs it in int8.</param>
public sealed record PlacementRow(string Node, string OpType, double FloatMs, double Int8Ms, bool Quantized);

/// <summary>The latency placement: which nodes stay float, and the profiles behind the decision.</summary>
/// <param name="FloatNodes">Nodes kept in float because their int8 form was slower here.</param>
/// <param name="Rows">One row per quantizable node, slowest first in float.</param>
/// <param name="FloatTotalMs">Sum of kernel times of the float model.</param>
/// <param name="AllInt8TotalMs">Sum of kernel times of the naive all-int8 model.</param>
/// <param name="PlacedTotalMs">Sum of kernel times of the placed model.</param>
/// <param name="OverheadFloatMs">Kernel time in nodes ORT inserted in the float model (layout reorders) that belong to no original node.</param>
/// <param name="OverheadInt8Ms">The same for the all-int8 model (NHWC transposes, unfused conversions).</param>
/// <param name="KeptAllInt8">Some nodes were slower in int8, but every model with them in float measured slower overall, so all stay int8.</param>
public sealed record PlacementResult(IReadOnlySet<string> FloatNodes, IReadOnlyList<PlacementRow> Rows,
    double FloatTotalMs, double AllInt8TotalMs, double PlacedTotalMs, double OverheadFloatMs, double OverheadInt8Ms, bool KeptAllInt8);

/// <summary>
/// Hardware-aware placement of int8: ONNX Runtime's integer kernels are much faster than float
/// for some layers and much slower for others (a first convolution with one input channel, a
/// pooling left in NCHW), so a naive all-int8 model can be slower than float. This profiles the
/// float and the all-int8 model with ORT's own profiler on this machine, attributes every
/// kernel's time to a node of the float graph, and proposes keeping in float the nodes whose int8
/// form is slower (all of them, or only the convolutions/matmuls among them); each proposal is
/// profiled as a whole model and the fastest of them and the all-int8 model wins.
/// </summary>
public static partial class LatencyPlacement
{
    private static readonly IReadOnlySet<string> ComputeOps = new HashSet<string>(StringComparer.Ordinal) { "Conv", "ConvTranspose", "Gemm", "MatMul" };

    /// <summary>Chooses which nodes stay float, profiling at the batch in <paramref name="inputs"/>.</summary>
    public static PlacementResult Choose(PreparedModel prepared, IReadOnlyDictionary<string, CalibratedRange> ranges, StaticQuantizationOptions options,
        IReadOnlyDictionary<string, RuntimeTensor> inputs, RuntimeOptions? runtime = null, int runs = 10)
    {
        var floatProfile = NodeProfiler.Measure(prepared.Model, inputs, runs, 2, runtime);
        var (allInt8, marking) = StaticQuantizer.Apply(prepared, ranges, options);
        var int8Profile = NodeProfiler.Measure(allInt8.Model, inputs, runs, 2, runtime);
        var attribution = new Attribution(prepared.Model);
        var (floatByNode, floatOverhead) = attribution.Assign(floatProfile);
        var (int8ByNode, int8Overhead) = attribution.Assign(int8Profile);

        var quantizable = marking.Nodes.Where(n => n.Quantized && n.Reason is null).ToList();
        var floatNodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in quantizable)
        {
            double f = floatByNode.GetValueOrDefault(n.Node), q = int8ByNode.GetValueOrDefault(n.Node);
            // A small margin keeps measurement noise on tiny kernels from flipping decisions.
            if (q > f * 1.05 + 0.002) floatNodes.Add(n.Node);
        }

        // Candidates: every slower node float, or only the slower convolutions/matmuls float (moving a
        // cheap Add or pool to float can break ORT's fusions around it), or all-int8. Profile each, keep the fastest.
        double allInt8Total = int8Profile.Sum(t => t.MedianMs);
        double placedTotal = allInt8Total;
        var chosen = new HashSet<string>(StringComparer.Ordinal);
        var byName = quantizable.ToDictionary(n => n.Node, StringComparer.Ordinal);
        var computeOnly = floatNodes.Where(n => byName.TryGetValue(n, out var d) && ComputeOps.Contains(d.OpType)).ToHashSet(StringComparer.Ordinal);
        var candidates = new List<HashSet<string>> { floatNodes };
        if (computeOnly.Count > 0 && computeOnly.Count < floatNodes.Count) candidates.Add(computeOnly);
        foreach (var candidate in candidates.Where(c => c.Count > 0))
        {
            AddTrailingActivations(prepared.Model.Graph, candidate);
            var (placed, _) = StaticQuantizer.Apply(prepared, ranges, options, candidate);
            var total = NodeProfiler.Measure(placed.Model, inputs, runs, 2, runtime).Sum(t => t.MedianMs);
            if (total < placedTotal)
            {
                placedTotal = total;
                chosen = candidate;
            }
        }

        var rows = quantizable
            .Select(n => new PlacementRow(n.Node, n.OpType, floatByNode.GetValueOrDefault(n.Node), int8ByNode.GetValueOrDefault(n.Node), !chosen.Contains(n.Node)))
            .OrderByDescending(r => Math.Max(r.FloatMs, r.Int8Ms)).ToList();
        return new PlacementResult(chosen, rows, floatProfile.Sum(t => t.MedianMs), allInt8Total, placedTotal, floatOverhead, int8Overhead,
            floatNodes.Count > 0 && chosen.Count == 0);
    }

    /// <summary>A Relu/Clip right after a float node stays float with it (quantizing it alone would add conversions, not speed).</summary>
    private static void AddTrailingActivations(OnnxGraph g, HashSet<string> floatNodes)
    {
        foreach (var n in g.Nodes.Where(n => floatNodes.Contains(n.DisplayName)).ToList())
        {
            var consumers = g.FindConsumers(n.Outputs[0]);
            if (consumers.Count == 1 && consumers[0].OpType is "Relu" or "Clip") floatNodes.Add(consumers[0].DisplayName);
        }
    }

    /// <summary>
    /// Maps ORT's kernel names back to nodes of the float graph: ORT keeps an original node's name
    /// (plus "_token_N" for nodes it rebuilt), or names a fused/NCHWc node after its output value;
    /// our QuantizeLinear/DequantizeLinear are named after the value they convert and count for its consumer;
    /// an absorbed Relu counts for the Conv/Gemm before it.
    /// </summary>
    private sealed partial class Attribution
    {
        private readonly Dictionary<string, OnnxNode> _byKey = new(StringComparer.Ordinal);
        private readonly Dictionary<string, OnnxNode> _consumerOf = new(StringComparer.Ordinal);

        public Attribution(OnnxModel prepared)
        {
            var g = prepared.Graph;
            foreach (var n in g.Nodes)
            {
                var owner = Owner(g, n);
                if (n.Name.Length > 0) _byKey.TryAdd(n.Name, owner);
                foreach (var o in n.Outputs.Where(o => o.Length > 0)) _byKey.TryAdd(o, owner);
                foreach (var i in n.Inputs.Where(i => i.Length > 0)) _consumerOf.TryAdd(i, owner);
            }
        }

        public (Dictionary<string, double> ByNode, double Overhead) Assign(IReadOnlyList<NodeTime> profile)
        {
            var byNode = new Dictionary<string, double>(StringComparer.Ordinal);
            double overhead = 0;
            foreach (var t in profile)
            {
                var node = Find(t.Node);
                if (node is null) overhead += t.MedianMs;
                else byNode[node.DisplayName] = byNode.GetValueOrDefault(node.DisplayName) + t.MedianMs;
            }
            return (byNode, overhead);
        }

        private OnnxNode? Find(string profileName)
        {
            var name = profileName.StartsWith("fused ", StringComparison.Ordinal) ? profileName[6..] : profileName;
            for (int i = 0; i < 4; i++)
            {
                if (_byKey.TryGetValue(name, out var n)) return n;
                var m = ConversionSuffix().Match(name);
                if (m.Success && _consumerOf.TryGetValue(m.Groups[1].Value, out var c)) return c;
                var stripped = DecorationSuffix().Replace(name, "");
                if (stripped == name) break;
                name = stripped;
            }
            return null;
        }

        private static OnnxNode Owner(OnnxGraph g, OnnxNode n)
        {
            if (n.OpType is "Relu" or "Clip" && g.FindProducer(n.Inputs[0]) is { } p && ComputeOps.Contains(p.OpType)
                && g.FindConsumers(n.Inputs[0]).Count == 1)
                return p;
            return n;
        }

        [GeneratedRegex(@"^(.*)_(?:QuantizeLinear|DequantizeLinear)(?:_\d+)?$")]
        private static partial Regex ConversionSuffix();

        [GeneratedRegex(@"(?:_token_\d+|_nchwc|_output_\d+_nchwc)$")]
        private static partial Regex DecorationSuffix();
    }
}
