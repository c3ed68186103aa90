using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Whittle.Data;
using Whittle.Onnx;
using Whittle.Quantization;

namespace Whittle.Optimization;

/// <summary>
/// The data of a trial as values a file can hold: the dataset spec and every setting of
/// <see cref="DataOptions"/>, so that another process (or another machine with the same files)
/// binds exactly the data the search bound (<see cref="Bind"/>). Relative paths in
/// <paramref name="Spec"/> are resolved against the trial process's working directory.
/// </summary>
/// <param name="Spec">The dataset spec (<c>fashion-mnist</c>, <c>idx:DIR</c>, <c>npy:X.npy,y.npy</c>, ...).</param>
/// <param name="Scale">Divide raw features by this first; null for the kind's default.</param>
/// <param name="Mean">Per-channel means, or null.</param>
/// <param name="Std">Per-channel standard deviations, or null.</param>
/// <param name="Categories">Fortunes categories, or null.</param>
/// <param name="Lowercase">Tokenizer: lower-case (new vocabularies).</param>
/// <param name="StripPunctuation">Tokenizer: drop punctuation (new vocabularies).</param>
/// <param name="SequenceLength">Tokenizer: token ids per text.</param>
/// <param name="MaxVocabulary">Tokenizer: most vocabulary entries.</param>
/// <param name="MinFrequency">Tokenizer: fewest occurrences of a word.</param>
/// <param name="TestFraction">Text: the held-out test share.</param>
/// <param name="SplitSeed">Seed of the fixed test split and the ranking candidates.</param>
/// <param name="Negatives">Ranking: negatives per test positive.</param>
/// <param name="TrainNegatives">Ranking: negatives per training positive.</param>
/// <param name="CsvHeader">CSV: whether the first row is a header.</param>
/// <param name="SubwordLength">WordPiece text: token ids per text.</param>
public sealed record TrialData(string Spec, float? Scale, IReadOnlyList<float>? Mean, IReadOnlyList<float>? Std, IReadOnlyList<string>? Categories, bool Lowercase,
    bool StripPunctuation, int SequenceLength, int MaxVocabulary, int MinFrequency, double TestFraction, int SplitSeed, int Negatives, int TrainNegatives, CsvHeader CsvHeader,
    int SubwordLength = Runtime.GeneratedInputs.DefaultSequenceLength)
{
    /// <summary>The spec and options <paramref name="data"/> was bound with.</summary>
    public static TrialData From(BoundData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var o = data.Options;
        var t = o.Tokenizer;
        return new TrialData(data.Spec.ToString(), o.Scale, o.Mean, o.Std, o.Categories, t.Lowercase, t.StripPunctuation, t.SequenceLength, t.MaxSize, t.MinFrequency,
            o.TestFraction, o.SplitSeed, o.Negatives, o.TrainNegatives, o.CsvHeader, o.SubwordLength);
    }

    /// <summary>The data options these values describe (validated by <see cref="DataOptions"/>).</summary>
    public DataOptions ToOptions() => new(Scale, Mean, Std, Categories, new TokenizerOptions(Lowercase, StripPunctuation, SequenceLength, MaxVocabulary, MinFrequency),
        TestFraction, SplitSeed, Negatives, TrainNegatives, CsvHeader, SubwordLength);

    /// <summary>Binds the data to <paramref name="model"/> as the search did.</summary>
    public BoundData Bind(OnnxModel model) => ModelData.Bind(model, Spec, ToOptions());
}

/// <summary>
/// Everything one trial needs, as files and values (the job a trial runner is given; the
/// <c>trial-NNN.spec.json</c> a trial process reads): the input model file, the data, the recipe,
/// the run settings and the budget (for the early stop), the input's measured quality (so a trial
/// does not measure it again), and where the trial writes its model and its record.
/// </summary>
/// <param name="Trial">The trial's index in the candidate order (0-based).</param>
/// <param name="Recipe">The recipe to run.</param>
/// <param name="Model">The input model file.</param>
/// <param name="Data">The data, as the search bound it.</param>
/// <param name="LatencyBatch">Batch size of the latency comparison.</param>
/// <param name="Limit">Train on at most this many samples (null: all).</param>
/// <param name="Threads">Threads for ONNX Runtime and libtorch (0 = one per core).</param>
/// <param name="MaxAccuracyDrop">The budget (points, or percent with <paramref name="Relative"/>).</param>
/// <param name="Relative">The budget is relative to the input's accuracy.</param>
/// <param name="Input">The input model's measured quality.</param>
/// <param name="OutputModel">Where the trial's model is written (atomically) when it finishes.</param>
/// <param name="OutputRecord">Where the trial's <see cref="TrialRecord"/> is written (atomically, JSON) by a trial process.</param>
public sealed record TrialSpec(int Trial, Recipe Recipe, string Model, TrialData Data, int LatencyBatch, int? Limit, int Threads, double MaxAccuracyDrop, bool Relative,
    InputQuality Input, string OutputModel, string OutputRecord)
{
    /// <summary>The run options of the trial.</summary>
    public RecipeRunOptions RunOptions() => new(LatencyBatch, Limit, Threads);

    /// <summary>The search options the early stop judges with.</summary>
    internal SearchOptions Budget() => new(MaxAccuracyDrop, Relative, run: RunOptions());

    /// <summary>The spec as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, TrialJson.Options);

    /// <summary>Reads a spec file.</summary>
    /// <exception cref="InvalidOptionException">The file is missing or is not a trial spec.</exception>
    public static TrialSpec Load(string path)
    {
        if (!File.Exists(path)) throw new InvalidOptionException("TrialSpec", $"trial spec '{path}' does not exist");
        try
        {
            return JsonSerializer.Deserialize<TrialSpec>(File.ReadAllText(path), TrialJson.Options) ?? throw new InvalidOptionException("TrialSpec", $"{path}: empty trial spec");
        }
        catch (JsonException e)
        {
            throw new InvalidOptionException("TrialSpec", $"{path}: not a trial spec ({e.Message})");
        }
    }
}

