using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Reporting;

namespace Whittle.Optimization;

/// <summary>What a search minimizes among the models that meet the accuracy budget.</summary>
public enum SearchObjective
{
    /// <summary>Measured latency relative to the input model (interleaved, this machine).</summary>
    Latency,

    /// <summary>Serialized size.</summary>
    Size,
}

/// <summary>Options of <see cref="RecipeSearch"/>. Immutable; validated here; every default lives here.</summary>
public sealed class SearchOptions
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="maxAccuracyDrop">The largest accepted drop of validation accuracy, in points (or percent of the input's accuracy with <paramref name="relative"/>).</param>
    /// <param name="relative">The drop is relative to the input's accuracy.</param>
    /// <param name="objective">Latency or size.</param>
    /// <param name="timeBudget">No trial starts after this much time; null for no limit.</param>
    /// <param name="trials">At most this many trials; null for every candidate.</param>
    /// <param name="seed">Seed of the sampled candidates after the fixed ones.</param>
    /// <param name="run">Latency batch, sample limit and threads of every trial.</param>
    /// <param name="candidates">Recipes to try instead of <see cref="RecipeSearch.Candidates"/>.</param>
    /// <exception cref="InvalidOptionException">A value is out of range.</exception>
    public SearchOptions(double maxAccuracyDrop = 1.0, bool relative = false, SearchObjective objective = SearchObjective.Latency, TimeSpan? timeBudget = null,
        int? trials = null, int seed = 0, RecipeRunOptions? run = null, IReadOnlyList<Recipe>? candidates = null)
    {
        OptionChecks.InRange(maxAccuracyDrop, nameof(MaxAccuracyDrop), 0, 100, includeMinimum: true, includeMaximum: true);
        OptionChecks.Defined(objective, nameof(Objective));
        if (timeBudget is { } t && t <= TimeSpan.Zero) throw new InvalidOptionException(nameof(TimeBudget), $"the time budget must be positive, not {t}");
        if (trials is < 1) throw new InvalidOptionException(nameof(Trials), $"a search runs at least 1 trial, not {trials}");
        if (candidates is { Count: 0 }) throw new InvalidOptionException(nameof(Candidates), "give at least one candidate recipe, or null for the built-in ones");
        if (candidates is not null) foreach (var c in candidates) RecipeRunner.Check(c);
        MaxAccuracyDrop = maxAccuracyDrop;
        Relative = relative;
        Objective = objective;
        TimeBudget = timeBudget;
        Trials = trials;
        Seed = seed;
        Run = run ?? RecipeRunOptions.Default;
        Candidates = candidates;
    }

    /// <summary>The largest accepted accuracy drop (points, or percent with <see cref="Relative"/>).</summary>
    public double MaxAccuracyDrop { get; }

    /// <summary>The drop is relative to the input's accuracy.</summary>
    public bool Relative { get; }

    /// <summary>Latency or size.</summary>
    public SearchObjective Objective { get; }

    /// <summary>No trial starts after this much time (null: no limit).</summary>
    public TimeSpan? TimeBudget { get; }

    /// <summary>At most this many trials (null: every candidate).</summary>
    public int? Trials { get; }

    /// <summary>Seed of the sampled candidates.</summary>
    public int Seed { get; }

    /// <summary>Per-trial run options.</summary>
    public RecipeRunOptions Run { get; }

    /// <summary>Recipes to try instead of the built-in candidates, or null.</summary>
    public IReadOnlyList<Recipe>? Candidates { get; }

    /// <summary>Whether a validation accuracy is within the budget of the input's.</summary>
    public bool Meets(double inputAccuracy, double accuracy) =>
        (Relative ? (inputAccuracy - accuracy) / inputAccuracy * 100 : (inputAccuracy - accuracy) * 100) <= MaxAccuracyDrop + 1e-9;
}

/// <summary>One trial of a search: a recipe and what it gave (or why it stopped).</summary>
/// <param name="Trial">Index in the candidate order.</param>
/// <param name="Recipe">The recipe.</param>
/// <param name="Status">done, stopped (could not meet the budget any more), or failed.</param>
/// <param name="ValidationAccuracy">Accuracy on the held-out validation split (what the search selects on).</param>
/// <param name="TestAccuracy">Test accuracy.</param>
/// <param name="TestMacroF1">Test macro-F1.</param>
/// <param name="LatencyRatio">Latency over the input model's, timed interleaved at the run's batch.</param>
/// <param name="LatencyMs">Median latency.</param>
/// <param name="Bytes">Serialized size.</param>
/// <param name="Seconds">Time the trial took.</param>
/// <param name="MeetsBudget">Within the accuracy budget.</param>
/// <param name="Pareto">On the Pareto front of (validation accuracy, objective) among finished trials.</param>
/// <param name="Error">Why it failed or stopped.</param>
/// <param name="Steps">Per-step records.</param>
public sealed record TrialRecord(int Trial, Recipe Recipe, string Status, double? ValidationAccuracy, double? TestAccuracy, double? TestMacroF1, double? LatencyRatio,
    double? LatencyMs, long? Bytes, double Seconds, bool MeetsBudget, bool Pareto, string? Error, IReadOnlyList<RecipeStepRecord> Steps);

