using System.Globalization;
using System.Text;

namespace Whittle.Pruning;

/// <summary>One group of channels pruned atomically: the producers whose channels are tied, and what is kept.</summary>
/// <param name="Id">The group's number in the plan.</param>
/// <param name="Members">The channel spaces in the group ("layer1.0.conv2 (Conv) output channels", ...).</param>
/// <param name="Channels">Channels each member has.</param>
/// <param name="Kept">Kept channel indices, ascending.</param>
/// <param name="Removed">Removed channel indices, ascending.</param>
/// <param name="Importance">Per-channel importance the choice was made by (empty for unprunable groups).</param>
/// <param name="UnprunedReasons">Why the group keeps every channel; empty when it may be pruned.</param>
public sealed record ChannelGroupPlan(int Id, IReadOnlyList<string> Members, int Channels, IReadOnlyList<int> Kept, IReadOnlyList<int> Removed,
    IReadOnlyList<double> Importance, IReadOnlyList<string> UnprunedReasons)
{
    /// <summary>True when the analysis allows removing channels of this group.</summary>
    public bool Prunable => UnprunedReasons.Count == 0;

    /// <summary>The group and its width before and after, as reports print it: "group 3: 32 -> 16".</summary>
    public string WidthChange => $"group {Id}: {Channels} -> {Kept.Count}";
}

/// <summary>A layer left unpruned, and why (an unprovable Reshape, a graph output, an exclusion, ...).</summary>
/// <param name="Where">The producer(s) whose channels stay.</param>
/// <param name="Reason">Why.</param>
public sealed record UnprunedLayer(string Where, string Reason);

/// <summary>
/// What structured pruning will do, computed before anything changes: the groups with kept and
/// removed indices, the layers left alone with the reason, the initializer cuts and attribute
/// edits, and parameters and MACs before and after. <see cref="ChannelRemoval.Apply"/> carries it out.
/// </summary>
public sealed class ChannelPruningPlan
{
    internal ChannelPruningPlan(ChannelDependencyGraph graph, ChannelPruningOptions options, IReadOnlyList<ChannelGroupPlan> groups,
        IReadOnlyList<UnprunedLayer> leftUnpruned, IReadOnlyDictionary<int, int[]> keptBySpace, IReadOnlyList<string> notes)
    {
        Graph = graph;
        Options = options;
        Groups = groups;
        LeftUnpruned = leftUnpruned;
        KeptBySpace = keptBySpace;
        Notes = notes;
        (ParametersBefore, ParametersAfter, NewDims) = CountParameters();
        (MacsBefore, MacsAfter) = CountMacs();
        Edits = graph.Edits.Select(e => e.Describe(KeptPositionCount)).ToList();
    }

    internal ChannelDependencyGraph Graph { get; }

    internal IReadOnlyDictionary<int, int[]> KeptBySpace { get; }

    internal IReadOnlyDictionary<string, long[]> NewDims { get; }

    /// <summary>
    /// The output channels every producing layer (display name) keeps, ascending, as indices of its
    /// channels before pruning; layers whose output channels are not pruned keep all of them.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int>> KeptOutputChannels()
    {
        var result = new Dictionary<string, IReadOnlyList<int>>(StringComparer.Ordinal);
        foreach (var (space, kept) in KeptBySpace)
        {
            var s = Graph.Spaces[space];
            if (s.ProducerNode.Length > 0) result[s.ProducerNode] = kept;
        }
        return result;
    }

    /// <summary>The options the plan was made with.</summary>
    public ChannelPruningOptions Options { get; }

    /// <summary>Every channel group, prunable or not.</summary>
    public IReadOnlyList<ChannelGroupPlan> Groups { get; }

