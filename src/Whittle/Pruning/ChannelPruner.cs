using Whittle.Onnx;

namespace Whittle.Pruning;

/// <summary>
/// The pruner policy of structured pruning: scores the channels of every prunable group of a
/// <see cref="ChannelDependencyGraph"/> with an <see cref="ImportanceCriterion"/> (or the user's
/// <see cref="IChannelImportanceScorer"/>), chooses what to
/// remove (per-layer or global ratio, rounding, never a whole layer) and returns the
/// <see cref="ChannelPruningPlan"/>. Nothing in the model changes until
/// <see cref="ChannelRemoval.Apply"/>.
/// </summary>
public static class ChannelPruner
{
    /// <summary>Analyses <paramref name="model"/> and plans the removal.</summary>
    /// <param name="model">The model (not modified).</param>
    /// <param name="options">Ratio, importance, scope, rounding, exclusions.</param>
    /// <param name="gradients">For <see cref="ImportanceCriterion.Taylor"/> or a scorer that needs them: accumulated gradients by initializer name (see <see cref="TaylorGradients"/>).</param>
    public static ChannelPruningPlan Plan(OnnxModel model, ChannelPruningOptions options, IReadOnlyDictionary<string, float[]>? gradients = null) =>
        Plan(ChannelDependencyGraph.Build(model), options, gradients);

    /// <summary>Plans the removal on an analysed graph.</summary>
    /// <exception cref="InvalidOptionException">An exclusion names no producer layer.</exception>
    /// <exception cref="ArgumentException">Taylor importance (or a scorer that needs gradients) without gradients.</exception>
    /// <exception cref="InvalidOperationException">The user's scorer returned the wrong number of scores, or a negative or non-finite one.</exception>
    public static ChannelPruningPlan Plan(ChannelDependencyGraph graph, ChannelPruningOptions options, IReadOnlyDictionary<string, float[]>? gradients = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(options);
        if (options.NeedsGradients && gradients is null)
            throw new ArgumentException($"{options.ImportanceName} importance needs gradients (TaylorGradients.Accumulate on a few batches)", nameof(gradients));
        var label = graph.Model.SourcePath ?? graph.Model.Graph.Name;
        var excluded = options.Exclusions.Apply(graph.Producers.Select(p => (p.Node, p.Op)).ToList(), label);
        var notes = new List<string>();

        var groups = graph.Groups();
        var reasons = new List<List<string>>();
        var scores = new List<double[]>();
        foreach (var members in groups)
        {
            var why = members.SelectMany(s => graph.Spaces[s].Unprunable).Distinct().ToList();
            foreach (var s in members)
                if (excluded.TryGetValue(graph.Spaces[s].ProducerNode, out var rule)) why.Add($"{graph.Spaces[s].ProducerNode}: {rule}");
            if (members.All(s => graph.Spaces[s].ProducerNode.Length == 0) && why.Count == 0) why.Add("no producer");
            reasons.Add(why);
            scores.Add(why.Count == 0
                ? options.Scorer is { } scorer ? ScoreWith(scorer, graph, members, gradients, notes) : Score(graph, members, options.Importance, gradients, notes)
                : []);
        }

        var keepCounts = options.Scope == MagnitudeScope.Global
            ? GlobalKeepCounts(graph, groups, reasons, scores, options)
            : groups.Select((m, i) => reasons[i].Count > 0 ? graph.Spaces[m[0]].Size : Sparsity.KeptChannels(graph.Spaces[m[0]].Size, options.Ratio, options.RoundTo, options.MinChannels)).ToArray();

        var plans = new List<ChannelGroupPlan>();
        var keptBySpace = new Dictionary<int, int[]>();
        var unpruned = new List<UnprunedLayer>();
        for (int i = 0; i < groups.Count; i++)
        {
            var members = groups[i];
            int size = graph.Spaces[members[0]].Size;
            int[] kept = reasons[i].Count > 0 ? Enumerable.Range(0, size).ToArray() : KeepMostImportant(scores[i], keepCounts[i]);
            var removed = Enumerable.Range(0, size).Except(kept).ToArray();
            foreach (var s in members) keptBySpace[s] = kept;
            var names = members.Select(s => graph.Spaces[s].Origin).ToList();
            plans.Add(new ChannelGroupPlan(i, names, size, kept, removed, scores[i], reasons[i]));
            var producers = members.Where(s => graph.Spaces[s].ProducerNode.Length > 0).Select(s => graph.Spaces[s].Origin).ToList();
            if (reasons[i].Count > 0 && producers.Count > 0) unpruned.Add(new UnprunedLayer(string.Join(", ", producers), string.Join("; ", reasons[i])));
        }
        return new ChannelPruningPlan(graph, options, plans, unpruned, keptBySpace, notes);
    }

