using System.Text.Json.Serialization;
using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Quantization;

/// <summary>Which post-training quantization <see cref="ModelQuantizer"/> applies.</summary>
public enum QuantizationMode
{
    /// <summary>Calibrated int8 activations and weights in QDQ form (needs data).</summary>
    Static,

    /// <summary>int8 weights, activations quantized at run time (MatMul, Gemm, Gather).</summary>
    Dynamic,

    /// <summary>Weight-only int4 (<c>MatMulNBits</c>), blockwise.</summary>
    Int4,

    /// <summary>Quantization-aware training: static quantization (int8, or int4 weights), then fine-tuning with fake quantization (needs labelled data).</summary>
    Qat,
}

/// <summary>What static quantization optimizes for.</summary>
public enum QuantizationObjective
{
    /// <summary>
    /// Place int8 where it is faster on this machine (candidates proposed by per-node profiles, chosen by
    /// whole-model timings), and never deliver a model that is not faster than float beyond the measured
    /// noise (see <see cref="ModelQuantizationOptions.AllowSlower"/>).
    /// </summary>
    Latency,

    /// <summary>Every supported node in int8 (smallest file, no profiling).</summary>
    Size,

    /// <summary>Every supported node in int8, then compute nodes whose own output SQNR is below <see cref="ModelQuantizationOptions.MinSqnrDb"/> back to float.</summary>
    Accuracy,
}

