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

    /// <summary>The most validation samples the scan evaluates on (the first of the validation split).</summary>
    public const int Samples = 2000;

    /// <summary>The fewest samples it evaluates on, however slow the model.</summary>
    public const int MinSamples = 200;

    /// <summary>What the scan may cost, estimated before it runs: fewer samples for a slow model, so an estimate stays cheap.</summary>
    public static TimeSpan TargetTime { get; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How many samples keep the scan near <see cref="TargetTime"/>: one evaluation of <see cref="MinSamples"/> is timed, and the
    /// scan evaluates the baseline and every group at every ratio; between <see cref="MinSamples"/> and <see cref="Samples"/>.
    /// </summary>
    internal static int SampleCount(OnnxModel model, TensorDataset validation)
    {
        var groups = ChannelPruner.Plan(ChannelDependencyGraph.Build(model), new ChannelPruningOptions(0)).Groups.Count(g => g.Prunable && g.Channels > 1);
        var probe = validation.Take(MinSamples);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Evaluation.ModelEvaluator.Classify(model, probe);
        double perSample = watch.Elapsed.TotalSeconds / Math.Max(1, probe.Count);
        double evaluations = 1 + groups * Ratios.Count;
        int affordable = (int)(TargetTime.TotalSeconds / (perSample * evaluations));
        return Math.Clamp(affordable, MinSamples, Samples);
    }

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
            var report = SensitivityAnalysis.Run(model, validation.Take(SampleCount(model, validation)), Ratios, SensitivityMethod.Channel, progress: groups);
            return report.Layers.Count == 0 ? null : report;
        }
        catch (Exception e) when (e is OnnxException or InvalidOperationException or ArgumentException or NotSupportedException)
        {
            // An estimate, not a step: a model the channel scan does not handle is searched without it.
            return null;
        }
    }
}
