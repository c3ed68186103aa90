using System.Diagnostics;
using System.Text.Json.Serialization;
using Whittle.Data;
using Whittle.Onnx;
using Whittle.Reporting;

namespace Whittle.Optimization;

/// <summary>One model of a several-model search: its name (its outputs go to <c>OUTDIR/&lt;name&gt;/</c>), the model and its data.</summary>
/// <param name="Name">The model's name: its file name without <c>.onnx</c> (<see cref="NameOf"/>).</param>
/// <param name="Model">The input model.</param>
/// <param name="Data">Labelled classification data bound to it.</param>
public sealed record SearchModel(string Name, OnnxModel Model, BoundData Data)
{
    /// <summary>The name of the model file <paramref name="path"/>: its file name without the extension.</summary>
    public static string NameOf(string path) => Path.GetFileNameWithoutExtension(path);
}

/// <summary>What the search of one model of several found, in the figures the comparison shows (the whole search is <see cref="Result"/>).</summary>
/// <param name="Name">The model's name.</param>
/// <param name="ModelPath">The input model file, or null for a model made in memory.</param>
/// <param name="Directory">Its outputs' directory (<c>OUTDIR/&lt;name&gt;/</c>).</param>
/// <param name="ReportPath">Its own report.</param>
/// <param name="BestModelPath">Its <c>best.onnx</c>, or null when no trial met the budget and improved on the input.</param>
/// <param name="TimeBudgetSeconds">The share of the run's time budget its search had (null: no budget).</param>
/// <param name="Seconds">Time its search took.</param>
/// <param name="Trials">Trials logged.</param>
/// <param name="Done">Trials that finished.</param>
/// <param name="Stopped">Trials stopped early.</param>
/// <param name="Failed">Trials that failed.</param>
/// <param name="Resumed">Trials taken from an earlier run's log.</param>
/// <param name="InputValidationAccuracy">The input's validation accuracy.</param>
/// <param name="InputTestAccuracy">The input's test accuracy.</param>
/// <param name="InputBytes">The input's serialized size.</param>
/// <param name="InputLatencyMs">The input's median latency at the latency batch, as the winner's trial timed it interleaved (else the median over finished trials); null when no trial finished.</param>
/// <param name="BestTrial">The winner's trial number (1-based, as the reports number them), or null.</param>
/// <param name="BestRecipe">The winner's recipe, described.</param>
/// <param name="BestValidationAccuracy">The winner's validation accuracy.</param>
/// <param name="BestTestAccuracy">The winner's test accuracy.</param>
/// <param name="BestLatencyMs">The winner's median latency.</param>
/// <param name="BestLatencyRatio">The winner's latency over the input's (interleaved).</param>
/// <param name="BestBytes">The winner's serialized size.</param>
public sealed record ModelOutcome(string Name, string? ModelPath, string Directory, string? ReportPath, string? BestModelPath, double? TimeBudgetSeconds, double Seconds,
    int Trials, int Done, int Stopped, int Failed, int Resumed, double InputValidationAccuracy, double InputTestAccuracy, long InputBytes, double? InputLatencyMs,
    int? BestTrial, string? BestRecipe, double? BestValidationAccuracy, double? BestTestAccuracy, double? BestLatencyMs, double? BestLatencyRatio, long? BestBytes)
{
    /// <summary>How many times faster the winner is (null without one).</summary>
    public double? Speedup => BestLatencyRatio is { } r ? 1 / r : null;

    /// <summary>How many times smaller the winner is (null without one).</summary>
    public double? SizeReduction => BestBytes is { } b ? (double)InputBytes / b : null;

    /// <summary>The winner's test accuracy minus the input's, in points (null without one).</summary>
    public double? TestAccuracyChange => BestTestAccuracy is { } a ? (a - InputTestAccuracy) * 100 : null;

    /// <summary>The whole search (every trial), which the comparison report draws; not in the JSON summary (its <c>trials.json</c> has it).</summary>
    [JsonIgnore]
    public SearchResult Result { get; init; } = null!;

    internal static ModelOutcome From(SearchModel model, string directory, SearchResult r, TimeSpan? budget)
    {
        var t = r.Log.Trials;
        var done = t.Where(x => x is { Status: "done", LatencyMs: > 0, LatencyRatio: > 0 }).Select(x => x.LatencyMs!.Value / x.LatencyRatio!.Value).Order().ToList();
        double? inputMs = r.Best is { LatencyMs: { } bm, LatencyRatio: { } br } ? bm / br : done.Count > 0 ? done[done.Count / 2] : null;
        var w = r.Best;
        return new ModelOutcome(model.Name, model.Model.SourcePath, directory, r.ReportPath, r.BestModelPath, budget?.TotalSeconds, r.Seconds, t.Count,
            t.Count(x => x.Status == "done"), t.Count(x => x.Status == "stopped"), t.Count(x => x.Status == "failed"), r.Resumed, r.Log.InputValidationAccuracy,
            r.Log.InputTestAccuracy, r.InputBytes, inputMs, w?.Trial + 1, w is null ? null : SearchReport.Describe(w.Recipe), w?.ValidationAccuracy, w?.TestAccuracy,
            w?.LatencyMs, w?.LatencyRatio, w?.Bytes) { Result = r };
    }
}

