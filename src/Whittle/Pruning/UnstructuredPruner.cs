using Whittle.Onnx;

namespace Whittle.Pruning;

/// <summary>
/// Unstructured (magnitude) and N:M pruning of the Conv/ConvTranspose/Gemm/MatMul weights of an
/// ONNX graph. Computes <see cref="SparsityMasks"/> first (the plan); <see cref="SparsityMasks.Apply(OnnxModel)"/>
/// then zeroes the weights. The graph keeps its shapes: the model is as large and as fast as
/// before in ONNX Runtime, only more compressible (see <see cref="ModelFileSize"/>) and ready for
/// sparse kernels. For a smaller, faster graph use structured pruning (<c>whittle prune --method channel</c>).
/// </summary>
public static class UnstructuredPruner
{
    /// <summary>Masks that zero the smallest-magnitude weights of the model's prunable layers.</summary>
    /// <exception cref="InvalidOptionException">An exclusion or cap names no prunable layer.</exception>
    /// <exception cref="OnnxException">The model has no prunable layer.</exception>
    public static SparsityMasks MagnitudeMasks(OnnxModel model, UnstructuredPruningOptions options) =>
        MagnitudeMasks(model, options, name => model.Graph.FindInitializer(name)!.ToFloatArray());

    /// <summary>
    /// As <see cref="MagnitudeMasks(OnnxModel, UnstructuredPruningOptions)"/>, ranking the values
    /// <paramref name="weightsOf"/> returns (e.g. the current parameters of a module being fine-tuned).
    /// </summary>
    public static SparsityMasks MagnitudeMasks(OnnxModel model, UnstructuredPruningOptions options, Func<string, float[]> weightsOf)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(weightsOf);
        var (layers, excluded) = Layers(model, options.Exclusions);
        var label = Label(model);
        var unknownCaps = options.LayerCaps.Keys.Where(k => layers.All(l => l.NodeName != k)).ToList();
        if (unknownCaps.Count > 0)
            throw new InvalidOptionException(nameof(UnstructuredPruningOptions.LayerCaps), $"{label}: per-layer cap for {string.Join(", ", unknownCaps.Select(k => $"'{k}'"))} matches no prunable layer; prunable layers: {string.Join(", ", layers.Select(l => l.NodeName))}");

        var pruned = layers.Where(l => !excluded.ContainsKey(l.NodeName)).ToList();
        var values = pruned.Select(l => weightsOf(l.Initializer)).ToList();
        var caps = pruned.Select(l => options.LayerCaps.TryGetValue(l.NodeName, out var c) ? c : 1.0).ToList();
        bool[][] masks = options.Scope == MagnitudeScope.Global
            ? options.Ranking == GlobalRanking.Lamp ? Sparsity.GlobalLampMasks(values, options.Sparsity, caps) : Sparsity.GlobalMagnitudeMasks(values, options.Sparsity, caps)
            : values.Select((v, i) => Sparsity.MagnitudeMask(v, Math.Min(options.Sparsity, caps[i]))).ToArray();
        return Assemble(layers, excluded, pruned, masks);
    }

    /// <summary>N:M masks along each prunable weight's reduction axis.</summary>
    /// <exception cref="InvalidOptionException">An exclusion names no prunable layer.</exception>
    /// <exception cref="OnnxException">No layer can take the pattern.</exception>
    public static SparsityMasks NmMasks(OnnxModel model, NmSparsityOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var (layers, excluded) = Layers(model, options.Exclusions);
        var skipped = new Dictionary<string, string>(excluded, StringComparer.Ordinal);
        foreach (var l in layers)
            if (!skipped.ContainsKey(l.NodeName) && l.Shape[l.ReductionAxis] % options.M != 0)
                skipped[l.NodeName] = $"reduction axis has {l.Shape[l.ReductionAxis]} elements, not a multiple of {options.M}";
        var pruned = layers.Where(l => !skipped.ContainsKey(l.NodeName)).ToList();
        if (pruned.Count == 0)
            throw new OnnxException($"{Label(model)}: no layer can take {options} sparsity: {string.Join("; ", skipped.Select(kv => $"{kv.Key}: {kv.Value}"))}");
        var masks = pruned.Select(l => Sparsity.NmMask(model.Graph.FindInitializer(l.Initializer)!.ToFloatArray(), l.Shape, l.ReductionAxis, options.N, options.M)).ToArray();
        return Assemble(layers, skipped, pruned, masks);
    }

    private static (IReadOnlyList<PrunableWeight> Layers, IReadOnlyDictionary<string, string> Excluded) Layers(OnnxModel model, PruningExclusions exclusions)
    {
        var layers = PrunableWeight.Find(model);
        if (layers.Count == 0) throw new OnnxException($"{Label(model)}: no prunable layer (Conv, ConvTranspose, Gemm or MatMul with a float initializer weight)");
        var excluded = exclusions.Apply(layers.Select(l => (l.NodeName, l.OpType)).ToList(), Label(model));
        return (layers, excluded);
    }

    private static SparsityMasks Assemble(IReadOnlyList<PrunableWeight> layers, IReadOnlyDictionary<string, string> skipped, List<PrunableWeight> pruned, bool[][] masks)
    {
        var byName = new Dictionary<string, bool[]>(StringComparer.Ordinal);
        for (int i = 0; i < pruned.Count; i++) byName[pruned[i].Initializer] = masks[i];
        var report = layers.Select(l => byName.TryGetValue(l.Initializer, out var m)
            ? new LayerSparsity(l.NodeName, l.Initializer, l.Count, m.LongCount(k => !k), null)
            : new LayerSparsity(l.NodeName, l.Initializer, l.Count, 0, skipped[l.NodeName])).ToList();
        return new SparsityMasks(byName, report);
    }

    private static string Label(OnnxModel model) => model.SourcePath ?? model.Graph.Name;
}
