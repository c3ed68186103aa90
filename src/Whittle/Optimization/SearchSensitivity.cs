using Whittle.Data;
using Whittle.Onnx;
using Whittle.Pruning;

namespace Whittle.Optimization;

/// <summary>
/// The search's cheap first estimate: validation accuracy with each channel group of the input model
/// pruned alone (L1, no fine-tuning) to <see cref="Ratios"/>, on at most <see cref="Samples"/> validation
/// samples (<see cref="SensitivityAnalysis"/>, seconds on the bench models). It shows before any trial
/// trains which layers carry the accuracy, and the report draws it.
/// </summary>
public static class SearchSensitivity
{
    /// <summary>The channel fractions each group is pruned to.</summary>
    public static IReadOnlyList<double> Ratios { get; } = [0.25, 0.5, 0.75];

    /// <summary>Validation samples the scan evaluates on (the first of the validation split).</summary>
    public const int Samples = 2000;

    /// <summary>The scan, or null when the model has no channel group to prune (e.g. an embedding model) or the scan cannot run on it.</summary>
    /// <param name="model">The input model (not modified).</param>
    /// <param name="validation">The validation split the search judges on.</param>
    /// <param name="progress">Receives a <c>sensitivity</c> stage per group.</param>
    public static SensitivityReport? Measure(OnnxModel model, TensorDataset validation, IProgress<JobProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(validation);
        try
        {
            var groups = progress is null ? null : new InlineProgress<(int Done, int Total)>(p =>
                progress.Report(new JobProgress("sensitivity: channel groups pruned one at a time", p.Done, p.Total, Finished: p.Done == p.Total)));
            var report = SensitivityAnalysis.Run(model, validation.Take(Samples), Ratios, SensitivityMethod.Channel, progress: groups);
            return report.Layers.Count == 0 ? null : report;
        }
        catch (Exception e) when (e is OnnxException or InvalidOperationException or ArgumentException or NotSupportedException)
        {
            // An estimate, not a step: a model the channel scan does not handle is searched without it.
            return null;
        }
    }
}