    /// <summary>The <paramref name="keep"/> indices of largest score (ties: the lower index stays), ascending.</summary>
    internal static int[] KeepMostImportant(IReadOnlyList<double> scores, int keep) =>
        Enumerable.Range(0, scores.Count).OrderByDescending(c => scores[c]).ThenBy(c => c).Take(keep).Order().ToArray();

    private static int[] GlobalKeepCounts(ChannelDependencyGraph graph, IReadOnlyList<IReadOnlyList<int>> groups, List<List<string>> reasons,
        List<double[]> scores, ChannelPruningOptions options)
    {
        var counts = groups.Select(m => graph.Spaces[m[0]].Size).ToArray();
        var candidates = new List<(double Score, int Group, int Channel)>();
        for (int g = 0; g < groups.Count; g++)
        {
            if (reasons[g].Count > 0) continue;
            var normalized = ChannelImportance.NormalizeByMean(scores[g]);
            for (int c = 0; c < normalized.Length; c++) candidates.Add((normalized[c], g, c));
        }
        int toRemove = (int)Sparsity.PrunedCount(candidates.Count, options.Ratio);
        var removed = new int[groups.Count];
        foreach (var (_, g, _) in candidates.OrderBy(x => x.Score).ThenBy(x => x.Group).ThenBy(x => x.Channel))
        {
            if (toRemove == 0) break;
            if (counts[g] - removed[g] <= 1) continue; // never a whole layer
            removed[g]++;
            toRemove--;
        }
        for (int g = 0; g < groups.Count; g++)
        {
            if (reasons[g].Count > 0) continue;
            double ratio = removed[g] / (double)counts[g];
            counts[g] = Sparsity.KeptChannels(counts[g], Math.Min(ratio, 1 - 1.0 / counts[g]), options.RoundTo, options.MinChannels);
        }
        return counts;
    }

    private static double[] Score(ChannelDependencyGraph graph, IReadOnlyList<int> members, ImportanceCriterion criterion,
        IReadOnlyDictionary<string, float[]>? gradients, List<string> notes)
    {
        var memberSet = members.ToHashSet();
        int size = graph.Spaces[members[0]].Size;
        var relevant = graph.Slices.Where(s => s.Axis >= 0 && s.Role != SliceRole.Sliced && s.Layout.Spaces.Any(memberSet.Contains)).ToList();
        var roles = criterion switch
        {
            ImportanceCriterion.BatchNormScale => [SliceRole.BatchNormScale],
            ImportanceCriterion.Taylor => new[] { SliceRole.ProducerWeight, SliceRole.BatchNormScale },
            _ => [SliceRole.ProducerWeight],
        };
        var used = relevant.Where(s => roles.Contains(s.Role)).ToList();
        if (criterion == ImportanceCriterion.BatchNormScale && used.Count == 0)
        {
            used = relevant.Where(s => s.Role == SliceRole.ProducerWeight).ToList();
            criterion = ImportanceCriterion.L1;
            notes.Add($"{graph.Spaces[members[0]].Origin}: no BatchNormalization scales these channels; ranked by L1 instead");
        }
        var total = new double[size];
        foreach (var slice in used)
        {
            var init = graph.Model.Graph.FindInitializer(slice.Initializer)!;
            var w = init.ToFloatArray();
            double[] perIndex = criterion switch
            {
                ImportanceCriterion.L2 => ChannelImportance.L2(w, init.Dims, slice.Axis).Select(v => v * v).ToArray(),
                ImportanceCriterion.BatchNormScale => ChannelImportance.BatchNormScale(w),
                ImportanceCriterion.Taylor => ChannelImportance.Taylor(w, gradients!.TryGetValue(slice.Initializer, out var g) ? g
                    : throw new ArgumentException($"no gradient for '{slice.Initializer}'", nameof(gradients)), init.Dims, slice.Axis),
                _ => ChannelImportance.L1(w, init.Dims, slice.Axis),
            };
            AddToChannels(graph, slice, memberSet, perIndex, total);
        }
        if (criterion == ImportanceCriterion.L2) for (int c = 0; c < size; c++) total[c] = Math.Sqrt(total[c]);
        return total;
    }