/// <summary>The trial log on disk: the input's accuracy and every trial so far.</summary>
/// <param name="InputValidationAccuracy">The input model's validation accuracy.</param>
/// <param name="InputTestAccuracy">The input model's test accuracy.</param>
/// <param name="Objective">latency or size.</param>
/// <param name="MaxAccuracyDrop">The budget.</param>
/// <param name="Trials">The trials, in order.</param>
/// <param name="Relative">The budget is a percentage of the input's accuracy, not points.</param>
/// <param name="LatencyBatch">The batch latency was timed at (null in a log written before it was kept).</param>
/// <param name="Limit">Training used at most this many samples (null: all).</param>
public sealed record TrialLog(double InputValidationAccuracy, double InputTestAccuracy, string Objective, double MaxAccuracyDrop, IReadOnlyList<TrialRecord> Trials,
    bool Relative = false, int? LatencyBatch = null, int? Limit = null);

/// <summary>What a search found.</summary>
/// <param name="Best">The winning trial (meets the budget, best objective), or null when none did.</param>
/// <param name="BestModelPath">Where it was written (<see cref="RecipeSearch.BestFile"/> in the work directory), or null.</param>
/// <param name="Log">Every trial.</param>
/// <param name="Resumed">Trials taken from an earlier run's log instead of run again.</param>
/// <param name="Seconds">Time this run took.</param>
/// <param name="InputBytes">The input model's serialized size.</param>
/// <param name="ReportPath">Where the HTML report was written (<see cref="SearchReport.FileName"/> in the work directory), or null.</param>
public sealed record SearchResult(TrialRecord? Best, string? BestModelPath, TrialLog Log, int Resumed, double Seconds, long InputBytes, string? ReportPath = null);

/// <summary>
/// Searches recipes under an accuracy budget: cheap candidates first (post-training quantization
/// without training), then pruning with recovery fine-tuning followed by quantization, then candidates
/// sampled with the seed. Each trial runs <see cref="RecipeRunner"/>, is judged on the validation split
/// every job holds out from training (not the test split, which is only reported), and is stopped
/// early when a step leaves it outside the budget and no later step trains. Trials are logged to
/// <c>trials.json</c> and their models kept in the work directory after each one, so a search killed
/// at any moment and started again with the same directory skips what it has done and ends with the
/// same winner. Trials run in this process, one after another.
/// </summary>
public static class RecipeSearch
{
    /// <summary>The log's file name in the work directory.</summary>
    public const string LogFile = "trials.json";

    /// <summary>The winner's file name in the work directory.</summary>
    public const string BestFile = "best.onnx";

    /// <summary>The winner's recipe's file name in the work directory (re-runnable with <see cref="Recipe.Load"/>).</summary>
    public const string RecipeFile = "recipe.json";

    /// <summary>The report's file name in the work directory (<see cref="SearchReport"/>).</summary>
    public const string ReportFile = SearchReport.FileName;

    // Named literals: a quantized activation identical to its float value has an SQNR of +∞.
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The built-in candidates for an objective, in the order they are tried.</summary>
    public static IReadOnlyList<Recipe> Candidates(SearchObjective objective, int seed)
    {
        Recipe R(params RecipeStep[] steps) => new(steps);
        var list = new List<Recipe>
        {
            R(new QuantizeStep()),
            R(new QuantizeStep(Objective: "size")),
            R(new QuantizeStep("qat", FineTuneEpochs: 1)),
            R(new PruneStep("channel", 0.3, Schedule: "agp", FineTuneEpochs: 2), new QuantizeStep()),
            R(new PruneStep("channel", 0.5, Schedule: "agp", FineTuneEpochs: 3), new QuantizeStep()),
            R(new PruneStep("channel", 0.5, Schedule: "agp", FineTuneEpochs: 3), new QuantizeStep("qat", FineTuneEpochs: 1)),
        };
        if (objective == SearchObjective.Size)
        {
            list.Insert(3, R(new QuantizeStep("qat", 4, "size")));
            list.Add(R(new PruneStep("channel", 0.5, Schedule: "agp", FineTuneEpochs: 3), new QuantizeStep("qat", 4, "size")));
        }
        var random = new Random(seed);
        double[] ratios = [0.25, 0.375, 0.5, 0.625, 0.75];
        var seen = list.Select(r => r.ToJson()).ToHashSet(StringComparer.Ordinal);
        for (int attempts = 0; list.Count < 24 && attempts < 200; attempts++)
        {
            var prune = new PruneStep("channel", ratios[random.Next(ratios.Length)], Schedule: "agp", FineTuneEpochs: random.Next(2, 4));
            int q = random.Next(objective == SearchObjective.Size ? 3 : 2);
            RecipeStep quantize = q switch { 0 => new QuantizeStep(), 1 => new QuantizeStep("qat", FineTuneEpochs: 1), _ => new QuantizeStep("qat", 4, "size") };
            var recipe = R(prune, quantize);
            if (seen.Add(recipe.ToJson())) list.Add(recipe);
        }
        return list;
    }

