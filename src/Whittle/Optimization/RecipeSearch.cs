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

    /// <summary>These options with another time budget (a several-model search's share).</summary>
    internal SearchOptions WithTimeBudget(TimeSpan? timeBudget) => new(MaxAccuracyDrop, Relative, Objective, timeBudget, Trials, Seed, Run, Candidates);

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
/// <param name="ExitCode">The exit code of a trial process that ended abnormally (a crash, an out-of-memory kill); null otherwise.</param>
public sealed record TrialRecord(int Trial, Recipe Recipe, string Status, double? ValidationAccuracy, double? TestAccuracy, double? TestMacroF1, double? LatencyRatio,
    double? LatencyMs, long? Bytes, double Seconds, bool MeetsBudget, bool Pareto, string? Error, IReadOnlyList<RecipeStepRecord> Steps, int? ExitCode = null);

/// <summary>The trial log on disk: the input's accuracy and every trial so far.</summary>
/// <param name="InputValidationAccuracy">The input model's validation accuracy.</param>
/// <param name="InputTestAccuracy">The input model's test accuracy.</param>
/// <param name="Objective">latency or size.</param>
/// <param name="MaxAccuracyDrop">The budget.</param>
/// <param name="Trials">The trials, in order.</param>
/// <param name="Relative">The budget is a percentage of the input's accuracy, not points.</param>
/// <param name="LatencyBatch">The batch latency was timed at (null in a log written before it was kept).</param>
/// <param name="Limit">Training used at most this many samples (null: all).</param>
/// <param name="Sensitivity">The search's cheap first estimate: validation accuracy with each channel group of the input pruned alone
/// (<see cref="SearchSensitivity"/>), or null when it was not measured (given candidates, or a model without channel groups).</param>
public sealed record TrialLog(double InputValidationAccuracy, double InputTestAccuracy, string Objective, double MaxAccuracyDrop, IReadOnlyList<TrialRecord> Trials,
    bool Relative = false, int? LatencyBatch = null, int? Limit = null, Pruning.SensitivityReport? Sensitivity = null);

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
/// same winner. Trials run through an <see cref="ITrialRunner"/>: in this process one after another, or each
/// in its own process (<see cref="ProcessTrialRunner"/>), so a crash ends one trial and not the search.
/// </summary>
public static partial class RecipeSearch
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

    /// <summary>The most trials a search with the built-in candidates runs (unless <see cref="SearchOptions.Trials"/> says fewer).</summary>
    public const int MaxTrials = 24;

    /// <summary>
    /// The fixed, cheap-first candidates for an objective, in the order they are tried. Under latency, QAT int8 of
    /// the unpruned model comes after the pruned candidates: it keeps PTQ's operators (it can only win
    /// back accuracy, not time) and is the slowest trial to run (12 minutes on the 3-conv CNN here), so
    /// before it the budget goes to the trials that change the latency. After these a search proposes
    /// channel ratios by <see cref="BoundarySampler"/>, and falls back to the seeded rest of <see cref="Candidates"/>.
    /// </summary>
    public static IReadOnlyList<Recipe> FixedCandidates(SearchObjective objective)
    {
        Recipe R(params RecipeStep[] steps) => new(steps);
        int round = ChannelRounding(objective), floor = ChannelFloor(objective);
        var placed = PlacedStatic(objective);
        var qat = R(new QuantizeStep("qat", FineTuneEpochs: 1));
        var list = new List<Recipe>
        {
            R(new QuantizeStep()),
            R(new QuantizeStep(Objective: "size")),
            R(new PruneStep("channel", 0.3, FineTuneEpochs: 3, RoundTo: round, MinChannels: floor), placed),
            R(new PruneStep("channel", 0.5, FineTuneEpochs: 3, RoundTo: round, MinChannels: floor), placed),
            R(new PruneStep("channel", 0.5, FineTuneEpochs: 3, RoundTo: round, MinChannels: floor), new QuantizeStep("qat", FineTuneEpochs: 1)),
        };
        // Under latency also pruning alone (prune's defaults): on narrow layers int8 kernels can be slower than float ones.
        if (objective == SearchObjective.Latency) list.Insert(4, R(new PruneStep("channel", 0.5, FineTuneEpochs: 3, RoundTo: round, MinChannels: floor)));
        list.Insert(objective == SearchObjective.Size ? 2 : list.Count, qat);
        if (objective == SearchObjective.Size)
        {
            list.Insert(3, R(new QuantizeStep("qat", 4, "size")));
            list.Add(R(new PruneStep("channel", 0.5, FineTuneEpochs: 3, RoundTo: round, MinChannels: floor), new QuantizeStep("qat", 4, "size")));
        }
        return list;
    }

    /// <summary>
    /// The multiple kept channel widths are rounded to in the search's channel-pruning steps: 8 under latency, 1 (none) under size.
    /// ONNX Runtime's convolutions run widths that are not a multiple of 8 on a slow path: the PyTorch ResNet-8 16/32/64 pruned
    /// 30 % to 11/22/45 channels ran 1.31× the dense model's time at batch 64, rounded to 8/24/48 0.85× (1 thread, docs/optimize.md).
    /// </summary>
    public static int ChannelRounding(SearchObjective objective) => objective == SearchObjective.Latency ? 8 : 1;

    /// <summary>
    /// The fewest channels a group keeps in the search's channel-pruning steps: 16 under latency, 1 under size. ONNX Runtime's fast
    /// int8 convolution kernel (x86 "ConvSym") needs at least 16 output channels; below that an int8 convolution takes a generic
    /// path, which is why a 16-channel stage pruned to 8 made pruned int8 models slower than unpruned ones (docs/optimize.md).
    /// </summary>
    public static int ChannelFloor(SearchObjective objective) => objective == SearchObjective.Latency ? 16 : 1;

    /// <summary>The static int8 step a pruned model gets in the search: placed for the objective (under size every node that can be int8 is).</summary>
    internal static QuantizeStep PlacedStatic(SearchObjective objective) => objective == SearchObjective.Size ? new QuantizeStep(Objective: "size") : new QuantizeStep();

    /// <summary>
    /// The fixed candidates (<see cref="FixedCandidates"/>) followed by channel-pruning recipes sampled with the seed, up to
    /// <see cref="MaxTrials"/>: the order a search falls back to when <see cref="BoundarySampler"/> has nothing to propose.
    /// </summary>
    public static IReadOnlyList<Recipe> Candidates(SearchObjective objective, int seed)
    {
        Recipe R(params RecipeStep[] steps) => new(steps);
        var list = FixedCandidates(objective).ToList();
        var random = new Random(seed);
        double[] ratios = [0.25, 0.375, 0.5, 0.625, 0.75];
        var seen = list.Select(r => r.ToJson()).ToHashSet(StringComparer.Ordinal);
        for (int attempts = 0; list.Count < MaxTrials && attempts < 200; attempts++)
        {
            var prune = new PruneStep("channel", ratios[random.Next(ratios.Length)], FineTuneEpochs: random.Next(2, 4), RoundTo: ChannelRounding(objective), MinChannels: ChannelFloor(objective));
            int q = random.Next(objective == SearchObjective.Size ? 3 : 2);
            RecipeStep quantize = q switch { 0 => PlacedStatic(objective), 1 => new QuantizeStep("qat", FineTuneEpochs: 1), _ => new QuantizeStep("qat", 4, "size") };
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
    /// <param name="model">The input model (not modified).</param>
    /// <param name="data">Labelled classification data bound to it.</param>
    /// <param name="options">Budget, objective, candidates, per-trial settings.</param>
    /// <param name="workDirectory">Where the log, the trials' models and the outputs go.</param>
    /// <param name="progress">Receives each trial's stages (prefixed with the trial, the best so far and the budget left) and a <c>search</c> stage after each trial.</param>
    /// <param name="runner">Runs the trials: null for <see cref="InProcessTrialRunner"/>; a <see cref="ProcessTrialRunner"/> runs each in its own process, up to its worker count at once.</param>
    public static SearchResult Run(OnnxModel model, BoundData data, SearchOptions options, string workDirectory, IProgress<JobProgress>? progress = null, ITrialRunner? runner = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        runner ??= InProcessTrialRunner.Instance;
        var watch = Stopwatch.StartNew();
        Directory.CreateDirectory(workDirectory);
        // Built-in candidates: the fixed cheap-first list, then ratios proposed from the trials so far
        // (BoundarySampler), then the seeded fallback list. Given candidates run as given.
        bool builtIn = options.Candidates is null;
        var fallback = options.Candidates ?? Candidates(options.Objective, options.Seed);
        int count = Math.Min(builtIn ? MaxTrials : fallback.Count, options.Trials ?? int.MaxValue);
        var candidates = (builtIn ? FixedCandidates(options.Objective) : fallback).Take(count).ToList();
        var logPath = Path.Combine(workDirectory, LogFile);
        var previous = ReadLog(logPath);
        var runtime = Runtime.RuntimeOptions.ForComparison(options.Run.Threads);
        var evaluation = new Evaluation.EvaluationOptions(runtime: runtime);
        if (data.Task != ModelTask.Classification || data.Test is not { HasLabels: true } test)
            throw new InvalidOptionException("data", "a search judges trials on classification data with a labelled test split");
        // Measured once; every trial compares against the same numbers.
        var validation = RecipeRunner.ValidationSplit(data, options.Run);
        var input = RecipeRunner.MeasureInput(model, test, validation, evaluation);
        double inputValidation = input.Validation, inputTest = input.Test.Accuracy;
        long inputBytes = Evaluation.ModelSizeReport.Measure(model).TotalBytes;
        var trials = new SortedDictionary<int, TrialRecord>();
        var pending = new Queue<int>();
        int resumed = 0;
        bool Resume(int i)
        {
            // An earlier run's trial is taken when it ran the same recipe at the same place (and its model is on disk).
            var done = previous?.Trials.FirstOrDefault(p => p.Trial == i && p.Recipe.ToJson() == candidates[i].ToJson());
            if (done is null || (done.Status == "done" && !File.Exists(TrialModelPath(workDirectory, i)))) return false;
            trials[i] = done;
            resumed++;
            return true;
        }
        for (int i = 0; i < candidates.Count; i++)
            if (!Resume(i)) pending.Enqueue(i);
        // The cheap estimate first (seconds, no training): how each channel group alone takes pruning; kept in the log, drawn in the report.
        var sensitivity = previous?.Sensitivity ?? (builtIn ? SearchSensitivity.Measure(model, validation, progress) : null);
        // The next trial to start, or null when there is none: the queue first, then a proposal from what is logged so far
        // (deterministic in the log, so a resumed search proposes what the interrupted one did; resumed proposals are taken, not run).
        int? Next()
        {
            while (true)
            {
                if (pending.TryDequeue(out int queued)) return queued;
                if (!builtIn || candidates.Count >= count) return null;
                var tried = candidates.Select(c => c.ToJson()).ToHashSet(StringComparer.Ordinal);
                var recipe = BoundarySampler.Propose(trials.Values.ToList(), options.Objective, tried) ?? fallback.FirstOrDefault(c => !tried.Contains(c.ToJson()));
                if (recipe is null) return null;
                candidates.Add(recipe);
                if (!Resume(candidates.Count - 1)) return candidates.Count - 1;
            }
        }
        // Trials in other processes read the input from a file; trials in this one take the model in memory.
        var inputFile = runner is InProcessTrialRunner ? model.SourcePath ?? "" : pending.Count > 0 || (builtIn && candidates.Count < count) ? TrialInputFile(model, data, workDirectory) : "";
        // Several trial processes share the cores: each gets its share unless the threads were set.
        int threads = options.Run.Threads == 0 && runner.Workers > 1 ? Math.Max(1, Environment.ProcessorCount / runner.Workers) : options.Run.Threads;
        var trialData = TrialData.From(data);
        var gate = new Lock();
        var live = new SearchProgress(progress, options, count, watch, gate);
        TrialJob Job(int i) => new(new TrialSpec(i, candidates[i], inputFile, trialData, options.Run.LatencyBatch, options.Run.Limit, threads, options.MaxAccuracyDrop,
            options.Relative, input, TrialModelPath(workDirectory, i), TrialRecordPath(workDirectory, i)), model, data);
        bool BudgetLeft() => options.TimeBudget is not { } budget || watch.Elapsed < budget;
        void Finished(TrialRecord record)
        {
            // The log holds every finished trial in candidate order, rewritten atomically after each one.
            lock (gate)
            {
                trials[record.Trial] = record;
                WriteLog(logPath, Log(inputValidation, inputTest, options, trials.Values.ToList(), sensitivity));
                live.Finished(record, Best(trials.Values, options, inputBytes), Math.Max(0, count - trials.Count));
            }
        }
        if (runner.Workers <= 1)
        {
            while (BudgetLeft() && Next() is int i)
            {
                Finished(runner.Run(Job(i), live.ForTrial(i, Best(trials.Values, options, inputBytes)), CancellationToken.None));
            }
        }
        else
        {
            using var cancel = new CancellationTokenSource();
            var running = new List<Task>();
            try
            {
                while (true)
                {
                    lock (gate)
                    {
                        while (running.Count < runner.Workers && BudgetLeft() && Next() is int i)
                        {
                            var job = Job(i);
                            var trialProgress = live.ForTrial(i, Best(trials.Values, options, inputBytes));
                            running.Add(Task.Factory.StartNew(() => Finished(runner.Run(job, trialProgress, cancel.Token)), cancel.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default));
                        }
                    }
                    if (running.Count == 0) break;
                    var ended = running[Task.WaitAny([.. running])];
                    running.Remove(ended);
                    ended.GetAwaiter().GetResult();
                }
            }
            catch
            {
                // A runner that cannot run (not a trial that failed): stop the others before giving up.
                cancel.Cancel();
                try
                {
                    Task.WaitAll([.. running]);
                }
                catch (AggregateException)
                {
                }
                throw;
            }
        }
        var log = Log(inputValidation, inputTest, options, trials.Values.ToList(), sensitivity);
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

    /// <summary>Where a trial process writes trial <paramref name="trial"/>'s record (its spec is <c>trial-NNN.spec.json</c> beside it).</summary>
    public static string TrialRecordPath(string workDirectory, int trial) => Path.Combine(workDirectory, "trials", $"trial-{trial:D3}.json");

    /// <summary>The file trials read the input model from: <c>trials/input.onnx</c> in the work directory (with a text model's vocabulary beside it).</summary>
    public static string InputModelPath(string workDirectory) => Path.Combine(workDirectory, "trials", "input.onnx");

    private static string TrialInputFile(OnnxModel model, BoundData data, string workDirectory)
    {
        // The model as it is in memory (it may have been edited since it was loaded), where every trial process finds it.
        var path = InputModelPath(workDirectory);
        if (model.SourcePath is { } source && string.Equals(Path.GetFullPath(source), Path.GetFullPath(path), StringComparison.Ordinal)) return path;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        model.Save(path);
        data.WriteBeside(path);
        return path;
    }

    /// <summary>The live view of a search: each trial's stages with the best so far and the time budget left, and a line after every trial.</summary>
    private sealed class SearchProgress(IProgress<JobProgress>? progress, SearchOptions options, int count, Stopwatch watch, Lock gate)
    {
        private int _finished;

        private string Left() => options.TimeBudget is { } b
            ? (b - watch.Elapsed) is var left && left > TimeSpan.Zero ? $"{Duration(left)} of {Duration(b)} left" : $"time budget of {Duration(b)} spent: no new trial starts"
            : "no time budget";

        public IProgress<JobProgress>? ForTrial(int index, TrialRecord? best)
        {
            if (progress is null) return null;
            string label = $"trial {index + 1}/{count}";
            string bestText = best is null ? "best: none yet" : $"best: trial {best.Trial + 1}, {Describe(best, options)}";
            // The search's state first: a terminal cuts a long line at its end, where the job's own detail is.
            return new InlineProgress<JobProgress>(p =>
            {
                lock (gate) progress.Report(p with { Stage = $"{label}: {p.Stage}", Detail = $"[{bestText} · {Left()}]{(p.Detail is null ? "" : " " + p.Detail)}" });
            });
        }

        public void Finished(TrialRecord record, TrialRecord? best, int pending)
        {
            _finished++;
            if (progress is null) return;
            string what = record.Status switch
            {
                "done" => $"done: validation {record.ValidationAccuracy:P2}, {(options.Objective == SearchObjective.Latency ? $"{record.LatencyRatio:F2}× latency" : $"{record.Bytes / 1024.0:F1} KiB")}" +
                    (record.MeetsBudget ? "" : " (outside the budget)"),
                "stopped" => "stopped early",
                _ => "failed" + (record.ExitCode is { } c ? $" (exit code {c})" : ""),
            };
            progress.Report(new JobProgress("search", _finished, Math.Max(_finished + pending, 1),
                $"trial {record.Trial + 1} {what} · best so far: {(best is null ? "none" : $"trial {best.Trial + 1}, {Describe(best, options)}")} · {Left()}", Finished: true));
        }

        private static string Duration(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds:00}s" : $"{t.TotalSeconds:0}s";
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

    private static TrialLog Log(double inputValidation, double inputTest, SearchOptions options, IReadOnlyList<TrialRecord> trials, Pruning.SensitivityReport? sensitivity)
    {
        var done = trials.Where(t => t.Status == "done").ToList();
        bool Dominated(TrialRecord t) => done.Any(o => o != t && o.ValidationAccuracy >= t.ValidationAccuracy && Cost(o, options) <= Cost(t, options)
            && (o.ValidationAccuracy > t.ValidationAccuracy || Cost(o, options) < Cost(t, options)));
        var marked = trials.Select(t => t with { Pareto = t.Status == "done" && !Dominated(t) }).ToList();
        return new TrialLog(inputValidation, inputTest, options.Objective.ToString().ToLowerInvariant(), options.MaxAccuracyDrop, marked, options.Relative,
            options.Run.LatencyBatch, options.Run.Limit, sensitivity);
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
