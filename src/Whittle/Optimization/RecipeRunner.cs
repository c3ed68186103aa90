using System.Diagnostics;
using System.Text.Json.Serialization;
using Whittle.Data;
using Whittle.Distillation;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Pruning;
using Whittle.Quantization;
using Whittle.Runtime;
using Whittle.Training;

namespace Whittle.Optimization;

/// <summary>Options of a recipe run. Immutable; validated here.</summary>
public sealed class RecipeRunOptions
{
    /// <summary>The defaults.</summary>
    public static RecipeRunOptions Default { get; } = new();

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="latencyBatch">Batch size of the latency comparison (a fixed-batch model uses its own).</param>
    /// <param name="limit">Train and fine-tune on at most this many samples; null for all.</param>
    /// <param name="threads">Threads for ONNX Runtime and libtorch (0 = one per core).</param>
    /// <exception cref="InvalidOptionException">A value is out of range.</exception>
    public RecipeRunOptions(int latencyBatch = 64, int? limit = null, int threads = 0)
    {
        OptionChecks.Positive(latencyBatch, nameof(LatencyBatch));
        if (limit is < 2) throw new InvalidOptionException(nameof(Limit), $"the sample limit must be at least 2, not {limit}");
        if (threads < 0) throw new InvalidOptionException(nameof(Threads), $"threads must be 0 or more, not {threads}");
        LatencyBatch = latencyBatch;
        Limit = limit;
        Threads = threads;
    }

    /// <summary>Batch size of the latency comparison.</summary>
    public int LatencyBatch { get; }

    /// <summary>At most this many training samples, or null.</summary>
    public int? Limit { get; }

    /// <summary>Threads (0 = one per core).</summary>
    public int Threads { get; }
}

/// <summary>What one step of a recipe left: the model's test accuracy and size after it, and its time.</summary>
/// <param name="Step">The step's description.</param>
/// <param name="Accuracy">Test accuracy after the step (ONNX Runtime).</param>
/// <param name="MacroF1">Test macro-F1 after the step.</param>
/// <param name="Bytes">Serialized size after the step.</param>
/// <param name="Seconds">Time the step took.</param>
/// <param name="Notes">What the step's job reported (warnings, fallbacks).</param>
/// <param name="ValidationAccuracy">Accuracy on the validation split every job holds out from training (what a search selects on).</param>
/// <param name="History">The step's training epochs (pruning recovery, fine-tuning, QAT), as its job recorded them; null when the step does not train (or a log written before they were kept).</param>
/// <param name="Layers">A quantize step's per quantized activation error (SQNR), worst first, as the quantization job measured it; null for other steps.</param>
public sealed record RecipeStepRecord(string Step, double Accuracy, double MacroF1, long Bytes, double Seconds, IReadOnlyList<string> Notes, double ValidationAccuracy,
    IReadOnlyList<EpochRecord>? History = null, IReadOnlyList<LayerError>? Layers = null);

/// <summary>A recipe run: the optimized model and what every step and the whole recipe cost and gained.</summary>
/// <param name="Model">The optimized model (verified in ONNX Runtime by each step's job; <see cref="Save"/> writes it).</param>
/// <param name="Source">The input model.</param>
/// <param name="Recipe">The recipe that was run.</param>
/// <param name="Before">The input model's test accuracy and macro-F1.</param>
/// <param name="After">The optimized model's.</param>
/// <param name="BytesBefore">Input size.</param>
/// <param name="BytesAfter">Output size.</param>
/// <param name="LatencyBeforeMs">Median latency of the input model at <paramref name="LatencyBatch"/>, interleaved with the output.</param>
/// <param name="LatencyAfterMs">Median latency of the output model.</param>
/// <param name="LatencyBatch">The batch timed.</param>
/// <param name="Steps">One record per step.</param>
/// <param name="Seconds">Total time.</param>
/// <param name="ValidationBefore">The input model's accuracy on the held-out validation split.</param>
/// <param name="ValidationAfter">The output model's.</param>
public sealed record RecipeResult([property: JsonIgnore] OnnxModel Model, [property: JsonIgnore] OnnxModel Source, Recipe Recipe, QualitySummary Before, QualitySummary After,
    long BytesBefore, long BytesAfter, double LatencyBeforeMs, double LatencyAfterMs, int LatencyBatch, IReadOnlyList<RecipeStepRecord> Steps, double Seconds,
    double ValidationBefore, double ValidationAfter)
{
    /// <summary>How many times smaller the output is.</summary>
    public double SizeReduction => (double)BytesBefore / BytesAfter;

    /// <summary>How many times faster the output runs at <see cref="LatencyBatch"/>.</summary>
    public double Speedup => LatencyBeforeMs / LatencyAfterMs;

    /// <summary>Writes the model through <see cref="VerifiedModelWriter"/> (atomic; never over an input).</summary>
    public void Save(string path) => VerifiedModelWriter.Write(Model, path, new WriteVerification(Source));
}

