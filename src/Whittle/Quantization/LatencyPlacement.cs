using System.Text.RegularExpressions;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Quantization;

/// <summary>One node's measured cost in float and in int8 at one batch size, and the choice made.</summary>
/// <param name="Node">The node (display name in the prepared float graph).</param>
/// <param name="OpType">Its op type.</param>
/// <param name="FloatMs">ORT kernel time of the node in the float model (with whatever ORT fused into it).</param>
/// <param name="Int8Ms">Kernel time in the all-int8 candidate, including the QuantizeLinear/DequantizeLinear nodes ORT could not fuse into it.</param>
/// <param name="Quantized">Whether the written model runs it in int8.</param>
/// <param name="Batch">The batch size profiled.</param>
public sealed record PlacementRow(string Node, string OpType, double FloatMs, double Int8Ms, bool Quantized, int Batch = 0);

/// <summary>Sums of the per-node profiles at one batch size (kernel time only: what proposes candidates, not what decides).</summary>
/// <param name="Batch">The batch size.</param>
/// <param name="FloatTotalMs">Sum of kernel times of the float model.</param>
/// <param name="AllInt8TotalMs">Sum of kernel times of the naive all-int8 model.</param>
/// <param name="OverheadFloatMs">Kernel time in nodes ORT inserted in the float model (layout reorders) that belong to no original node.</param>
/// <param name="OverheadInt8Ms">The same for the all-int8 model (NHWC transposes, unfused conversions).</param>
public sealed record ProfileTotals(int Batch, double FloatTotalMs, double AllInt8TotalMs, double OverheadFloatMs, double OverheadInt8Ms);

/// <summary>The latency placement: which nodes stay float, the profiles that proposed the candidates and the timings that chose among them.</summary>
/// <param name="FloatNodes">Nodes kept in float (the chosen candidate's).</param>
/// <param name="Rows">One row per quantizable node and batch size, slowest first in float within a batch.</param>
/// <param name="Profiles">Profile sums per batch size.</param>
/// <param name="Choice">Every candidate's whole-model timing against float and the decision (<see cref="LatencyDecision"/>).</param>
/// <param name="KeptAllInt8">Some nodes profiled slower in int8, but no model with them in float was faster than all-int8 beyond the noise, so all stay int8.</param>
public sealed record PlacementResult(IReadOnlySet<string> FloatNodes, IReadOnlyList<PlacementRow> Rows, IReadOnlyList<ProfileTotals> Profiles,
    LatencyChoice Choice, bool KeptAllInt8)
{
    /// <summary>The chosen candidate is faster than float beyond the noise at every batch size (from the placement's own timing).</summary>
    public bool Faster => Choice.Faster;

    /// <summary>Every candidate's timing (the chosen one marked).</summary>
    public IReadOnlyList<CandidateLatency> Candidates => Choice.Candidates;
}

/// <summary>
/// Hardware-aware placement of int8: ONNX Runtime's integer kernels are much faster than float
/// for some layers and much slower for others (a first convolution with one input channel, a
/// pooling left in NCHW), so a naive all-int8 model can be slower than float. ORT's own profiler
/// (float and all-int8 model, every batch size of the set) proposes candidates: keep in float the
/// nodes whose int8 kernels are slower (all of them, or only the convolutions/matmuls among them).
/// The profile only proposes: kernel sums miss the threads' idle time and the layout work between
/// kernels, and one profile on a shared machine is noise. The decision is made on whole-model
/// timings: float, all-int8 and every proposal timed together in rounds (<see cref="ILatencyTimer"/>)
/// at every batch size, chosen by <see cref="LatencyDecision.Choose"/>.
/// </summary>
public static partial class LatencyPlacement
{
    private static readonly IReadOnlySet<string> ComputeOps = new HashSet<string>(StringComparer.Ordinal) { "Conv", "ConvTranspose", "Gemm", "MatMul" };