/// <summary>Options of the quantization job. Immutable; validated here; every default lives here.</summary>
public sealed class ModelQuantizationOptions
{
    /// <summary>The options with every default.</summary>
    public static ModelQuantizationOptions Default { get; } = new();

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="mode">Static, dynamic or int4.</param>
    /// <param name="objective">Static: latency (placement by profiling), size (all int8) or accuracy (low-SQNR nodes float).</param>
    /// <param name="quantization">Static calibration, types, granularity and exclusions; dynamic and int4 use its <see cref="StaticQuantizationOptions.Exclude"/> and <see cref="StaticQuantizationOptions.PerChannel"/>.</param>
    /// <param name="blockSize">Int4: values per block (32, 64 or 128).</param>
    /// <param name="verifySamples">Held-out samples for the per-layer error report and the agreement check.</param>
    /// <param name="evaluationLimit">Evaluate accuracy before and after on at most this many labelled samples; null for all.</param>
    /// <param name="latencyBatch">Batch size of placement and the latency comparison (a fixed-batch model uses its own); null for the default (64), or give <paramref name="latencyBatches"/>.</param>
    /// <param name="minSqnrDb">Objective accuracy: keep compute nodes whose output SQNR (dB) is below this in float.</param>
    /// <param name="minCosine">Refuse a model whose outputs' mean cosine similarity to the float model is below this.</param>
    /// <param name="threads">ONNX Runtime intra-op threads (0 = one per core).</param>
    /// <param name="qat">Quantization-aware training: the training recipe; null for <see cref="QatOptions.Default"/>.</param>
    /// <param name="latencyBatches">The batch sizes the model is deployed at: placement chooses the best over the set, and the latency comparison is reported per batch size (a fixed-batch model uses its own). Null for [<paramref name="latencyBatch"/>].</param>
    /// <param name="allowSlower">Objective latency: deliver the int8 model (with a warning) even when it is not faster than float beyond the noise, instead of refusing it.</param>
    /// <param name="latencyTimer">Where whole-model timings come from; null for ONNX Runtime (<see cref="OrtLatencyTimer.Default"/>). Tests inject their own.</param>
    /// <param name="sequenceLength">Without data: the size of symbolic non-batch dimensions (a transformer's sequence) in the generated inputs that verify and time the model.</param>
    /// <param name="smoothAlpha">Dynamic mode: SmoothQuant-style scaling of the quantized MatMuls' inputs with this migration strength (0.5 is the paper's), measured on the data's calibration samples, before quantizing (<see cref="ActivationSmoothing"/>); null for none.</param>
    /// <exception cref="InvalidOptionException">A value is out of range, or both batch options are given.</exception>
    public ModelQuantizationOptions(QuantizationMode mode = QuantizationMode.Static, QuantizationObjective objective = QuantizationObjective.Latency,
        StaticQuantizationOptions? quantization = null, int blockSize = Int4QuantizationOptions.DefaultBlockSize, int verifySamples = 256, int? evaluationLimit = null,
        int? latencyBatch = null, double minSqnrDb = 20, double minCosine = 0.9, int threads = 0, QatOptions? qat = null,
        IReadOnlyList<int>? latencyBatches = null, bool allowSlower = false, ILatencyTimer? latencyTimer = null, int sequenceLength = GeneratedInputs.DefaultSequenceLength,
        double? smoothAlpha = null)
    {
        if (smoothAlpha is { } alpha && !(alpha >= 0 && alpha <= 1)) throw new InvalidOptionException(nameof(SmoothAlpha), $"the smoothing strength must be in [0, 1], not {alpha}");
        if (smoothAlpha is not null && mode != QuantizationMode.Dynamic) throw new InvalidOptionException(nameof(SmoothAlpha), $"activation smoothing is a dynamic-mode option, not {mode.ToString().ToLowerInvariant()}");
        OptionChecks.Positive(sequenceLength, nameof(SequenceLength));
        if (!Enum.IsDefined(mode)) throw new InvalidOptionException(nameof(Mode), $"unknown quantization mode {mode}");
        if (!Enum.IsDefined(objective)) throw new InvalidOptionException(nameof(Objective), $"unknown objective {objective}");
        if (blockSize is not (32 or 64 or 128)) throw new InvalidOptionException(nameof(BlockSize), $"the int4 block size must be 32, 64 or 128, not {blockSize}");
        if (verifySamples < 1) throw new InvalidOptionException(nameof(VerifySamples), $"verification needs at least 1 sample, not {verifySamples}");
        if (evaluationLimit is < 1) throw new InvalidOptionException(nameof(EvaluationLimit), $"the evaluation limit must be at least 1, not {evaluationLimit}");
        if (latencyBatch < 1) throw new InvalidOptionException(nameof(LatencyBatch), $"the latency batch must be at least 1, not {latencyBatch}");
        if (latencyBatch is not null && latencyBatches is not null)
            throw new InvalidOptionException(nameof(LatencyBatches), "give the latency batch or the set of latency batches, not both");
        var batchSet = latencyBatches?.ToArray() ?? [latencyBatch ?? DefaultLatencyBatch];
        if (batchSet.Length == 0) throw new InvalidOptionException(nameof(LatencyBatches), "the set of latency batches is empty");
        if (batchSet.Any(b => b < 1)) throw new InvalidOptionException(nameof(LatencyBatches), $"a latency batch must be at least 1, not {batchSet.First(b => b < 1)}");
        if (batchSet.Distinct().Count() != batchSet.Length) throw new InvalidOptionException(nameof(LatencyBatches), $"the latency batches [{string.Join(",", batchSet)}] repeat a batch size");
        if (!double.IsFinite(minSqnrDb)) throw new InvalidOptionException(nameof(MinSqnrDb), $"the SQNR bound must be a number, not {minSqnrDb}");
        if (!(minCosine >= -1 && minCosine <= 1)) throw new InvalidOptionException(nameof(MinCosine), $"the cosine bound must be in [-1, 1], not {minCosine}");
        if (threads < 0) throw new InvalidOptionException(nameof(Threads), $"threads must be 0 (one per core) or more, not {threads}");
        quantization ??= StaticQuantizationOptions.Default;
        if (quantization.WeightType == QuantizationType.Int4 && mode is not (QuantizationMode.Static or QuantizationMode.Qat))
            throw new InvalidOptionException(nameof(StaticQuantizationOptions.WeightType), $"4-bit weights in QDQ form are a static or QAT option; {mode.ToString().ToLowerInvariant()} mode has its own weight format");
        Qat = qat ?? QatOptions.Default;
        Mode = mode;
        Objective = objective;
        Quantization = quantization;
        BlockSize = blockSize;
        VerifySamples = verifySamples;
        EvaluationLimit = evaluationLimit;
        LatencyBatches = batchSet;
        AllowSlower = allowSlower;
        LatencyTimer = latencyTimer ?? OrtLatencyTimer.Default;
        MinSqnrDb = minSqnrDb;
        MinCosine = minCosine;
        Threads = threads;
        SequenceLength = sequenceLength;
        SmoothAlpha = smoothAlpha;
    }

    /// <summary>Dynamic mode: the SmoothQuant migration strength, or null for no smoothing.</summary>
    public double? SmoothAlpha { get; }

    /// <summary>Without data: the size of symbolic non-batch dimensions in the generated inputs.</summary>
    public int SequenceLength { get; }

    /// <summary>Static, dynamic or int4.</summary>
    public QuantizationMode Mode { get; }

    /// <summary>What static quantization optimizes for.</summary>
    public QuantizationObjective Objective { get; }

    /// <summary>Calibration, types, granularity, exclusions.</summary>
    public StaticQuantizationOptions Quantization { get; }

    /// <summary>Int4 block size.</summary>
    public int BlockSize { get; }

    /// <summary>Held-out samples for verification.</summary>
    public int VerifySamples { get; }

    /// <summary>At most this many labelled samples for accuracy before and after, or null for all.</summary>
    public int? EvaluationLimit { get; }

    /// <summary>The default batch size of placement and the latency comparison.</summary>
    public const int DefaultLatencyBatch = 64;

    /// <summary>The first of <see cref="LatencyBatches"/> (the batch of the single-batch figures).</summary>
    public int LatencyBatch => LatencyBatches[0];

    /// <summary>The batch sizes placement chooses for and the latency comparison reports.</summary>
    public IReadOnlyList<int> LatencyBatches { get; }