/// <summary>The input model's test quality and validation accuracy, which a search measures once for all its trials.</summary>
/// <param name="Test">Test accuracy and macro-F1.</param>
/// <param name="Validation">Accuracy on the validation split every job holds out from training.</param>
public sealed record InputQuality(QualitySummary Test, double Validation);

/// <summary>
/// Runs a <see cref="Recipe"/> exactly: each step is one library job (prune, distill, quantize,
/// fold BatchNorm) on the previous step's model, with the recipe's input model as the teacher of
/// every fine-tuning; then the input and output are timed interleaved and judged on the test split.
/// </summary>
public static class RecipeRunner
{
    /// <summary>Checks every step's values without running anything (the options the steps would build).</summary>
    /// <exception cref="InvalidOptionException">A step's value is out of range or unknown, or quantization comes before a step that trains.</exception>
    public static void Check(Recipe recipe, string label = "recipe")
    {
        ArgumentNullException.ThrowIfNull(recipe);
        bool quantized = false;
        for (int i = 0; i < recipe.Steps.Count; i++)
        {
            var step = recipe.Steps[i];
            try
            {
                if (quantized && step is not FoldBatchNormStep)
                    throw new InvalidOptionException("Steps", "a quantized model is not pruned, trained or quantized again: put quantize last");
                _ = step switch
                {
                    PruneStep p => (object)PruningOptions(p, RecipeRunOptions.Default),
                    FineTuneStep f => DistillationOptions(f, RecipeRunOptions.Default),
                    QuantizeStep q => QuantizationOptions(q, RecipeRunOptions.Default),
                    FoldBatchNormStep => 0,
                    _ => throw new InvalidOptionException("Steps", $"unknown step {step.GetType().Name}"),
                };
                quantized |= step is QuantizeStep;
            }
            catch (InvalidOptionException e)
            {
                throw new InvalidOptionException("Recipe", $"{label}: step {i + 1} ({StepName(step)}): {e.Message}");
            }
        }
    }

    /// <summary>Runs <paramref name="recipe"/> on <paramref name="model"/> (not modified).</summary>
    /// <param name="model">The input model.</param>
    /// <param name="data">Labelled classification data bound to the model (training, calibration, test).</param>
    /// <param name="recipe">The steps.</param>
    /// <param name="options">Latency batch, sample limit, threads.</param>
    /// <param name="progress">Receives every step's stages, prefixed with the step.</param>
    public static RecipeResult Run(OnnxModel model, BoundData data, Recipe recipe, RecipeRunOptions? options = null, IProgress<JobProgress>? progress = null) =>
        Run(model, data, recipe, options, progress, null, null)!;