    /// <summary>
    /// Runs the search; trial models and the log go to <paramref name="workDirectory"/> (created; an
    /// earlier run's log there is resumed), and at the end the winner (<see cref="BestFile"/>, with
    /// <see cref="RecipeFile"/>) and every Pareto model (<c>pareto-NNN.onnx</c>), verified and written atomically,
    /// and the HTML report of every trial (<see cref="ReportFile"/>), also on resume.
    /// </summary>
    public static SearchResult Run(OnnxModel model, BoundData data, SearchOptions options, string workDirectory, IProgress<JobProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        var watch = Stopwatch.StartNew();
        Directory.CreateDirectory(workDirectory);
        var candidates = options.Candidates ?? Candidates(options.Objective, options.Seed);
        int count = Math.Min(candidates.Count, options.Trials ?? int.MaxValue);
        var logPath = Path.Combine(workDirectory, LogFile);
        var previous = ReadLog(logPath);
        var runtime = Runtime.RuntimeOptions.ForComparison(options.Run.Threads);
        var evaluation = new Evaluation.EvaluationOptions(runtime: runtime);
        if (data.Task != ModelTask.Classification || data.Test is not { HasLabels: true } test)
            throw new InvalidOptionException("data", "a search judges trials on classification data with a labelled test split");
        // Measured once; every trial compares against the same numbers.
        var input = RecipeRunner.MeasureInput(model, test, RecipeRunner.ValidationSplit(data, options.Run), evaluation);
        double inputValidation = input.Validation, inputTest = input.Test.Accuracy;
        long inputBytes = Evaluation.ModelSizeReport.Measure(model).TotalBytes;
        var trials = new List<TrialRecord>();
        int resumed = 0;
        for (int i = 0; i < count; i++)
        {
            var recipe = candidates[i];
            var done = previous?.Trials.FirstOrDefault(p => p.Trial == i && p.Recipe.ToJson() == recipe.ToJson());
            if (done is not null && (done.Status != "done" || File.Exists(TrialModelPath(workDirectory, i))))
            {
                trials.Add(done);
                resumed++;
                continue;
            }
            if (options.TimeBudget is { } budget && watch.Elapsed >= budget) break;
            trials.Add(RunTrial(model, data, options, recipe, i, input, workDirectory, progress, Best(trials, options, inputBytes)));
            WriteLog(logPath, Log(inputValidation, inputTest, options, trials));
        }
        var log = Log(inputValidation, inputTest, options, trials);
        WriteLog(logPath, log);
        var best = Best(log.Trials, options, inputBytes);
        // The outputs: every Pareto model and the winner with its recipe, each verified against the input in ONNX Runtime.
        foreach (var t in log.Trials.Where(t => t.Pareto))
            VerifiedModelWriter.Write(OnnxModel.Load(TrialModelPath(workDirectory, t.Trial)), Path.Combine(workDirectory, $"pareto-{t.Trial:D3}.onnx"), new WriteVerification(model));
        string? bestPath = null;
        if (best is not null)
        {
            bestPath = Path.Combine(workDirectory, BestFile);
            VerifiedModelWriter.Write(OnnxModel.Load(TrialModelPath(workDirectory, best.Trial)), bestPath, new WriteVerification(model));
            best.Recipe.Save(Path.Combine(workDirectory, RecipeFile));
        }
        // Drawn once at the end (never between trials): the plots are the only ScottPlot work of a search.
        progress?.Report(new JobProgress("writing " + ReportFile, 0, 1));
        var result = new SearchResult(best, bestPath, log, resumed, watch.Elapsed.TotalSeconds, inputBytes);
        var reportPath = Path.Combine(workDirectory, ReportFile);
        SearchReport.Write(reportPath, result, model.SourcePath is { } source ? Path.GetFileName(source) : model.Graph.Name);
        return result with { ReportPath = reportPath };
    }

    /// <summary>Where trial <paramref name="trial"/>'s model is kept.</summary>
    public static string TrialModelPath(string workDirectory, int trial) => Path.Combine(workDirectory, "trials", $"trial-{trial:D3}.onnx");