    /// <summary>The name of the candidate with every quantizable node in int8.</summary>
    public const string AllInt8 = "all-int8";

    /// <summary>Chooses which nodes stay float at the one batch in <paramref name="inputs"/> (timed in ONNX Runtime).</summary>
    public static PlacementResult Choose(PreparedModel prepared, IReadOnlyDictionary<string, CalibratedRange> ranges, StaticQuantizationOptions options,
        IReadOnlyDictionary<string, RuntimeTensor> inputs, RuntimeOptions? runtime = null, int runs = 10) =>
        Choose(prepared, ranges, options, [inputs], runtime, null, runs);

    /// <summary>Chooses which nodes stay float for a set of batch sizes: the best placement over the set.</summary>
    /// <param name="prepared">The prepared float model.</param>
    /// <param name="ranges">Calibrated ranges of its values.</param>
    /// <param name="options">How nodes are quantized.</param>
    /// <param name="inputsPerBatch">One input batch per batch size of the set (the batch size is their first dimension).</param>
    /// <param name="runtime">Session settings (threads); timing turns spinning off.</param>
    /// <param name="timer">Where whole-model timings come from; null for ONNX Runtime (<see cref="OrtLatencyTimer.Default"/>).</param>
    /// <param name="runs">Profiled runs per model and batch (after 2 warm-ups).</param>
    public static PlacementResult Choose(PreparedModel prepared, IReadOnlyDictionary<string, CalibratedRange> ranges, StaticQuantizationOptions options,
        IReadOnlyList<IReadOnlyDictionary<string, RuntimeTensor>> inputsPerBatch, RuntimeOptions? runtime, ILatencyTimer? timer, int runs = 10)
    {
        ArgumentNullException.ThrowIfNull(prepared);
        ArgumentNullException.ThrowIfNull(inputsPerBatch);
        if (inputsPerBatch.Count == 0) throw new ArgumentException("place for at least one batch size", nameof(inputsPerBatch));
        runtime ??= RuntimeOptions.ForComparison();
        timer ??= OrtLatencyTimer.Default;
        var batches = inputsPerBatch.Select(BatchOf).ToList();
        var (allInt8, marking) = StaticQuantizer.Apply(prepared, ranges, options);
        var attribution = new Attribution(prepared.Model);
        var quantizable = marking.Nodes.Where(n => n.Quantized && n.Reason is null).ToList();
        var byName = quantizable.ToDictionary(n => n.Node, StringComparer.Ordinal);

        // Proposals from the profiles at every batch size: every slower node float, or only the slower
        // convolutions/matmuls float (moving a cheap Add or pool to float can break ORT's fusions around it).
        var proposals = new List<HashSet<string>>();
        var profiled = new List<(int Batch, Dictionary<string, double> Float, Dictionary<string, double> Int8)>();
        var totals = new List<ProfileTotals>();
        bool anySlower = false;
        for (int b = 0; b < batches.Count; b++)
        {
            var floatProfile = NodeProfiler.Measure(prepared.Model, inputsPerBatch[b], runs, 2, runtime);
            var int8Profile = NodeProfiler.Measure(allInt8.Model, inputsPerBatch[b], runs, 2, runtime);
            var (floatByNode, floatOverhead) = attribution.Assign(floatProfile);
            var (int8ByNode, int8Overhead) = attribution.Assign(int8Profile);
            profiled.Add((batches[b], floatByNode, int8ByNode));
            totals.Add(new ProfileTotals(batches[b], floatProfile.Sum(t => t.MedianMs), int8Profile.Sum(t => t.MedianMs), floatOverhead, int8Overhead));
            var slower = new HashSet<string>(StringComparer.Ordinal);
            foreach (var n in quantizable)
            {
                double f = floatByNode.GetValueOrDefault(n.Node), q = int8ByNode.GetValueOrDefault(n.Node);
                // A small margin keeps measurement noise on tiny kernels from proposing them.
                if (q > f * 1.05 + 0.002) slower.Add(n.Node);
            }
            anySlower |= slower.Count > 0;
            var computeOnly = slower.Where(n => byName.TryGetValue(n, out var d) && ComputeOps.Contains(d.OpType)).ToHashSet(StringComparer.Ordinal);
            foreach (var proposal in new[] { slower, computeOnly }.Where(p => p.Count > 0))
            {
                AddTrailingActivations(prepared.Model.Graph, proposal);
                if (!proposals.Any(p => p.SetEquals(proposal))) proposals.Add(proposal);
            }
        }

        var candidates = new List<(string Name, HashSet<string> FloatNodes, OnnxModel Model)> { (AllInt8, new HashSet<string>(StringComparer.Ordinal), allInt8.Model) };
        foreach (var proposal in proposals.OrderBy(p => p.Count).ThenBy(p => string.Join("\n", p.Order(StringComparer.Ordinal)), StringComparer.Ordinal))
            candidates.Add((Describe(prepared.Model.Graph, proposal), proposal, StaticQuantizer.Apply(prepared, ranges, options, proposal).Model.Model));

        var models = candidates.Select(c => new TimedModel(c.Name, c.Model)).Prepend(new TimedModel("float", prepared.Model)).ToList();
        var floatRounds = new List<IReadOnlyList<double>>();
        var candidateRounds = candidates.Select(_ => new List<IReadOnlyList<double>>()).ToList();
        for (int b = 0; b < batches.Count; b++)
        {
            var times = timer.Time(models, inputsPerBatch[b], runtime);
            if (times.Count != models.Count)
                throw new InvalidOperationException($"the latency timer returned {times.Count} series for {models.Count} models");
            floatRounds.Add(times[0]);
            for (int k = 0; k < candidates.Count; k++) candidateRounds[k].Add(times[k + 1]);
        }
        var choice = LatencyDecision.Choose(batches, floatRounds,
            candidates.Select((c, k) => new CandidateRounds(c.Name, c.FloatNodes.Order(StringComparer.Ordinal).ToList(), candidateRounds[k])).ToList());
        var chosen = candidates[choice.Chosen].FloatNodes;

        var rows = profiled.SelectMany(p => quantizable
            .Select(n => new PlacementRow(n.Node, n.OpType, p.Float.GetValueOrDefault(n.Node), p.Int8.GetValueOrDefault(n.Node), !chosen.Contains(n.Node), p.Batch))
            .OrderByDescending(r => Math.Max(r.FloatMs, r.Int8Ms))).ToList();
        return new PlacementResult(chosen, rows, totals, choice, anySlower && chosen.Count == 0);
    }