    /// <summary>
    /// Runs the recipe; after each step <paramref name="continueAfter"/> (when given) sees the step's
    /// index and record and may stop the run, which then returns null (a search's early stop).
    /// <paramref name="input"/> is the input model's quality when the caller has measured it already.
    /// </summary>
    internal static RecipeResult? Run(OnnxModel model, BoundData data, Recipe recipe, RecipeRunOptions? options, IProgress<JobProgress>? progress,
        Func<int, RecipeStepRecord, bool>? continueAfter, InputQuality? input)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        Check(recipe);
        options ??= RecipeRunOptions.Default;
        if (data.Task != ModelTask.Classification || data.Test is not { HasLabels: true } test)
            throw new InvalidOptionException("data", "a recipe is judged on a labelled test split of classification data");
        var total = Stopwatch.StartNew();
        var runtime = RuntimeOptions.ForComparison(options.Threads);
        var evaluation = new EvaluationOptions(runtime: runtime);
        var validation = ValidationSplit(data, options);
        input ??= MeasureInput(model, test, validation, evaluation);
        var current = model;
        var records = new List<RecipeStepRecord>();
        ClassifierEvaluation? quality = null;
        for (int i = 0; i < recipe.Steps.Count; i++)
        {
            var step = recipe.Steps[i];
            var prefix = $"step {i + 1}/{recipe.Steps.Count} {StepName(step)}";
            var stepProgress = progress is null ? null : new InlineProgress<JobProgress>(p => progress.Report(p with { Stage = $"{prefix}: {p.Stage}" }));
            var watch = Stopwatch.StartNew();
            List<string> notes = [];
            // What the step's job already measured, kept for the search's report (no extra work).
            IReadOnlyList<EpochRecord>? history = null;
            IReadOnlyList<LayerError>? layers = null;
            switch (step)
            {
                case PruneStep p:
                {
                    var r = ModelPruner.Prune(current, data, PruningOptions(p, options), stepProgress);
                    current = r.Model!;
                    history = r.FineTuning is { Count: > 0 } h ? h : null;
                    break;
                }
                case FineTuneStep f:
                {
                    var r = ModelDistiller.Distill(current, model, data, DistillationOptions(f, options), stepProgress);
                    current = r.Training.Model;
                    notes.AddRange(r.Notes);
                    history = r.Training.Runs is [{ History.Count: > 0 } run] ? run.History : null;
                    break;
                }
                case QuantizeStep q:
                {
                    var r = ModelQuantizer.Quantize(current, data, QuantizationOptions(q, options), stepProgress);
                    current = r.Model;
                    notes.AddRange(r.Warnings);
                    history = r.Qat?.History is { Count: > 0 } h ? h : null;
                    layers = r.Layers;
                    break;
                }
                case FoldBatchNormStep:
                {
                    var (folded, report) = GraphPreparation.FoldBatchNorms(current);
                    VerifiedModelWriter.Verify(folded, "the folded model", new WriteVerification(current));
                    current = folded;
                    notes.AddRange(report.Skipped);
                    break;
                }
            }
            quality = ModelEvaluator.Classify(current, test, evaluation);
            records.Add(new RecipeStepRecord(step.Describe(), quality.Accuracy, quality.MacroF1, ModelSizeReport.Measure(current).TotalBytes, watch.Elapsed.TotalSeconds, notes,
                ModelEvaluator.Classify(current, validation, evaluation).Accuracy, history, layers));
            if (continueAfter is not null && !continueAfter(i, records[^1])) return null;
        }
        progress?.Report(new JobProgress($"timing input vs output at batch {options.LatencyBatch}", 0, 1));
        int batch = data.Input.FixedBatchSize ?? options.LatencyBatch;
        var pool = test.Subset(Enumerable.Range(0, batch).Select(i => i % test.Count).ToArray());
        var (beforeMs, afterMs) = ModelBenchmark.CompareMedians(model, current, data.Feeds(pool, 0, batch), runtime);
        return new RecipeResult(current, model, recipe, input.Test, QualitySummary.From(quality!), ModelSizeReport.Measure(model).TotalBytes, ModelSizeReport.Measure(current).TotalBytes,
            beforeMs, afterMs, batch, records, total.Elapsed.TotalSeconds, input.Validation, records[^1].ValidationAccuracy);
    }

    /// <summary>The input model's test quality and validation accuracy (<see cref="ValidationSplit"/>).</summary>
    internal static InputQuality MeasureInput(OnnxModel model, TensorDataset test, TensorDataset validation, EvaluationOptions evaluation) =>
        new(QualitySummary.From(ModelEvaluator.Classify(model, test, evaluation)), ModelEvaluator.Classify(model, validation, evaluation).Accuracy);

    /// <summary>
    /// The validation split the jobs hold out from training (the first <see cref="RecipeRunOptions.Limit"/>
    /// training samples, 10 % stratified with seed 0): the prune, distill and QAT jobs never train on it.
    /// </summary>
    internal static TensorDataset ValidationSplit(BoundData data, RecipeRunOptions options) =>
        ModelTrainer.TrainingSplit(data, new ModelTrainingOptions(limit: options.Limit)).Validation;

    private static string StepName(RecipeStep step) => step switch
    {
        PruneStep => "prune",
        FineTuneStep => "fine-tune",
        QuantizeStep => "quantize",
        FoldBatchNormStep => "fold-bn",
        _ => step.GetType().Name,
    };

    private static T Parse<T>(string value, string option) where T : struct, Enum =>
        Enum.TryParse<T>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var v) && Enum.IsDefined(v) ? v
            : throw new InvalidOptionException(option, $"{option} must be one of {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}, not '{value}'");

    internal static ModelPruningOptions PruningOptions(PruneStep p, RecipeRunOptions run)
    {
        var method = Parse<PruningMethod>(p.Method, "method");
        var schedule = new PruningScheduleOptions(Parse<PruningSchedule>(p.Schedule, "schedule"));
        return method switch
        {
            PruningMethod.Channel => new ModelPruningOptions(channel: new ChannelPruningOptions(p.Amount, ImportanceCriterion.Auto, roundTo: p.RoundTo, minChannels: p.MinChannels), schedule: schedule, fineTuneEpochs: p.FineTuneEpochs,
                learningRate: p.LearningRate, limit: run.Limit, threads: run.Threads),
            PruningMethod.Nm => new ModelPruningOptions(nm: new NmSparsityOptions(), schedule: schedule, fineTuneEpochs: p.FineTuneEpochs, learningRate: p.LearningRate,
                limit: run.Limit, threads: run.Threads),
            _ => new ModelPruningOptions(new UnstructuredPruningOptions(p.Amount, p.Global ? MagnitudeScope.Global : MagnitudeScope.LayerWise), schedule: schedule,
                fineTuneEpochs: p.FineTuneEpochs, learningRate: p.LearningRate, limit: run.Limit, threads: run.Threads),
        };
    }

    internal static ModelDistillationOptions DistillationOptions(FineTuneStep f, RecipeRunOptions run)
    {
        var trainer = new TrainerOptions(f.Epochs, 128, new AdamWOptions(f.LearningRate), new CosineAnnealingSchedule(unit: ScheduleUnit.Step));
        // Raw logits: the recovery recipe (a compressed copy learning from its source) was measured with them, as prune's teacher is.
        return new ModelDistillationOptions(new ModelTrainingOptions(trainer, limit: run.Limit, threads: run.Threads), f.Temperature, f.Alpha, standardizeLogits: false);
    }

    internal static ModelQuantizationOptions QuantizationOptions(QuantizeStep q, RecipeRunOptions run)
    {
        var mode = Parse<QuantizationMode>(q.Mode, "mode");
        if (mode is not (QuantizationMode.Static or QuantizationMode.Qat))
            throw new InvalidOptionException("mode", $"a recipe quantizes with mode static or qat, not '{q.Mode}'");
        var weightType = q.WeightBits switch
        {
            8 => QuantizationType.Int8,
            4 => QuantizationType.Int4,
            _ => throw new InvalidOptionException("weightBits", $"weightBits must be 8 or 4, not {q.WeightBits}"),
        };
        return new ModelQuantizationOptions(mode, Parse<QuantizationObjective>(q.Objective, "objective"),
            new StaticQuantizationOptions(calibration: Parse<CalibrationMethod>(q.Calibration, "calibration"), weightType: weightType),
            latencyBatch: run.LatencyBatch, threads: run.Threads, qat: new QatOptions(q.FineTuneEpochs, limit: run.Limit));
    }
}