    /// <summary>
    /// The user's scorer over the group's producer weights and BatchNorm scales, the scores of each
    /// channel added up over the tensors that count; L1 (with a note) when none counts.
    /// </summary>
    private static double[] ScoreWith(IChannelImportanceScorer scorer, ChannelDependencyGraph graph, IReadOnlyList<int> members,
        IReadOnlyDictionary<string, float[]>? gradients, List<string> notes)
    {
        var memberSet = members.ToHashSet();
        var total = new double[graph.Spaces[members[0]].Size];
        bool counted = false;
        foreach (var slice in graph.Slices.Where(s => s.Axis >= 0 && s.Role != SliceRole.Sliced && s.Layout.Spaces.Any(memberSet.Contains)))
        {
            var init = graph.Model.Graph.FindInitializer(slice.Initializer)!;
            ReadOnlyMemory<float>? g = null;
            if (scorer.NeedsGradients)
                g = gradients!.TryGetValue(slice.Initializer, out var values) ? values
                    : throw new ArgumentException($"no gradient for '{slice.Initializer}'", nameof(gradients));
            var kind = slice.Role == SliceRole.BatchNormScale ? ChannelWeightKind.BatchNormScale : ChannelWeightKind.ProducerWeight;
            var perIndex = scorer.Score(new ChannelWeight(slice.Initializer, kind, init.ToFloatArray(), init.Dims, slice.Axis, g));
            if (perIndex is null) continue;
            if (perIndex.Length != init.Dims[slice.Axis])
                throw new InvalidOperationException($"the importance scorer '{scorer.Name}' returned {perIndex.Length} scores for '{slice.Initializer}', which has {init.Dims[slice.Axis]} along axis {slice.Axis}");
            int bad = Array.FindIndex(perIndex, v => !(v >= 0) || !double.IsFinite(v));
            if (bad >= 0)
                throw new InvalidOperationException($"the importance scorer '{scorer.Name}' gave index {bad} of '{slice.Initializer}' the score {perIndex[bad]}; scores must be zero or positive and finite");
            AddToChannels(graph, slice, memberSet, perIndex, total);
            counted = true;
        }
        if (counted) return total;
        notes.Add($"{graph.Spaces[members[0]].Origin}: {scorer.Name} scored no tensor of these channels; ranked by L1 instead");
        return Score(graph, members, ImportanceCriterion.L1, gradients, notes);
    }

    /// <summary>Adds a tensor's per-index scores to the group's channels (a concatenated axis holds several spaces, a flattened one blocks of entries per channel).</summary>
    private static void AddToChannels(ChannelDependencyGraph graph, TensorSlice slice, HashSet<int> memberSet, double[] perIndex, double[] total)
    {
        long offset = 0;
        foreach (var s in slice.Layout.Spaces)
        {
            int n = graph.Spaces[s].Size;
            if (memberSet.Contains(s))
                for (int c = 0; c < n; c++)
                    for (long b = 0; b < slice.Layout.Block; b++) total[c] += perIndex[(offset + c) * slice.Layout.Block + b];
            offset += n;
        }
    }
}