/// <summary>A trial handed to a runner: its <see cref="TrialSpec"/> and, for a runner in this process, the model and data already loaded.</summary>
/// <param name="Spec">What the trial needs, as files and values.</param>
/// <param name="Model">The input model (the file <see cref="TrialSpec.Model"/> holds it too).</param>
/// <param name="Data">The bound data (<see cref="TrialSpec.Data"/> binds the same).</param>
public sealed record TrialJob(TrialSpec Spec, OnnxModel Model, BoundData Data);

/// <summary>
/// Runs one trial of a search: a recipe, the model and the data in; the trial's record out (and,
/// when it finished, its model at <see cref="TrialSpec.OutputModel"/>). A trial that fails (a job's
/// error, a crashed or killed process) is a record with status <c>failed</c>, never an exception;
/// exceptions are for a runner that cannot run anything (its command does not start). The search
/// calls <see cref="Run"/> from up to <see cref="Workers"/> threads at once.
/// </summary>
public interface ITrialRunner
{
    /// <summary>How many trials may run at once.</summary>
    int Workers { get; }

    /// <summary>Runs the trial and returns its record.</summary>
    /// <param name="job">The trial.</param>
    /// <param name="progress">Receives the trial's stages.</param>
    /// <param name="cancellationToken">Ends the trial (a process runner kills its process).</param>
    TrialRecord Run(TrialJob job, IProgress<JobProgress>? progress, CancellationToken cancellationToken);
}

/// <summary>
/// Runs trials in this process, one at a time: no process start-up, but a native crash (libtorch)
/// or running out of memory ends the whole search. What tests and <c>--workers 0</c> use.
/// </summary>
public sealed class InProcessTrialRunner : ITrialRunner
{
    /// <summary>The one instance (it has no state).</summary>
    public static InProcessTrialRunner Instance { get; } = new();

    private InProcessTrialRunner()
    {
    }

    /// <summary>One: libtorch's thread settings are process-wide, so trials in one process run one after another.</summary>
    public int Workers => 1;

    /// <inheritdoc />
    public TrialRecord Run(TrialJob job, IProgress<JobProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        cancellationToken.ThrowIfCancellationRequested();
        return TrialExecution.Run(job.Model, job.Data, job.Spec, progress);
    }
}

/// <summary>The JSON of trial specs, records and logs: camelCase, enums as names, ∞ as a named literal.</summary>
internal static class TrialJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}

/// <summary>One trial, run here: the recipe with the search's early stop, the model written atomically, the record returned.</summary>
internal static class TrialExecution
{
    public static TrialRecord Run(OnnxModel model, BoundData data, TrialSpec spec, IProgress<JobProgress>? progress)
    {
        var watch = Stopwatch.StartNew();
        var options = spec.Budget();
        var recipe = spec.Recipe;
        double inputValidation = spec.Input.Validation;
        var steps = new List<RecipeStepRecord>();
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
            var result = RecipeRunner.Run(model, data, recipe, options.Run, progress, Continue, spec.Input);
            if (result is null)
                return new TrialRecord(spec.Trial, recipe, "stopped", steps[^1].ValidationAccuracy, steps[^1].Accuracy, steps[^1].MacroF1, null, null, steps[^1].Bytes,
                    watch.Elapsed.TotalSeconds, false, false, stopped, steps);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(spec.OutputModel))!);
            result.Model.Save(spec.OutputModel); // atomic
            return new TrialRecord(spec.Trial, recipe, "done", result.ValidationAfter, result.After.Accuracy, result.After.MacroF1, result.LatencyAfterMs / result.LatencyBeforeMs,
                result.LatencyAfterMs, result.BytesAfter, watch.Elapsed.TotalSeconds, options.Meets(inputValidation, result.ValidationAfter), false, null, steps);
        }
        catch (WhittleException e)
        {
            return new TrialRecord(spec.Trial, recipe, "failed", null, null, null, null, null, null, watch.Elapsed.TotalSeconds, false, false, e.Message, steps);
        }
    }
}