    /// <summary>
    /// The pruned groups whose kept width is not a multiple of <paramref name="block"/>: a runtime
    /// that computes channels in blocks of that size (ONNX Runtime's NCHWc layout, see
    /// <see cref="Whittle.Runtime.OnnxRuntimeCpu.NchwcBlockSize"/>) pads them back up, so they
    /// cost more time than their channel count says. Empty when every kept width fits.
    /// </summary>
    /// <param name="block">The runtime's channel block (at least 1).</param>
    public IReadOnlyList<ChannelGroupPlan> GroupsNotMultipleOf(int block)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(block);
        return Groups.Where(g => g.Prunable && g.Removed.Count > 0 && g.Kept.Count % block != 0).ToList();
    }

    /// <summary>Producers whose channels stay, with the reason.</summary>
    public IReadOnlyList<UnprunedLayer> LeftUnpruned { get; }

    /// <summary>Remarks (e.g. a BatchNorm criterion that fell back to L1 for a group without BatchNorm).</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>Attribute and shape edits, described.</summary>
    public IReadOnlyList<string> Edits { get; }

    /// <summary>Elements of floating-point initializers before.</summary>
    public long ParametersBefore { get; }

    /// <summary>Elements of floating-point initializers after.</summary>
    public long ParametersAfter { get; }

    /// <summary>Multiply-accumulates per sample of Conv, ConvTranspose, Gemm and MatMul before.</summary>
    public long MacsBefore { get; }

    /// <summary>Multiply-accumulates per sample of Conv, ConvTranspose, Gemm and MatMul after.</summary>
    public long MacsAfter { get; }

    /// <summary>Channels removed over all groups (each group counted once).</summary>
    public int ChannelsRemoved => Groups.Sum(g => g.Removed.Count);

    /// <summary>The kept positions of a layout, in order.</summary>
    internal long[] KeptPositions(ChannelLayout layout)
    {
        var positions = new List<long>();
        long offset = 0;
        foreach (var s in layout.Spaces)
        {
            int size = Graph.Spaces[s].Size;
            foreach (var c in KeptBySpace[s])
                for (long b = 0; b < layout.Block; b++) positions.Add((offset + c) * layout.Block + b);
            offset += size;
        }
        return positions.ToArray();
    }

    internal long KeptPositionCount(ChannelLayout layout) => layout.Spaces.Sum(s => (long)KeptBySpace[s].Length) * layout.Block;

    private (long Before, long After, IReadOnlyDictionary<string, long[]> Dims) CountParameters()
    {
        var dims = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var slice in Graph.Slices.Where(s => s.Axis >= 0))
        {
            var init = Graph.Model.Graph.FindInitializer(slice.Initializer)!;
            if (!dims.TryGetValue(slice.Initializer, out var d)) dims[slice.Initializer] = d = init.Dims;
            long kept = KeptPositionCount(slice.Layout);
            // Two readers (or two roles) agreeing on the cut is fine; disagreeing is a bug in a slicer.
            if (d[slice.Axis] != init.Dims[slice.Axis] && d[slice.Axis] != kept)
                throw new InvalidOperationException($"initializer '{slice.Initializer}' axis {slice.Axis} cut to {d[slice.Axis]} and to {kept}");
            d[slice.Axis] = kept;
        }
        long before = 0, after = 0;
        foreach (var t in Graph.Model.Graph.Initializers.Where(t => Onnx.OnnxDataTypes.IsFloatingPoint(t.DataType)))
        {
            before += t.ElementCount;
            after += dims.TryGetValue(t.Name, out var d) ? d.Aggregate(1L, (a, b) => a * b) : t.ElementCount;
        }
        return (before, after, dims);
    }

    private (long Before, long After) CountMacs()
    {
        long before = 0;
        double after = 0;
        foreach (var (node, macs) in Graph.Macs)
        {
            before += macs;
            var weight = Graph.MacWeights[node];
            var init = Graph.Model.Graph.FindInitializer(weight)!;
            double scale = NewDims.TryGetValue(weight, out var d) ? d.Aggregate(1.0, (a, b) => a * b) / init.ElementCount : 1;
            after += macs * scale;
        }
        return (before, (long)Math.Round(after));
    }

    /// <summary>A readable report: totals, each group, the layers left unpruned with reasons, and the edits.</summary>
    public string ToText()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"Channel pruning plan: ratio {Options.Ratio:0.###}, importance {Options.ImportanceName}, {Options.Scope}, round to {Options.RoundTo}{(Options.MinChannels > 1 ? $", at least {Options.MinChannels}" : "")}\n");
        sb.Append(c, $"parameters {ParametersBefore:N0} -> {ParametersAfter:N0} ({Change(ParametersBefore, ParametersAfter)}), MACs {MacsBefore:N0} -> {MacsAfter:N0} ({Change(MacsBefore, MacsAfter)})\n");
        foreach (var g in Groups.Where(g => g.Prunable))
            sb.Append(c, $"  {g.WidthChange} channels; {string.Join(", ", g.Members)}; removed [{Compact(g.Removed)}]\n");
        foreach (var u in LeftUnpruned) sb.Append(c, $"  unpruned: {u.Where}: {u.Reason}\n");
        foreach (var e in Edits) sb.Append(c, $"  edit: {e}\n");
        foreach (var n in Notes) sb.Append(c, $"  note: {n}\n");
        return sb.ToString();
    }

    private static string Change(long before, long after) =>
        before == 0 ? "n/a" : ((after - before) / (double)before).ToString("+0.0%;-0.0%;0%", CultureInfo.InvariantCulture);

    private static string Compact(IReadOnlyList<int> indices) =>
        indices.Count <= 16 ? string.Join(",", indices) : string.Join(",", indices.Take(16)) + $",... ({indices.Count})";
}