    private static TrialRecord RunTrial(OnnxModel model, BoundData data, SearchOptions options, Recipe recipe, int index, RecipeRunner.InputQuality input, string workDirectory,
        IProgress<JobProgress>? progress, TrialRecord? bestSoFar)
    {
        var watch = Stopwatch.StartNew();
        double inputValidation = input.Validation;
        var steps = new List<RecipeStepRecord>();
        string label = $"trial {index + 1}" + (bestSoFar is null ? "" : $" (best so far: trial {bestSoFar.Trial + 1}, {Describe(bestSoFar, options)})");
        var trialProgress = progress is null ? null : new InlineProgress<JobProgress>(p => progress.Report(p with { Stage = $"{label}: {p.Stage}" }));
        string? stopped = null;
        bool Continue(int step, RecipeStepRecord record)
        {
            steps.Add(record);
            // Steps after this one that train can still recover accuracy; a quantize step without training only loses it.
            bool canRecover = recipe.Steps.Skip(step + 1).Any(s => s is FineTuneStep or PruneStep { FineTuneEpochs: > 0 } or QuantizeStep { Mode: "qat" });
            if (options.Meets(inputValidation, record.ValidationAccuracy) || canRecover || step == recipe.Steps.Count - 1) return true;
            stopped = $"stopped after step {step + 1} ({record.Step}): validation accuracy {record.ValidationAccuracy:P2} is outside the budget and no later step trains";
            return false;
        }
        try
        {
            var result = RecipeRunner.Run(model, data, recipe, options.Run, trialProgress, Continue, input);
            if (result is null)
                return new TrialRecord(index, recipe, "stopped", steps[^1].ValidationAccuracy, steps[^1].Accuracy, steps[^1].MacroF1, null, null, steps[^1].Bytes,
                    watch.Elapsed.TotalSeconds, false, false, stopped, steps);
            var path = TrialModelPath(workDirectory, index);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            result.Model.Save(path + ".tmp");
            File.Move(path + ".tmp", path, overwrite: true);
            return new TrialRecord(index, recipe, "done", result.ValidationAfter, result.After.Accuracy, result.After.MacroF1, result.LatencyAfterMs / result.LatencyBeforeMs,
                result.LatencyAfterMs, result.BytesAfter, watch.Elapsed.TotalSeconds, options.Meets(inputValidation, result.ValidationAfter), false, null, steps);
        }
        catch (WhittleException e)
        {
            return new TrialRecord(index, recipe, "failed", null, null, null, null, null, null, watch.Elapsed.TotalSeconds, false, false, e.Message, steps);
        }
    }

    private static string Describe(TrialRecord t, SearchOptions options) =>
        options.Objective == SearchObjective.Latency ? $"{t.LatencyRatio:F2}× latency, {t.ValidationAccuracy:P2}" : $"{t.Bytes / 1024.0:F0} KiB, {t.ValidationAccuracy:P2}";

    private static double Cost(TrialRecord t, SearchOptions options) => options.Objective == SearchObjective.Latency ? t.LatencyRatio!.Value : t.Bytes!.Value;

    /// <summary>
    /// The finished trial within the budget with the lowest cost (ties: higher validation accuracy, then
    /// the earlier trial) that improves on the input: faster than it under the latency objective (a
    /// model slower than its input is never the answer), smaller under the size objective.
    /// </summary>
    private static TrialRecord? Best(IEnumerable<TrialRecord> trials, SearchOptions options, long inputBytes) =>
        trials.Where(t => t.Status == "done" && t.MeetsBudget && (options.Objective == SearchObjective.Size ? t.Bytes < inputBytes : t.LatencyRatio < 1)).OrderBy(t => Cost(t, options)).ThenByDescending(t => t.ValidationAccuracy).ThenBy(t => t.Trial).FirstOrDefault();

    private static TrialLog Log(double inputValidation, double inputTest, SearchOptions options, IReadOnlyList<TrialRecord> trials)
    {
        var done = trials.Where(t => t.Status == "done").ToList();
        bool Dominated(TrialRecord t) => done.Any(o => o != t && o.ValidationAccuracy >= t.ValidationAccuracy && Cost(o, options) <= Cost(t, options)
            && (o.ValidationAccuracy > t.ValidationAccuracy || Cost(o, options) < Cost(t, options)));
        var marked = trials.Select(t => t with { Pareto = t.Status == "done" && !Dominated(t) }).ToList();
        return new TrialLog(inputValidation, inputTest, options.Objective.ToString().ToLowerInvariant(), options.MaxAccuracyDrop, marked, options.Relative,
            options.Run.LatencyBatch, options.Run.Limit);
    }

    private static TrialLog? ReadLog(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<TrialLog>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new DataFormatException($"{path}: the trial log of an earlier search cannot be read ({e.Message}); remove it or use another output directory");
        }
    }

    private static void WriteLog(string path, TrialLog log) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(log, Json) + "\n");
}
