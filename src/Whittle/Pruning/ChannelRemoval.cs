using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Pruning;

/// <summary>
/// Carries out a <see cref="ChannelPruningPlan"/>: cuts every recorded initializer axis to the kept
/// positions, rewrites group counts, split sizes and flatten shapes, and drops the now stale
/// intermediate value infos. The result is a smaller ONNX graph with the same inputs and outputs.
/// </summary>
public static class ChannelRemoval
{
    /// <summary>A pruned copy of <paramref name="model"/>, which must be the model the plan was made for.</summary>
    /// <exception cref="OnnxException">The model does not match the plan.</exception>
    public static OnnxModel Apply(OnnxModel model, ChannelPruningPlan plan)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(plan);
        var label = model.SourcePath ?? model.Graph.Name;
        var result = model.Clone();
        var graph = result.Graph;
        foreach (var group in plan.Graph.Slices.Where(s => s.Axis >= 0).GroupBy(s => s.Initializer))
        {
            var init = graph.FindInitializer(group.Key) ?? throw new OnnxException($"{label}: initializer '{group.Key}' of the plan is missing; was the plan made for another model?");
            var planned = plan.Graph.Model.Graph.FindInitializer(group.Key)!;
            if (!init.Dims.SequenceEqual(planned.Dims))
                throw new OnnxException($"{label}: initializer '{group.Key}' is [{string.Join(",", init.Dims)}], the plan was made for [{string.Join(",", planned.Dims)}]");
            if (init.DataType != OnnxDataType.Float)
                throw new OnnxException($"{label}: initializer '{group.Key}' is {OnnxDataTypes.Name(init.DataType)}; channel removal cuts float tensors");
            var values = init.ToFloatArray();
            var dims = init.Dims;
            foreach (var axisSlices in group.GroupBy(s => s.Axis))
            {
                var kept = plan.KeptPositions(axisSlices.First().Layout);
                if (kept.Length == dims[axisSlices.Key]) continue;
                (values, dims) = Gather(values, dims, axisSlices.Key, kept);
            }
            graph.ReplaceInitializer(OnnxTensor.FromFloats(init.Name, dims, values));
        }
        foreach (var edit in plan.Graph.Edits) ApplyEdit(graph, edit, plan, label);
        // Intermediate shapes changed; ONNX Runtime infers them again.
        graph.Proto.ValueInfo.Clear();
        result.SetMetadata("whittle.pruned", $"channels; ratio={plan.Options.Ratio}; importance={plan.Options.ImportanceName}; scope={plan.Options.Scope}; parameters {plan.ParametersBefore}->{plan.ParametersAfter}");
        result.Validate().ThrowIfInvalid(label);
        return result;
    }

    /// <summary>
    /// Checks a pruned model in ONNX Runtime against the original on generated inputs: it must load,
    /// run and give outputs of the same shapes. Returns the largest absolute output difference
    /// (zero when only dead channels were removed).
    /// </summary>
    /// <exception cref="RuntimeException">The pruned model does not load or run, or its outputs changed shape.</exception>
    public static double Verify(OnnxModel original, OnnxModel pruned, int batchSize = 4) =>
        ModelComparison.CompareOnGeneratedInputs(original, pruned, batchSize, seed: 0,
            RuntimeOptions.Default.WithOptimization(GraphOptimization.Disabled)).MaxAbsDifference;

    private static void ApplyEdit(OnnxGraph graph, AttributeEdit edit, ChannelPruningPlan plan, string label)
    {
        var node = graph.FindNode(edit.Node) ?? graph.Nodes.FirstOrDefault(n => n.DisplayName == edit.Node)
            ?? throw new OnnxException($"{label}: node '{edit.Node}' of the plan is missing");
        switch (edit)
        {
            case GroupEdit g:
                node.SetAttribute("group", plan.KeptPositionCount(g.Layout));
                break;
            case SplitEdit s:
                var sizes = s.Outputs.Select(plan.KeptPositionCount).ToArray();
                if (s.SizesInitializer is { } name) graph.ReplaceInitializer(OnnxTensor.FromInt64s(name, [sizes.Length], sizes));
                else if (node.HasAttribute("split")) node.SetAttribute("split", sizes);
                else if (sizes.Distinct().Count() > 1)
                    throw new OnnxException($"{label}: Split '{edit.Node}' splits equally but the kept channels differ per output ({string.Join(",", sizes)})");
                break;
            case ReshapeEdit r:
                var init = graph.FindInitializer(r.ShapeValue)!;
                var shape = init.ToInt64Array();
                shape[r.Index] = plan.KeptPositionCount(r.Layout);
                graph.ReplaceInitializer(OnnxTensor.FromInt64s(r.ShapeValue, init.Dims, shape));
                break;
        }
    }

    /// <summary>Keeps <paramref name="kept"/> positions along one axis of a row-major tensor.</summary>
    internal static (float[] Values, long[] Dims) Gather(float[] values, long[] dims, int axis, long[] kept)
    {
        long inner = 1;
        for (int a = axis + 1; a < dims.Length; a++) inner *= dims[a];
        long outer = 1;
        for (int a = 0; a < axis; a++) outer *= dims[a];
        long length = dims[axis];
        var result = new float[outer * kept.Length * inner];
        long k = 0;
        for (long o = 0; o < outer; o++)
            foreach (var p in kept)
            {
                Array.Copy(values, (o * length + p) * inner, result, k, inner);
                k += inner;
            }
        var newDims = (long[])dims.Clone();
        newDims[axis] = kept.Length;
        return (result, newDims);
    }
}