    /// <summary>Objective latency: deliver an int8 model that is not faster than float (with a warning) instead of refusing it.</summary>
    public bool AllowSlower { get; }

    /// <summary>Where whole-model timings come from.</summary>
    public ILatencyTimer LatencyTimer { get; }

    /// <summary>Objective accuracy: the SQNR (dB) below which a compute node stays float.</summary>
    public double MinSqnrDb { get; }

    /// <summary>The lowest acceptable mean cosine of any output against the float model.</summary>
    public double MinCosine { get; }

    /// <summary>ONNX Runtime intra-op threads.</summary>
    public int Threads { get; }

    /// <summary>The quantization-aware training recipe (mode <see cref="QuantizationMode.Qat"/>).</summary>
    public QatOptions Qat { get; }

    /// <summary>These options with another mode.</summary>
    internal ModelQuantizationOptions WithMode(QuantizationMode mode, QuantizationObjective objective, double? minCosine = null) =>
        new(mode, objective, Quantization, BlockSize, VerifySamples, EvaluationLimit, null, MinSqnrDb, minCosine ?? MinCosine, Threads, Qat, LatencyBatches, AllowSlower, LatencyTimer, SequenceLength, SmoothAlpha);
}

/// <summary>Accuracy and macro-F1 of one model in ONNX Runtime on the labelled held-out samples.</summary>
/// <param name="Samples">Samples evaluated.</param>
/// <param name="Accuracy">Accuracy.</param>
/// <param name="MacroF1">Macro-averaged F1.</param>
public sealed record QualitySummary(int Samples, double Accuracy, double MacroF1)
{
    /// <summary>The summary of a full evaluation.</summary>
    public static QualitySummary From(ClassifierEvaluation e) => new(e.Samples, e.Accuracy, e.MacroF1);
}

/// <summary>What the quantization job did: the model, and every figure the CLI prints and serializes.</summary>
/// <param name="Model">The quantized model (verified, not yet written; see <see cref="Save"/>).</param>
/// <param name="Reference">The float model it was verified against.</param>
/// <param name="Mode">static, dynamic or int4.</param>
/// <param name="Calibration">Static: the calibration method.</param>
/// <param name="Objective">Static: the objective.</param>
/// <param name="BytesBefore">Serialized size of the float model.</param>
/// <param name="BytesAfter">Serialized size of the quantized model.</param>
/// <param name="NodesBefore">Nodes of the float model.</param>
/// <param name="NodesAfter">Nodes of the quantized model.</param>
/// <param name="OpCounts">Operator histogram of the quantized model.</param>
/// <param name="QuantizedNodes">Nodes that run quantized.</param>
/// <param name="FloatNodes">Nodes kept in float, with the reason where there is one.</param>
/// <param name="Preparation">What preparation changed or skipped (static).</param>
/// <param name="Outputs">Agreement of each output with the float model on held-out samples.</param>
/// <param name="Layers">Per quantized activation error, worst first (static).</param>
/// <param name="Placement">Per node float and int8 kernel time and the choice (static, objective latency).</param>
/// <param name="FloatLatencyMs">Median latency of the float model, interleaved with the quantized one.</param>
/// <param name="QuantizedLatencyMs">Median latency of the quantized model.</param>
/// <param name="LatencyBatch">The batch size timed.</param>
/// <param name="Before">Accuracy of the float model, when the data is labelled.</param>
/// <param name="After">Accuracy of the quantized model.</param>
/// <param name="Warnings">Things the user should know (e.g. not faster here).</param>
/// <param name="Qat">Quantization-aware training: the post-training model it started from and the training (null for other modes).</param>
/// <param name="Latency">The delivered model against float at every latency batch, re-measured in fresh sessions after placement; under objective latency, whether it is refused for not being faster.</param>
/// <param name="Candidates">Static, objective latency: every placement candidate's whole-model timing against float, the chosen one marked.</param>
/// <param name="Embedding">A sentence-embedding model: cosine and nearest-neighbour overlap of its pooled embeddings against float on the verification texts.</param>
/// <param name="Inputs">Where the verification and timing inputs came from.</param>
public sealed record ModelQuantizationResult([property: JsonIgnore] OnnxModel Model, [property: JsonIgnore] OnnxModel Reference, string Mode, string? Calibration, string? Objective,
    long BytesBefore, long BytesAfter, int NodesBefore, int NodesAfter, IReadOnlyDictionary<string, int> OpCounts, int QuantizedNodes, IReadOnlyList<string> FloatNodes,
    IReadOnlyList<string> Preparation, IReadOnlyList<OutputDifference> Outputs, IReadOnlyList<LayerError> Layers, IReadOnlyList<PlacementRow> Placement,
    double FloatLatencyMs, double QuantizedLatencyMs, int LatencyBatch, QualitySummary? Before, QualitySummary? After, IReadOnlyList<string> Warnings,
    QatSummary? Qat = null, LatencyCheck? Latency = null, IReadOnlyList<CandidateLatency>? Candidates = null, EmbeddingAgreement? Embedding = null, string? Inputs = null)
{
    /// <summary>Under objective latency the model is not faster than float beyond the noise (and slower was not allowed): <see cref="Save"/> refuses it.</summary>
    public bool Refused => Latency is { Refused: true };

    /// <summary>Static, when QAT asked for it: the same placement in plain Q→DQ form, before <see cref="IntegerConvAlignment"/> (what QAT builds its training form from); null when nothing was aligned.</summary>
    [JsonIgnore]
    internal OnnxModel? PlainQdq { get; init; }

    /// <summary>Writes the model through <see cref="VerifiedModelWriter"/> (it must load and run in ORT; the input is never overwritten), with a text model's vocabulary beside it.</summary>
    /// <exception cref="SlowerThanFloatException">The result is <see cref="Refused"/>; nothing is written.</exception>
    public void Save(string path)
    {
        if (Latency is { Refused: true } check) throw new SlowerThanFloatException(check);
        VerifiedModelWriter.Write(Model, path, new WriteVerification(Reference));
    }
}