/// <summary>What a several-model search found: one outcome per model, in the order given, and the comparison report.</summary>
/// <param name="Models">Per model, in the order given.</param>
/// <param name="Objective">latency or size.</param>
/// <param name="MaxAccuracyDrop">The budget every model was searched under.</param>
/// <param name="Relative">The budget is relative to each input's accuracy.</param>
/// <param name="TimeBudgetSeconds">The run's whole time budget (null: none).</param>
/// <param name="Seconds">Time the run took.</param>
/// <param name="ReportPath">The comparison report (<c>OUTDIR/report.html</c>).</param>
public sealed record MultiModelSearchResult(IReadOnlyList<ModelOutcome> Models, string Objective, double MaxAccuracyDrop, bool Relative, double? TimeBudgetSeconds,
    double Seconds, string ReportPath)
{
    /// <summary>Models whose search found a winner (a <c>best.onnx</c>).</summary>
    public int Improved => Models.Count(m => m.BestTrial is not null);
}

public static partial class RecipeSearch
{
    /// <summary>
    /// Searches several models one after another under the same accuracy budget and candidates, each
    /// in <c>OUTDIR/&lt;name&gt;/</c> exactly as <see cref="Run"/> searches one (its own log, resume, outputs
    /// and report), then writes <c>OUTDIR/report.html</c> comparing them. A time budget is the whole
    /// run's: each model's search gets an equal share of what is left when it starts (the budget left
    /// over the models not yet searched), so time a model did not use, because it ran out of candidates
    /// or its trials were resumed, goes to the models after it. <see cref="SearchOptions.Trials"/> is per model.
    /// </summary>
    /// <param name="models">The models, with unique names.</param>
    /// <param name="options">The budget, objective and candidates of every model's search.</param>
    /// <param name="outDirectory">The run's directory (created).</param>
    /// <param name="progress">Receives every search's progress, prefixed with its model.</param>
    /// <param name="runner">Runs the trials (null: in this process).</param>
    /// <exception cref="InvalidOptionException">No models, or two with the same name.</exception>
    public static MultiModelSearchResult RunModels(IReadOnlyList<SearchModel> models, SearchOptions options, string outDirectory, IProgress<JobProgress>? progress = null,
        ITrialRunner? runner = null)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(outDirectory);
        if (models.Count == 0) throw new InvalidOptionException("models", "give at least one model");
        if (models.FirstOrDefault(m => string.IsNullOrWhiteSpace(m.Name) || m.Name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || m.Name is "." or "..") is { } bad)
            throw new InvalidOptionException("models", $"'{bad.Name}' cannot name a directory");
        var twice = models.GroupBy(m => m.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (twice.Count > 0)
            throw new InvalidOptionException("models", $"two models are named {string.Join(", ", twice.Select(n => $"'{n}'"))}: each model's outputs go to OUTDIR/<name>/, so give them different file names");
        var watch = Stopwatch.StartNew();
        Directory.CreateDirectory(outDirectory);
        var outcomes = new List<ModelOutcome>();
        for (int k = 0; k < models.Count; k++)
        {
            var m = models[k];
            TimeSpan? share = options.TimeBudget is { } total
                ? TimeSpan.FromTicks(Math.Max(1, (total - watch.Elapsed).Ticks / (models.Count - k)))
                : null;
            var dir = Path.Combine(outDirectory, m.Name);
            string prefix = $"model {k + 1}/{models.Count} {m.Name}";
            var modelProgress = progress is null ? null : new InlineProgress<JobProgress>(p => progress.Report(p with { Stage = $"{prefix}: {p.Stage}" }));
            var result = Run(m.Model, m.Data, options.WithTimeBudget(share), dir, modelProgress, runner);
            outcomes.Add(ModelOutcome.From(m, dir, result, share));
        }
        var reportPath = Path.Combine(outDirectory, SearchReport.FileName);
        var summary = new MultiModelSearchResult(outcomes, options.Objective.ToString().ToLowerInvariant(), options.MaxAccuracyDrop, options.Relative,
            options.TimeBudget?.TotalSeconds, watch.Elapsed.TotalSeconds, reportPath);
        progress?.Report(new JobProgress("writing the comparison " + SearchReport.FileName, 0, 1));
        ComparisonReport.Write(reportPath, summary);
        return summary with { Seconds = watch.Elapsed.TotalSeconds };
    }
}