/// <summary>
/// The inside of a trial process (<c>whittle optimize --run-trial SPEC</c>): reads a <see cref="TrialSpec"/>,
/// loads the model, binds the data, runs the trial, and writes its model and then its record, both
/// atomically, so a record on disk always belongs to a complete model. Progress goes to standard
/// output as one JSON line per update, prefixed <see cref="ProgressPrefix"/>.
/// </summary>
public static class TrialProcess
{
    /// <summary>Prefix of a progress line on a trial process's standard output.</summary>
    public const string ProgressPrefix = "whittle-progress ";

    /// <summary>
    /// Test hook: a trial process whose trial number (1-based) is in this environment variable (comma-separated)
    /// ends abnormally (<see cref="Environment.FailFast(string)"/>, SIGABRT) after loading its data, as a native crash would.
    /// </summary>
    public const string CrashHook = "WHITTLE_TEST_CRASH_TRIAL";

    /// <summary>
    /// Test hook: a trial process whose trial number (1-based) is in this environment variable (comma-separated)
    /// hangs after loading its data, as a deadlocked or endlessly slow trial would (what a trial timeout is for).
    /// </summary>
    public const string HangHook = "WHITTLE_TEST_HANG_TRIAL";

    /// <summary>Runs the trial <paramref name="specPath"/> describes; returns its record (also written to <see cref="TrialSpec.OutputRecord"/>).</summary>
    /// <param name="specPath">The trial spec file.</param>
    /// <param name="progressOutput">Where progress lines go (standard output), or null for none.</param>
    /// <param name="exitWithParent">
    /// End this process when standard input reaches its end: the runner that started it holds the other end of
    /// the pipe, so the trial does not outlive a search killed with <c>kill -9</c>. Off for a trial started by a
    /// cluster scheduler, whose standard input may be empty.
    /// </param>
    public static TrialRecord Run(string specPath, TextWriter? progressOutput, bool exitWithParent)
    {
        ArgumentNullException.ThrowIfNull(specPath);
        if (exitWithParent) WatchParent();
        var spec = TrialSpec.Load(specPath);
        var model = OnnxModel.Load(spec.Model);
        var data = spec.Data.Bind(model);
        if ((Environment.GetEnvironmentVariable(CrashHook) ?? "").Split(',', StringSplitOptions.TrimEntries).Contains((spec.Trial + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)))
            Environment.FailFast($"{CrashHook}: trial {spec.Trial + 1} ends abnormally (test hook)");
        if ((Environment.GetEnvironmentVariable(HangHook) ?? "").Split(',', StringSplitOptions.TrimEntries).Contains((spec.Trial + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)))
            Thread.Sleep(Timeout.Infinite);
        var record = TrialExecution.Run(model, data, spec, progressOutput is null ? null : new ProgressLines(progressOutput));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(spec.OutputRecord))!);
        AtomicFile.WriteAllText(spec.OutputRecord, JsonSerializer.Serialize(record, TrialJson.Options) + "\n");
        return record;
    }

    private static void WatchParent()
    {
        var thread = new Thread(() =>
        {
            try
            {
                while (Console.In.Read() >= 0)
                {
                }
            }
            catch (IOException)
            {
            }
            // The runner is gone: so is the trial (no record, no model; the resumed search runs it again).
            Environment.Exit(130);
        })
        { IsBackground = true, Name = "whittle trial parent watch" };
        thread.Start();
    }

    /// <summary>Progress as JSON lines, at most a few per second except stage changes and finished stages.</summary>
    private sealed class ProgressLines(TextWriter output) : IProgress<JobProgress>
    {
        private readonly Lock _lock = new();
        private readonly Stopwatch _watch = Stopwatch.StartNew();
        private string? _stage;
        private TimeSpan _last = TimeSpan.MinValue;

        public void Report(JobProgress value)
        {
            lock (_lock)
            {
                var now = _watch.Elapsed;
                if (value.Stage == _stage && !value.Finished && now - _last < TimeSpan.FromMilliseconds(250)) return;
                _stage = value.Stage;
                _last = now;
                output.WriteLine(ProgressPrefix + JsonSerializer.Serialize(value, ProgressJson));
                output.Flush();
            }
        }
    }

    internal static readonly JsonSerializerOptions ProgressJson = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = false };

    /// <summary>The progress a line carries, or null when it is not a progress line.</summary>
    internal static JobProgress? ParseProgress(string? line)
    {
        if (line is null || !line.StartsWith(ProgressPrefix, StringComparison.Ordinal)) return null;
        try
        {
            return JsonSerializer.Deserialize<JobProgress>(line.AsSpan(ProgressPrefix.Length), ProgressJson);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