/// <summary>The delivered model's latency against float, re-measured in fresh sessions (<see cref="LatencyDecision"/>).</summary>
/// <param name="Batches">Ratio and spread at every latency batch.</param>
/// <param name="Ratio">Over the set: median of the per-round geometric mean of the batches' ratios.</param>
/// <param name="RatioLow">Its lower confidence bound (<see cref="RatioSpread"/>).</param>
/// <param name="RatioHigh">Its upper confidence bound.</param>
/// <param name="Faster">Faster than float beyond the noise at every batch (the upper 95 % confidence bound of the median per-round ratio is below 1).</param>
/// <param name="Refused">Objective latency, not faster, slower not allowed: the model is not delivered.</param>
/// <param name="Refusal">Why, when refused.</param>
public sealed record LatencyCheck(IReadOnlyList<BatchLatency> Batches, double Ratio, double RatioLow, double RatioHigh, bool Faster, bool Refused, string? Refusal);

/// <summary>
/// Under objective latency, the quantized model is not faster than float on this machine beyond the
/// measured noise, so it is not written (<see cref="ModelQuantizationOptions.AllowSlower"/> delivers it anyway).
/// </summary>
/// <param name="check">The measurement.</param>
public sealed class SlowerThanFloatException(LatencyCheck check) : WhittleException(check.Refusal ?? "the quantized model is not faster than float")
{
    /// <summary>The measurement behind the refusal.</summary>
    public LatencyCheck Check { get; } = check;
}

/// <summary>
/// The quantization job: post-training quantization of a model with data bound to it, verified in
/// ONNX Runtime against the float model (held-out samples; refused below the cosine bound), timed
/// against it, and judged on labelled data. Static mode calibrates, places nodes by measured
/// latency (or keeps low-SQNR nodes float), and rewrites to QDQ; dynamic and int4 need no data
/// (generated inputs with in-range ids verify them then).
/// </summary>
public static class ModelQuantizer
{
    /// <summary>Quantizes with the default options (static int8, latency placement).</summary>
    public static ModelQuantizationResult Quantize(OnnxModel model, BoundData data) => Quantize(model, data, ModelQuantizationOptions.Default);

    /// <summary>Quantizes <paramref name="model"/> (not modified).</summary>
    /// <param name="model">The float model.</param>
    /// <param name="data">Data bound to the model (calibration, verification, accuracy); null for dynamic and int4 without data.</param>
    /// <param name="options">What to do.</param>
    /// <param name="progress">Receives the stages.</param>
    /// <exception cref="WhittleException">Static quantization without data, nothing to quantize, or a model that disagrees with the float one.</exception>
    public static ModelQuantizationResult Quantize(OnnxModel model, BoundData? data, ModelQuantizationOptions options, IProgress<JobProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (data is { Task: ModelTask.Ranking })
            throw new InvalidOptionException("data", "quantization verifies and calibrates on samples of one input; recommender interaction data is not supported here (quantize --mode dynamic without --data verifies on generated ids)");
        return options.Mode switch
        {
            QuantizationMode.Static => QuantizeStatic(model, data ?? throw new InvalidOptionException("data", "static quantization needs calibration data"), options, progress),
            QuantizationMode.Qat => QuantizationAwareTraining.Run(model, data ?? throw new InvalidOptionException("data", "quantization-aware training needs labelled training data"), options, progress),
            _ => QuantizeWeights(model, data, options, progress),
        };
    }

    /// <summary>Calibration, verification and accuracy samples drawn from bound data.</summary>
    internal sealed record Samples(TensorDataset Calibration, TensorDataset Holdout, TensorDataset? Labelled);