    /// <summary>The batch size of an input batch: the first dimension of its first input.</summary>
    private static int BatchOf(IReadOnlyDictionary<string, RuntimeTensor> inputs) => (int)(inputs.Values.FirstOrDefault()?.Shape.FirstOrDefault(1) ?? 1);

    /// <summary>A candidate's name: the compute nodes it keeps float (and how many others).</summary>
    private static string Describe(OnnxGraph g, IReadOnlySet<string> floatNodes)
    {
        var compute = g.Nodes.Where(n => floatNodes.Contains(n.DisplayName) && ComputeOps.Contains(n.OpType)).Select(n => n.DisplayName).ToList();
        int others = floatNodes.Count - compute.Count;
        return "float: " + (compute.Count > 0 ? string.Join(", ", compute) : "") + (others > 0 ? $"{(compute.Count > 0 ? " " : "")}+{others} other{(others == 1 ? "" : "s")}" : "");
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
    /// the nodes <see cref="IntegerConvAlignment"/> adds ("CONV_aligned_tap3") count for their Conv;
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

        [GeneratedRegex(@"(?:_token_\d+|_nchwc|_output_\d+_nchwc|_aligned_[a-z_]+\d*(?:_\d+)?)$")]
        private static partial Regex DecorationSuffix();
    }
}
