using Whittle.Onnx;

namespace Whittle.Quantization;

/// <summary>What a graph preparation pass did, node by node.</summary>
/// <param name="Changed">One line per node folded or removed.</param>
/// <param name="Skipped">One line per candidate left alone, with the reason.</param>
public sealed record PreparationReport(IReadOnlyList<string> Changed, IReadOnlyList<string> Skipped);

/// <summary>
/// Inference-graph preparation before quantization (and useful alone: the "BatchNorm for
/// inference" step): BatchNormalization folded into the preceding Conv or Gemm, Identity and
/// Dropout removed. Works on a copy; the input model is not touched.
/// </summary>
public static class GraphPreparation
{
    /// <summary>Folds every foldable BatchNormalization into its producer; returns the new model and what happened.</summary>
    public static (OnnxModel Model, PreparationReport Report) FoldBatchNorms(OnnxModel source) => FoldBatchNorms(source, _ => true);

    /// <summary>Folds the foldable BatchNormalization nodes that <paramref name="which"/> selects; returns the new model and what happened.</summary>
    public static (OnnxModel Model, PreparationReport Report) FoldBatchNorms(OnnxModel source, Func<OnnxNode, bool> which)
    {
        ArgumentNullException.ThrowIfNull(which);
        var model = source.Clone();
        var g = model.Graph;
        var changed = new List<string>();
        var skipped = new List<string>();
        var graphOutputs = g.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var bn in g.Nodes.Where(n => n.OpType == "BatchNormalization" && n.Domain.Length == 0 && which(n)).ToList())
        {
            var reason = TryFold(g, bn, graphOutputs, out var producerName);
            if (reason is null) changed.Add($"folded BatchNormalization '{bn.DisplayName}' into '{producerName}'");
            else skipped.Add($"BatchNormalization '{bn.DisplayName}' left in place: {reason}");
        }
        g.RemoveUnusedNodes();
        return (model, new PreparationReport(changed, skipped));
    }

    /// <summary>Removes Identity and Dropout nodes (inference graphs), rewiring their consumers.</summary>
    public static (OnnxModel Model, PreparationReport Report) RemoveIdentityAndDropout(OnnxModel source)
    {
        var model = source.Clone();
        var g = model.Graph;
        var changed = new List<string>();
        var skipped = new List<string>();
        var graphOutputs = g.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var n in g.Nodes.Where(n => n.Domain.Length == 0 && n.OpType is "Identity" or "Dropout").ToList())
        {
            if (n.OpType == "Dropout" && n.Outputs.Count > 1 && n.Outputs[1].Length > 0 && g.FindConsumers(n.Outputs[1]).Count > 0)
            {
                skipped.Add($"Dropout '{n.DisplayName}' left in place: its mask output is used");
                continue;
            }
            var input = n.Inputs[0];
            var output = n.Outputs[0];
            if (graphOutputs.Contains(output))
            {
                // Keep the graph output's name: the producer of the input writes it directly, unless the input is itself an output or an initializer.
                var producer = g.FindProducer(input);
                if (producer is null || graphOutputs.Contains(input) || g.FindConsumers(input).Count > 1)
                {
                    skipped.Add($"{n.OpType} '{n.DisplayName}' left in place: it names a graph output");
                    continue;
                }
                g.RemoveNode(n);
                g.RenameValue(input, output);
            }
            else
            {
                g.RemoveNode(n);
                g.ReplaceAllUses(output, input);
            }
            changed.Add($"removed {n.OpType} '{n.DisplayName}'");
        }
        return (model, new PreparationReport(changed, skipped));
    }

    private static string? TryFold(OnnxGraph g, OnnxNode bn, HashSet<string> graphOutputs, out string producerName)
    {
        producerName = "";
        if (bn.Outputs.Skip(1).Any(o => o.Length > 0)) return "it has training-mode outputs";
        if (bn.GetInt("training_mode", 0) != 0) return "training_mode=1";
        var producer = g.FindProducer(bn.Inputs[0]);
        if (producer is null || producer.Domain.Length != 0 || producer.OpType is not ("Conv" or "Gemm"))
            return $"its input is not produced by a Conv or Gemm ({producer?.OpType ?? "graph input"})";
        producerName = producer.DisplayName;
        if (g.FindConsumers(bn.Inputs[0]).Count != 1 || graphOutputs.Contains(bn.Inputs[0]))
            return $"the output of '{producer.DisplayName}' is also used elsewhere";
        if (producer.OpType == "Gemm" && (producer.GetFloat("alpha", 1f) != 1f || producer.GetFloat("beta", 1f) != 1f || producer.GetInt("transA", 0) != 0))
            return $"Gemm '{producer.DisplayName}' has alpha/beta other than 1 or transA";
        var weight = g.FindInitializer(producer.Inputs[1]);
        var bias = producer.Inputs.Count > 2 && producer.Inputs[2].Length > 0 ? g.FindInitializer(producer.Inputs[2]) : null;
        if (weight is null || weight.DataType != OnnxDataType.Float) return "the weight is not a float32 initializer";
        if (producer.Inputs.Count > 2 && producer.Inputs[2].Length > 0 && (bias is null || bias.DataType != OnnxDataType.Float))
            return "the bias is not a float32 initializer";
        if (g.FindConsumers(weight.Name).Count != 1 || (bias is not null && g.FindConsumers(bias.Name).Count != 1))
            return "the weight or bias is shared with other nodes";
        var parameters = bn.Inputs.Skip(1).Take(4).Select(g.FindInitializer).ToArray();
        if (parameters.Any(p => p is null || p.DataType != OnnxDataType.Float)) return "its scale, bias, mean or variance is not a float32 initializer";
        var (gamma, beta, mean, variance) = (parameters[0]!.ToFloatArray(), parameters[1]!.ToFloatArray(), parameters[2]!.ToFloatArray(), parameters[3]!.ToFloatArray());
        long outChannels = producer.OpType == "Conv" ? weight.Dims[0] : producer.GetInt("transB", 0) != 0 ? weight.Dims[0] : weight.Dims[1];
        if (gamma.Length != outChannels) return $"it has {gamma.Length} channels, the {producer.OpType} has {outChannels} outputs";
        if (producer.OpType == "Gemm" && bias is not null && bias.ElementCount != outChannels) return "the Gemm bias is broadcast, not one value per output";

        var s = BatchNormFolding.ChannelScale(gamma, variance, bn.GetFloat("epsilon", 1e-5f));
        var w = weight.ToFloatArray();
        BatchNormFolding.ScaleWeights(w, s, channelsOuter: producer.OpType == "Conv" || producer.GetInt("transB", 0) != 0);
        var newBias = BatchNormFolding.FoldedBias(bias?.ToFloatArray() ?? [], mean, beta, s);
        g.ReplaceInitializer(OnnxTensor.FromFloats(weight.Name, weight.Dims, w));
        if (bias is not null) g.ReplaceInitializer(OnnxTensor.FromFloats(bias.Name, [outChannels], newBias));
        else
        {
            var biasName = g.UniqueName(producer.Inputs[1] + "_folded_bias");
            g.AddInitializer(OnnxTensor.FromFloats(biasName, [outChannels], newBias));
            while (producer.Inputs.Count < 2) producer.Inputs.Add("");
            if (producer.Inputs.Count == 2) producer.Inputs.Add(biasName);
            else producer.Inputs[2] = biasName;
        }
        // The producer now writes the BatchNormalization's output directly.
        var bnOut = bn.Outputs[0];
        var producerOut = producer.Outputs[0];
        g.RemoveNode(bn);
        if (producer.Outputs[0] == producerOut) producer.Outputs[0] = bnOut;
        foreach (var stale in g.Proto.ValueInfo.Where(v => v.Name == producerOut).ToList()) g.Proto.ValueInfo.Remove(stale);
        foreach (var name in bn.Inputs.Skip(1)) if (g.FindConsumers(name).Count == 0) g.RemoveInitializer(name);
        return null;
    }
}