    internal static Samples Draw(BoundData data, int calibrationSamples, ModelQuantizationOptions options)
    {
        var pool = data.Samples;
        var shuffled = pool.Shuffle(0);
        var calibration = shuffled.Take(Math.Min(calibrationSamples, shuffled.Count));
        TensorDataset? labelled = null;
        TensorDataset holdout;
        if (data.Test is { } test)
        {
            holdout = test.Shuffle(1).Take(Math.Min(options.VerifySamples, test.Count));
            if (test.HasLabels) labelled = options.EvaluationLimit is { } l ? test.Take(Math.Min(l, test.Count)) : test;
        }
        else
        {
            // No test split: verify on samples calibration did not see when there are enough.
            var rest = shuffled.Count > calibration.Count ? shuffled.Subset(Enumerable.Range(calibration.Count, shuffled.Count - calibration.Count).ToArray()) : shuffled;
            holdout = rest.Take(Math.Min(options.VerifySamples, rest.Count));
            if (rest.HasLabels && shuffled.Count > calibration.Count) labelled = options.EvaluationLimit is { } l ? rest.Take(Math.Min(l, rest.Count)) : rest;
        }
        return new Samples(calibration, holdout, labelled);
    }

    /// <summary>Static quantization; with <paramref name="plainTwin"/> (QAT) the result also carries the same placement before alignment (<see cref="ModelQuantizationResult.PlainQdq"/>).</summary>
    internal static ModelQuantizationResult QuantizeStatic(OnnxModel source, BoundData data, ModelQuantizationOptions o, IProgress<JobProgress>? progress, bool plainTwin = false)
    {
        var options = AlignmentFor(o.Objective, o.Quantization);
        var runtime = RuntimeOptions.ForComparison(o.Threads);
        var samples = Draw(data, options.CalibrationSamples, o);
        var prepared = StaticQuantizer.Prepare(source);
        // Check the exclusion rules before the long calibration pass.
        QuantizationMarker.Mark(prepared.Model, options);
        int batches = (samples.Calibration.Count + options.CalibrationBatchSize - 1) / options.CalibrationBatchSize;
        string calibrating = $"calibrating ({options.Calibration}, {samples.Calibration.Count} samples)";
        progress?.Report(new JobProgress(calibrating, 0, batches));
        var ranges = StaticQuantizer.Calibrate(prepared, data.Batches(samples.Calibration, options.CalibrationBatchSize), options,
            new InlineProgress<int>(n => progress?.Report(new JobProgress(calibrating, n, batches))), runtime);

        var warnings = new List<string>();
        var latencyBatches = LatencyBatches(data, o);
        var timingInputs = latencyBatches.Select(b => ProfileInputs(data, samples, b)).ToList();
        PlacementResult? placement = null;
        IReadOnlySet<string>? floatNodes = null;
        if (o.Objective == QuantizationObjective.Latency)
        {
            progress?.Report(new JobProgress($"placing int8: profiling per node, timing candidates at batch {string.Join(",", latencyBatches)}", 0, 1));
            placement = LatencyPlacement.Choose(prepared, ranges, options, timingInputs, runtime, o.LatencyTimer);
            floatNodes = placement.FloatNodes;
        }
        var (quantized, marking) = StaticQuantizer.Apply(prepared, ranges, options, floatNodes);
        var holdout = data.Batches(samples.Holdout, 64).ToList();
        var verification = QuantizationVerifier.Verify(prepared.Model, quantized, holdout, runtime);
        if (o.Objective == QuantizationObjective.Accuracy)
        {
            var weak = verification.Layers.Where(l => l.SqnrDb < o.MinSqnrDb && l.OpType is "Conv" or "ConvTranspose" or "Gemm" or "MatMul" or "Relu" or "Clip")
                .Select(l => LayerOwner(prepared.Model, l.Producer)).ToHashSet(StringComparer.Ordinal);
            if (weak.Count > 0)
            {
                floatNodes = weak;
                (quantized, marking) = StaticQuantizer.Apply(prepared, ranges, options, floatNodes);
                verification = QuantizationVerifier.Verify(prepared.Model, quantized, holdout, runtime);
            }
        }
        CheckAgreement(o, verification, prepared.Model, marking);
        var plain = plainTwin && quantized.Aligned is { Count: > 0 } ? StaticQuantizer.Apply(prepared, ranges, options.WithConvAlignment(false), floatNodes).Model.Model : null;
        progress?.Report(new JobProgress($"timing float vs int8 in fresh sessions at batch {string.Join(",", latencyBatches)}", 0, 1));
        var latency = MeasureAgainstFloat(source, quantized.Model, latencyBatches, timingInputs, o, runtime, "int8", o.Objective == QuantizationObjective.Latency);
        AddLatencyWarning(warnings, latency, o, "int8", o.Objective == QuantizationObjective.Latency,
            o.Objective == QuantizationObjective.Accuracy ? "use objective size if you want it for its size" : "");
        var (before, after) = Quality(source, quantized.Model, data.Task == ModelTask.Embedding ? null : samples.Labelled, runtime);
        quantized.Model.Validate().ThrowIfInvalid(source.SourcePath ?? "the quantized model");
        return new ModelQuantizationResult(quantized.Model, source, "static", options.Calibration.ToString(), o.Objective.ToString(),
            ModelSizeReport.Measure(source).TotalBytes, ModelSizeReport.Measure(quantized.Model).TotalBytes,
            source.Graph.Nodes.Count, quantized.Model.Graph.Nodes.Count, quantized.Model.Graph.OpHistogram(),
            marking.Nodes.Count(n => n.Quantized), marking.Nodes.Where(n => floatNodes?.Contains(n.Node) ?? false).Select(n => n.Node).ToList(),
            [.. prepared.Changes, .. prepared.Skipped, .. AlignmentLines(quantized)], verification.Outputs, verification.Layers, placement?.Rows ?? [],
            latency.Batches[0].FloatMs, latency.Batches[0].ModelMs, latency.Batches[0].Batch, before, after, warnings, Latency: latency, Candidates: placement?.Candidates,
            Embedding: verification.Embedding, Inputs: $"{samples.Holdout.Count} held-out samples of {data.Description}") { PlainQdq = plain };
    }

