using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Pruning;

/// <summary>What a sensitivity scan prunes, one layer or group at a time.</summary>
public enum SensitivityMethod
{
    /// <summary>Unstructured magnitude pruning of one layer's weights.</summary>
    Magnitude,

    /// <summary>Channel removal (L1) of one channel group.</summary>
    Channel,
}

/// <summary>Accuracy and loss with one layer pruned to one sparsity.</summary>
/// <param name="Sparsity">Fraction of the layer's weights (or the group's channels) removed.</param>
/// <param name="Accuracy">Validation accuracy in ONNX Runtime.</param>
/// <param name="Loss">Validation cross-entropy.</param>
public sealed record SensitivityPoint(double Sparsity, double Accuracy, double Loss);

/// <summary>How one layer (or channel group) reacts to pruning.</summary>
/// <param name="Layer">The layer or group.</param>
/// <param name="Parameters">Its weights (magnitude) or channels (channel).</param>
/// <param name="Points">Accuracy at each tested sparsity, ascending.</param>
/// <param name="WorstDrop">Largest accuracy drop over the tested sparsities (baseline minus accuracy).</param>
/// <param name="SuggestedSparsity">The largest tested sparsity whose drop is within the tolerance (0 when none is).</param>
public sealed record LayerSensitivity(string Layer, long Parameters, IReadOnlyList<SensitivityPoint> Points, double WorstDrop, double SuggestedSparsity);

/// <summary>A sensitivity scan: the baseline, every layer worst first, and the tolerance the suggestions use.</summary>
/// <param name="Method">What was pruned.</param>
/// <param name="Samples">Validation samples.</param>
/// <param name="BaselineAccuracy">Accuracy of the unpruned model.</param>
/// <param name="BaselineLoss">Loss of the unpruned model.</param>
/// <param name="Tolerance">Largest accepted accuracy drop (fraction, 0.01 = one point) for a suggestion.</param>
/// <param name="Layers">Layers, most sensitive (largest worst drop) first.</param>
/// <param name="SuggestedOverallSparsity">For magnitude: the parameter-weighted sparsity of all layers at their suggested ratios.</param>
public sealed record SensitivityReport(SensitivityMethod Method, int Samples, double BaselineAccuracy, double BaselineLoss, double Tolerance,
    IReadOnlyList<LayerSensitivity> Layers, double SuggestedOverallSparsity);

/// <summary>
/// Sensitivity analysis: prunes one layer (or channel group) at a time to several sparsities and
/// measures validation accuracy and loss in ONNX Runtime, to find which layers tolerate pruning
/// and suggest a per-layer ratio.
/// </summary>
public static class SensitivityAnalysis
{
    /// <summary>Scans every prunable layer (magnitude) or prunable channel group (channel).</summary>
    /// <param name="model">The model (not modified).</param>
    /// <param name="validation">Labeled samples in the model's input shape.</param>
    /// <param name="sparsities">Sparsities to test, each in (0, 1).</param>
    /// <param name="method">Magnitude or channel.</param>
    /// <param name="tolerance">Accuracy drop accepted by a suggestion (fraction).</param>
    /// <param name="progress">Receives (layers done, layer count).</param>
    public static SensitivityReport Run(OnnxModel model, TensorDataset validation, IReadOnlyList<double> sparsities, SensitivityMethod method = SensitivityMethod.Magnitude,
        double tolerance = 0.01, IProgress<(int Done, int Total)>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(sparsities);
        if (sparsities.Count == 0 || sparsities.Any(s => !(s > 0 && s < 1))) throw new ArgumentException("sparsities must be in (0, 1)", nameof(sparsities));
        if (!(tolerance >= 0 && tolerance < 1)) throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "must be in [0, 1)");
        if (!validation.HasLabels || validation.Count == 0) throw new ArgumentException("sensitivity needs labeled validation samples", nameof(validation));
        var levels = sparsities.Distinct().Order().ToList();
        var (baseAcc, baseLoss) = Evaluate(model, validation);

        var candidates = new List<(string Name, long Size, Func<double, OnnxModel> Prune)>();
        if (method == SensitivityMethod.Magnitude)
        {
            foreach (var layer in PrunableWeight.Find(model))
            {
                var others = PrunableWeight.Find(model).Where(l => l.NodeName != layer.NodeName).Select(l => l.NodeName).ToList();
                var exclusions = new PruningExclusions(nodeNames: others);
                candidates.Add((layer.NodeName, layer.Count, s => UnstructuredPruner.MagnitudeMasks(model, new UnstructuredPruningOptions(s, exclusions: exclusions)).Apply(model)));
            }
        }
        else
        {
            var graph = ChannelDependencyGraph.Build(model);
            var plan = ChannelPruner.Plan(graph, new ChannelPruningOptions(0));
            foreach (var group in plan.Groups.Where(g => g.Prunable && g.Channels > 1))
            {
                var members = graph.Groups()[group.Id].Select(s => graph.Spaces[s].ProducerNode).Where(n => n.Length > 0).ToHashSet();
                var exclusions = new PruningExclusions(nodeNames: graph.Producers.Select(p => p.Node).Where(n => !members.Contains(n)).Distinct());
                candidates.Add((string.Join(" + ", group.Members), group.Channels,
                    s => ChannelRemoval.Apply(model, ChannelPruner.Plan(graph, new ChannelPruningOptions(s, exclusions: exclusions)))));
            }
        }
        var layers = new List<LayerSensitivity>();
        for (int i = 0; i < candidates.Count; i++)
        {
            var (name, size, prune) = candidates[i];
            var points = levels.Select(s =>
            {
                var (acc, loss) = Evaluate(prune(s), validation);
                return new SensitivityPoint(s, acc, loss);
            }).ToList();
            double worst = points.Max(p => baseAcc - p.Accuracy);
            double suggested = points.Where(p => baseAcc - p.Accuracy <= tolerance).Select(p => p.Sparsity).DefaultIfEmpty(0).Max();
            layers.Add(new LayerSensitivity(name, size, points, worst, suggested));
            progress?.Report((i + 1, candidates.Count));
        }
        long total = layers.Sum(l => l.Parameters);
        double overall = total == 0 ? 0 : layers.Sum(l => l.Parameters * l.SuggestedSparsity) / total;
        return new SensitivityReport(method, validation.Count, baseAcc, baseLoss, tolerance,
            layers.OrderByDescending(l => l.WorstDrop).ThenBy(l => l.Layer, StringComparer.Ordinal).ToList(), overall);
    }

    private static (double Accuracy, double Loss) Evaluate(OnnxModel model, TensorDataset data)
    {
        var result = ModelEvaluator.Classify(model, data);
        return (result.Accuracy, result.Loss);
    }
}