    /// <summary>Channel alignment is a speed rewrite (a few nodes and padded weights): not applied under objective size.</summary>
    internal static StaticQuantizationOptions AlignmentFor(QuantizationObjective objective, StaticQuantizationOptions options) =>
        objective == QuantizationObjective.Size ? options.WithConvAlignment(false) : options;

    /// <summary>What <see cref="IntegerConvAlignment"/> did, as preparation lines.</summary>
    internal static IEnumerable<string> AlignmentLines(QdqModel quantized) =>
        quantized.Aligned is { Count: > 0 } a ? [$"aligned for ORT's fast int8 convolution kernel (same arithmetic): {IntegerConvAlignment.Describe(a)}"] : [];

    /// <summary>The batch sizes to place and time for: the model's fixed batch, or the options' set.</summary>
    internal static IReadOnlyList<int> LatencyBatches(BoundData data, ModelQuantizationOptions o) =>
        data.Input.FixedBatchSize is { } fixedBatch ? [fixedBatch] : o.LatencyBatches;

    /// <summary>
    /// Times <paramref name="model"/> against <paramref name="reference"/> in fresh sessions, round by round, at every
    /// batch size; with <paramref name="refuse"/> (objective latency) a model that is not faster beyond the noise is
    /// refused unless <see cref="ModelQuantizationOptions.AllowSlower"/>.
    /// </summary>
    internal static LatencyCheck MeasureAgainstFloat(OnnxModel reference, OnnxModel model, IReadOnlyList<int> batches,
        IReadOnlyList<IReadOnlyDictionary<string, RuntimeTensor>> inputsPerBatch, ModelQuantizationOptions o, RuntimeOptions runtime, string what, bool refuse)
    {
        var models = new[] { new TimedModel("float", reference), new TimedModel(what, model) };
        var floatRounds = new List<IReadOnlyList<double>>();
        var modelRounds = new List<IReadOnlyList<double>>();
        for (int b = 0; b < batches.Count; b++)
        {
            var times = o.LatencyTimer.Time(models, inputsPerBatch[b], runtime);
            if (times.Count != 2) throw new InvalidOperationException($"the latency timer returned {times.Count} series for 2 models");
            floatRounds.Add(times[0]);
            modelRounds.Add(times[1]);
        }
        var perBatch = batches.Select((batch, i) => LatencyDecision.Compare(batch, floatRounds[i], modelRounds[i])).ToList();
        var overall = LatencyDecision.Combine(modelRounds, floatRounds);
        bool faster = LatencyDecision.IsFaster(perBatch);
        bool refused = refuse && !faster && !o.AllowSlower;
        string? refusal = refused
            ? $"objective latency: the {what} model is not faster than float on this machine beyond the measured noise ({Describe(perBatch)}); not written. " +
              "Allow slower (--allow-slower) to write it anyway, or quantize for size (--objective size)"
            : null;
        return new LatencyCheck(perBatch, overall.Median, overall.Low, overall.High, faster, refused, refusal);
    }

    /// <summary>Per batch: median ratio to float, its 95 % confidence interval, rounds.</summary>
    internal static string Describe(IEnumerable<BatchLatency> batches) =>
        string.Join("; ", batches.Select(b => FormattableString.Invariant($"batch {b.Batch}: {b.Ratio:F2}× float, 95 % interval {b.RatioLow:F2}–{b.RatioHigh:F2} over {b.Rounds} rounds")));

    /// <summary>The warning for a model that is not faster and is delivered anyway.</summary>
    internal static void AddLatencyWarning(List<string> warnings, LatencyCheck latency, ModelQuantizationOptions o, string what, bool latencyObjective, string hint)
    {
        if (latency.Faster || latency.Refused) return;
        warnings.Add(latencyObjective && o.AllowSlower
            ? $"the {what} model is not faster than float on this machine beyond the measured noise ({Describe(latency.Batches)}); written anyway because slower is allowed"
            : $"the {what} model is not faster than float on this machine beyond the measured noise ({Describe(latency.Batches)}){(hint.Length > 0 ? "; " + hint : "")}");
    }

    /// <summary>
    /// Dynamic int8 and weight-only int4: no calibration; verified on the data's held-out samples
    /// when there is data (with accuracy when labelled), else on generated inputs.
    /// </summary>
    private static ModelQuantizationResult QuantizeWeights(OnnxModel source, BoundData? data, ModelQuantizationOptions o, IProgress<JobProgress>? progress)
    {
        var runtime = RuntimeOptions.ForComparison(o.Threads);
        var mode = o.Mode.ToString().ToLowerInvariant();
        progress?.Report(new JobProgress($"quantizing weights ({mode})", 0, 1));
        OnnxModel quantized;
        IReadOnlyList<NodeQuantizationRecord> records;
        var preparation = new List<string>();
        if (o.Mode == QuantizationMode.Dynamic)
        {
            var dynamicOptions = new DynamicQuantizationOptions(exclude: o.Quantization.Exclude, perTensor: !o.Quantization.PerChannel);
            var (m, report) = DynamicQuantizer.Quantize(source, dynamicOptions);
            if (o.SmoothAlpha is { } alpha)
            {
                if (data is null) throw new InvalidOptionException(nameof(ModelQuantizationOptions.SmoothAlpha), "activation smoothing measures activations: it needs --data");
                progress?.Report(new JobProgress($"smoothing activations (alpha {alpha})", 0, 1));
                var calibration = Draw(data, o.Quantization.CalibrationSamples, o).Calibration;
                var matMuls = report.Nodes.Where(n => n.Quantized && n.OpType == "MatMul").Select(n => n.Node).ToHashSet(StringComparer.Ordinal);
                var candidates = source.Graph.Nodes.Where(n => matMuls.Contains(n.DisplayName) && n.Inputs.Count == 2 && source.Graph.FindInitializer(n.Inputs[0]) is null)
                    .Select(n => n.DisplayName).ToList();
                var (smoothed, activations) = ActivationSmoothing.Apply(source, data.Batches(calibration, o.Quantization.CalibrationBatchSize), alpha, candidates, runtime);
                preparation.Add(FormattableString.Invariant($"smoothed {activations.Count} MatMul inputs (alpha {alpha}, {calibration.Count} calibration samples; scales {activations.Min(a => a.MinScale):G3}–{activations.Max(a => a.MaxScale):G3})"));
                (m, report) = DynamicQuantizer.Quantize(smoothed, dynamicOptions);
            }
            (quantized, records) = (m, report.Nodes);
        }
        else
        {
            var (m, report) = Int4WeightQuantizer.Quantize(source, new Int4QuantizationOptions(o.BlockSize, exclude: o.Quantization.Exclude));
            (quantized, records) = (m, report.Nodes);
        }
        var label = source.SourcePath ?? source.Graph.Name;
        if (!records.Any(n => n.Quantized))
            throw new QuantizationException($"{label}: nothing to quantize in {mode} mode: " +
                string.Join("; ", records.Select(n => $"{n.Node} ({n.OpType}): {n.Detail}").DefaultIfEmpty("the model has no MatMul, Gemm or Gather with a constant weight")));

        Samples? samples = null;
        IReadOnlyList<IReadOnlyDictionary<string, RuntimeTensor>> batches;
        IReadOnlyList<IReadOnlyDictionary<string, RuntimeTensor>> timingInputs;
        IReadOnlyList<int> latencyBatches;
        string inputs;
        if (data is not null)
        {
            samples = Draw(data, 0, o);
            inputs = $"{samples.Holdout.Count} held-out samples of {data.Description}";
            batches = data.Batches(samples.Holdout, 64).ToList();
            latencyBatches = LatencyBatches(data, o);
            timingInputs = latencyBatches.Select(b => ProfileInputs(data, samples, b)).ToList();
        }
        else
        {
            using var probe = new OnnxRuntimeSession(source, runtime);
            int b = GeneratedInputs.BatchSize(probe, 8);
            int length = o.SequenceLength;
            batches = Enumerable.Range(0, Math.Max(1, o.VerifySamples / b)).Select(i => (IReadOnlyDictionary<string, RuntimeTensor>)GeneratedInputs.Create(source, probe, b, i, length)).ToList();
            latencyBatches = o.LatencyBatches.Select(lb => GeneratedInputs.BatchSize(probe, lb)).Distinct().ToList();
            timingInputs = latencyBatches.Select(lb => (IReadOnlyDictionary<string, RuntimeTensor>)GeneratedInputs.Create(source, probe, lb, 0, length)).ToList();
            inputs = $"generated from the input shapes ({batches.Count * b} samples{(GeneratedInputs.HasSymbolicSequence(probe) ? $", sequence {length}" : "")})";
        }
        var verification = QuantizationVerifier.Verify(source, new QdqModel(quantized, new Dictionary<string, string>(), new Dictionary<string, ActivationParameters>()), batches, runtime,
            neighbours: data is not null);
        CheckAgreement(o, verification);
        progress?.Report(new JobProgress($"timing float vs {mode} at batch {string.Join(",", latencyBatches)}", 0, 1));
        // Dynamic and int4 have no latency objective: they are timed and reported, never refused.
        var latency = MeasureAgainstFloat(source, quantized, latencyBatches, timingInputs, o, runtime, mode, refuse: false);
        var warnings = new List<string>();
        AddLatencyWarning(warnings, latency, o, mode, false, o.Mode == QuantizationMode.Int4 ? "int4 here is a size option" : "");
        var (before, after) = Quality(source, quantized, data?.Task == ModelTask.Embedding ? null : samples?.Labelled, runtime);
        quantized.Validate().ThrowIfInvalid(label);
        return new ModelQuantizationResult(quantized, source, mode, null, null,
            ModelSizeReport.Measure(source).TotalBytes, ModelSizeReport.Measure(quantized).TotalBytes, source.Graph.Nodes.Count, quantized.Graph.Nodes.Count,
            quantized.Graph.OpHistogram(), records.Count(n => n.Quantized), records.Where(n => !n.Quantized).Select(n => $"{n.Node}: {n.Detail}").ToList(),
            preparation, verification.Outputs, [], [], latency.Batches[0].FloatMs, latency.Batches[0].ModelMs, latency.Batches[0].Batch, before, after, warnings, Latency: latency,
            Embedding: verification.Embedding, Inputs: inputs);
    }

    /// <summary>The node to keep float for a weak layer: a Relu absorbed into a Conv stands for the Conv.</summary>
    private static string LayerOwner(OnnxModel prepared, string producer)
    {
        var g = prepared.Graph;
        var node = g.Nodes.FirstOrDefault(n => n.DisplayName == producer);
        if (node is not null && node.OpType is "Relu" or "Clip" && g.FindProducer(node.Inputs[0]) is { } p) return p.DisplayName;
        return producer;
    }

    internal static void CheckAgreement(ModelQuantizationOptions o, VerificationReport verification, OnnxModel? reference = null, MarkingResult? marking = null)
    {
        var worst = verification.Layers.Take(3).ToList();
        foreach (var output in verification.Outputs)
            if (output.Cosine < o.MinCosine)
                throw new QuantizationException($"the quantized model's output '{output.Output}' agrees poorly with the float model (mean cosine {output.Cosine:F3} < the minimum {o.MinCosine}); not written. " +
                    $"Worst layers: {string.Join(", ", worst.Select(l => $"{l.Producer} {l.SqnrDb:F1} dB"))}; try excluding them or another calibration" +
                    OutputHint(reference, marking, worst, output.Output));
    }

    /// <summary>
    /// A hint besides calibration when one of the worst layers is read by the node that writes
    /// <paramref name="output"/>: no quantized value lies between them, so excluding that node (or
    /// the quantized node writing the output) keeps the output's last layer float.
    /// </summary>
    private static string OutputHint(OnnxModel? reference, MarkingResult? marking, IReadOnlyList<LayerError> worst, string output)
    {
        if (reference?.Graph.FindProducer(output) is not { } writer) return "";
        var layer = worst.FirstOrDefault(l => writer.Inputs.Contains(l.Tensor));
        if (layer is null) return "";
        bool writerQuantized = writer.OpType is not ("Relu" or "Clip") && marking is not null && marking.Nodes.Any(n => n.Node == writer.DisplayName && n.Quantized);
        var last = writerQuantized ? writer.DisplayName : LayerOwner(reference, layer.Producer);
        return $"; '{output}' is written by {writer.DisplayName} from {layer.Producer}'s quantized output: excluding {last} keeps the last layer float";
    }

    /// <summary>One batch for timing: held-out samples (calibration ones when too few), repeated to fill the batch.</summary>
    internal static IReadOnlyDictionary<string, RuntimeTensor> ProfileInputs(BoundData data, Samples samples, int batch)
    {
        var pool = samples.Holdout.Count >= batch || samples.Calibration.Count == 0 ? samples.Holdout : samples.Calibration;
        var filled = pool.Subset(Enumerable.Range(0, batch).Select(i => i % pool.Count).ToArray());
        return data.Feeds(filled, 0, batch);
    }

    internal static (QualitySummary? Before, QualitySummary? After) Quality(OnnxModel source, OnnxModel quantized, TensorDataset? labelled, RuntimeOptions runtime)
    {
        if (labelled is null) return (null, null);
        var options = new EvaluationOptions(runtime: runtime);
        return (QualitySummary.From(ModelEvaluator.Classify(source, labelled, options)), QualitySummary.From(ModelEvaluator.Classify(quantized, labelled, options)));
    }
}
