using Whittle.Data;
using Whittle.Distillation;
using Whittle.Evaluation;
using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Training;
using static TorchSharp.torch;

namespace Whittle.Quantization;

/// <summary>
/// The recipe of quantization-aware training. Immutable; validated here; every default lives here.
/// </summary>
public sealed class QatOptions
{
    /// <summary>The default recipe.</summary>
    public static QatOptions Default { get; } = new();

    /// <summary>Default fine-tuning epochs.</summary>
    public const int DefaultEpochs = 2;

    /// <summary>Default learning rate of AdamW (no weight decay: it would pull the log step sizes toward a step of 1).</summary>
    public const double DefaultLearningRate = 5e-4;

    /// <summary>Default fraction of the optimizer steps after which step sizes and BatchNorm statistics are frozen.</summary>
    public const double DefaultFreezeFraction = 0.75;

    /// <summary>Default batch size.</summary>
    public const int DefaultBatchSize = 128;

    /// <summary>Validates and stores the recipe.</summary>
    /// <param name="epochs">Fine-tuning epochs; positive.</param>
    /// <param name="batchSize">Batch size; positive.</param>
    /// <param name="learningRate">AdamW's learning rate (cosine-annealed per step); positive.</param>
    /// <param name="scales">Learned step sizes (LSQ, default) or calibrated activation scales and max-|w| weight scales.</param>
    /// <param name="freezeFraction">After this fraction of the steps the module trains in eval mode: step sizes, weight ranges and BatchNorm statistics frozen (the usual late freeze); 1 never freezes.</param>
    /// <param name="recovery">BatchNorm re-insertion and the teacher (the float model by default: its logits are the soft targets).</param>
    /// <param name="limit">At most this many training samples; null for all.</param>
    /// <param name="seed">Seed of the data order.</param>
    /// <exception cref="InvalidOptionException">A value is out of range.</exception>
    public QatOptions(int epochs = DefaultEpochs, int batchSize = DefaultBatchSize, double learningRate = DefaultLearningRate, QatScales scales = QatScales.Learned,
        double freezeFraction = DefaultFreezeFraction, RecoveryOptions? recovery = null, int? limit = null, int seed = 0)
    {
        OptionChecks.Positive(epochs, nameof(Epochs));
        OptionChecks.Positive(batchSize, nameof(BatchSize));
        OptionChecks.Positive(learningRate, nameof(LearningRate));
        OptionChecks.Defined(scales, nameof(Scales));
        OptionChecks.InRange(freezeFraction, nameof(FreezeFraction), 0, 1, includeMinimum: false, includeMaximum: true);
        if (limit is < 2) throw new InvalidOptionException(nameof(Limit), $"the sample limit must be at least 2, not {limit}");
        Epochs = epochs;
        BatchSize = batchSize;
        LearningRate = learningRate;
        Scales = scales;
        FreezeFraction = freezeFraction;
        Recovery = recovery ?? RecoveryOptions.Default;
        Limit = limit;
        Seed = seed;
    }

    /// <summary>Fine-tuning epochs.</summary>
    public int Epochs { get; }

    /// <summary>Batch size.</summary>
    public int BatchSize { get; }

    /// <summary>AdamW's learning rate.</summary>
    public double LearningRate { get; }

    /// <summary>How step sizes are trained.</summary>
    public QatScales Scales { get; }

    /// <summary>Fraction of the steps after which quantizers and BatchNorm statistics are frozen.</summary>
    public double FreezeFraction { get; }

    /// <summary>BatchNorm re-insertion and the teacher.</summary>
    public RecoveryOptions Recovery { get; }

    /// <summary>At most this many training samples, or null.</summary>
    public int? Limit { get; }

    /// <summary>Seed of the data order.</summary>
    public int Seed { get; }

    /// <summary>The fine-tuning trainer: AdamW without weight decay, cosine annealing per step, the last step's weights kept.</summary>
    public TrainerOptions Trainer => new(Epochs, BatchSize, new AdamWOptions(LearningRate, weightDecay: 0), new CosineAnnealingSchedule(unit: ScheduleUnit.Step),
        seed: Seed, restoreBestWeights: false);
}

/// <summary>What quantization-aware training started from and how it trained.</summary>
/// <param name="Ptq">Accuracy of the post-training quantized model at the same bits (the starting point), when the data is labelled.</param>
/// <param name="PtqBytes">Its serialized size.</param>
/// <param name="PtqLatencyMs">Its median latency, timed against the float model in the same run.</param>
/// <param name="PtqFloatLatencyMs">The float model's median latency in that timing.</param>
/// <param name="WeightType">int8 or int4.</param>
/// <param name="Scales">learned or fixed.</param>
/// <param name="Epochs">Epochs trained.</param>
/// <param name="FreezeStep">The optimizer step after which quantizers and BatchNorm statistics were frozen (null: never).</param>
/// <param name="WeightQuantizers">Fake-quantized weights trained.</param>
/// <param name="ActivationQuantizers">Fake-quantized activations trained.</param>
/// <param name="ReinsertedBatchNorms">BatchNorms re-inserted for training and folded before export.</param>
/// <param name="Teacher">The distillation teacher ("the float model", a path, or null).</param>
/// <param name="History">Per-epoch training history.</param>
/// <param name="Seconds">Training time.</param>
/// <param name="PtqValidationAccuracy">The post-training model's accuracy on the validation split (held out from training).</param>
/// <param name="QatValidationAccuracy">The trained model's accuracy there.</param>
/// <param name="FellBackToPtq">QAT scored below PTQ on the validation split, so the post-training model is the result.</param>
public sealed record QatSummary(QualitySummary? Ptq, long PtqBytes, double PtqLatencyMs, double PtqFloatLatencyMs, string WeightType, string Scales, int Epochs, long? FreezeStep,
    int WeightQuantizers, int ActivationQuantizers, int ReinsertedBatchNorms, string? Teacher, IReadOnlyList<EpochRecord> History, double Seconds,
    double PtqValidationAccuracy, double QatValidationAccuracy, bool FellBackToPtq);

/// <summary>
/// Quantization-aware training: static quantization first (same marking, placement and calibrated
/// ranges), then its QDQ model in training form (<see cref="QatGraph"/>: fake quantization with a
/// straight-through estimator, learned step sizes by default, folded BatchNorms re-inserted),
/// fine-tuned with the float model as the distillation teacher, frozen late in training, and
/// exported to the same QDQ form: verified in ONNX Runtime against the float model, timed, judged.
/// </summary>
internal static class QuantizationAwareTraining
{
    public static ModelQuantizationResult Run(OnnxModel source, BoundData data, ModelQuantizationOptions o, IProgress<JobProgress>? progress)
    {
        var qat = o.Qat;
        if (data.Task != ModelTask.Classification || data.Train is not { HasLabels: true })
            throw new InvalidOptionException("data", "quantization-aware training fine-tunes a classifier; it needs labelled training data");
        var weightType = o.Quantization.WeightType;
        // int4 weights run dequantized to float on CPU: placing nodes by int8 latency means nothing there.
        var objective = weightType == QuantizationType.Int4 && o.Objective == QuantizationObjective.Latency ? QuantizationObjective.Size : o.Objective;
        // The post-training model is only the starting point: QAT is for models it cannot keep, so only the trained model must agree with the float one.
        var ptq = ModelQuantizer.QuantizeStatic(source, data, o.WithMode(QuantizationMode.Static, objective, minCosine: -1), progress, plainTwin: true);

        // The split every training job holds out (ModelTrainer's), so QAT, pruning and search judge on the same samples.
        var (train, validation) = ModelTrainer.TrainingSplit(data, new ModelTrainingOptions(qat.Trainer, limit: qat.Limit));
        // The training form is built from plain Q→DQ pairs (the same placement); channel alignment is applied again to the model QAT delivers.
        var graph = QatGraph.Build(ptq.PlainQdq ?? ptq.Model, qat.Scales);
        if (graph.WeightQuantizers + graph.ActivationQuantizers == 0)
            throw new QuantizationException($"{source.SourcePath ?? source.Graph.Name}: static quantization kept every node float (objective {objective.ToString().ToLowerInvariant()}: " +
                $"{(objective == QuantizationObjective.Latency ? "no node is faster in int8 on this machine" : "nothing to quantize")}), so there is nothing to train; use objective size to quantize every node");
        if (qat.Recovery.ReinsertBatchNorm && BatchNormReinsertion.Suits(data)) graph.ReinsertBatchNorms(train);

        var (trainer, teacher) = qat.Recovery.Apply(qat.Trainer, source);
        using var _ = teacher;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        OnnxModel trained;
        TrainingResult training;
        long? freezeStep;
        using (var module = new OnnxModule(graph.Model))
        {
            long steps = (long)qat.Epochs * Math.Max(1, train.Count / qat.BatchSize);
            freezeStep = qat.FreezeFraction >= 1 ? null : Math.Max(1, (long)Math.Round(steps * qat.FreezeFraction));
            var freeze = new FreezeQuantizers(freezeStep);
            training = new Trainer(module, trainer, [freeze]).Fit(train, validation, TrainingProgressReporter.ForJob(progress, "quantization-aware training"));
            module.eval();
            trained = module.ToOnnx();
        }
        var seconds = watch.Elapsed.TotalSeconds;
        var exported = graph.Export(trained);
        progress?.Report(new JobProgress("judging QAT against PTQ on the validation split", 0, 1));
        exported.SetMetadata(QdqRewriter.MetadataKey, (ptq.Model.Metadata.GetValueOrDefault(QdqRewriter.MetadataKey) ?? "static") +
            $"; quantization-aware training {training.History.Count} epoch(s), {qat.Scales.ToString().ToLowerInvariant()} step sizes");

        var runtime = RuntimeOptions.ForComparison(o.Threads);
        // Never worse than the post-training model: both judged on the validation split (held out from training, not the test set).
        var evaluation = new EvaluationOptions(runtime: runtime);
        double ptqValidation = ModelEvaluator.Classify(ptq.Model, validation, evaluation).Accuracy;
        double qatValidation = ModelEvaluator.Classify(exported, validation, evaluation).Accuracy;
        bool fellBack = qatValidation < ptqValidation;
        if (fellBack) exported = ptq.Model;
        else if (ptq.PlainQdq is not null) IntegerConvAlignment.Apply(exported);
        // The post-training run's draw: QAT is verified, timed and judged on the samples PTQ was.
        var samples = ModelQuantizer.Draw(data, o.Quantization.CalibrationSamples, o);
        var holdout = data.Batches(samples.Holdout, 64).ToList();
        var verification = QuantizationVerifier.Verify(source, new QdqModel(exported, new Dictionary<string, string>(), new Dictionary<string, ActivationParameters>()), holdout, runtime);
        ModelQuantizer.CheckAgreement(o, verification);
        var latencyBatches = ModelQuantizer.LatencyBatches(data, o);
        progress?.Report(new JobProgress($"timing float vs QAT in fresh sessions at batch {string.Join(",", latencyBatches)}", 0, 1));
        // int8 QAT under objective latency is held to what static quantization is: not faster than float beyond the noise, not delivered.
        bool latencyObjective = objective == QuantizationObjective.Latency && weightType == QuantizationType.Int8;
        var latency = ModelQuantizer.MeasureAgainstFloat(source, exported, latencyBatches, latencyBatches.Select(b => ModelQuantizer.ProfileInputs(data, samples, b)).ToList(),
            o, runtime, fellBack ? "int8" : "QAT", latencyObjective);
        // The float model's accuracy on these samples is the post-training run's (same draw); only a trained model is new.
        var (before, after) = (ptq.Before, fellBack || samples.Labelled is null ? ptq.After : QualitySummary.From(ModelEvaluator.Classify(exported, samples.Labelled, evaluation)));
        exported.Validate().ThrowIfInvalid(source.SourcePath ?? "the quantized model");

        // The post-training model's own timing warning is about the model QAT replaces; QAT's timing is below.
        var warnings = ptq.Warnings.Where(w => !w.Contains("not faster than float", StringComparison.Ordinal)).ToList();
        if (weightType == QuantizationType.Int8) ModelQuantizer.AddLatencyWarning(warnings, latency, o, "QAT", latencyObjective, "");
        if (fellBack)
            warnings.Add($"quantization-aware training did not beat post-training quantization on the validation split ({qatValidation:P2} vs {ptqValidation:P2}); the post-training model is written");
        if (objective != o.Objective) warnings.Add("int4 weights run dequantized to float kernels in ONNX Runtime on CPU; every node is quantized (objective size) and the gain is size, not speed");
        string? teacherName = teacher is null ? null
            : qat.Recovery.Teacher == TeacherChoice.Source ? "the float model" : qat.Recovery.TeacherModel!.SourcePath ?? "a teacher model";
        var summary = new QatSummary(ptq.After, ptq.BytesAfter, ptq.QuantizedLatencyMs, ptq.FloatLatencyMs, weightType == QuantizationType.Int4 ? "int4" : "int8",
            qat.Scales.ToString().ToLowerInvariant(), training.History.Count, freezeStep, graph.WeightQuantizers, graph.ActivationQuantizers, graph.InsertedBatchNorms.Count,
            teacherName, training.History, seconds, ptqValidation, qatValidation, fellBack);
        return ptq with
        {
            PlainQdq = null,
            Model = exported,
            Mode = "qat",
            BytesAfter = ModelSizeReport.Measure(exported).TotalBytes,
            NodesAfter = exported.Graph.Nodes.Count,
            OpCounts = exported.Graph.OpHistogram(),
            Outputs = verification.Outputs,
            Layers = verification.Layers,
            FloatLatencyMs = latency.Batches[0].FloatMs,
            QuantizedLatencyMs = latency.Batches[0].ModelMs,
            LatencyBatch = latency.Batches[0].Batch,
            Latency = latency,
            Before = before,
            After = after,
            Warnings = warnings,
            Qat = summary,
        };
    }

    /// <summary>
    /// Late freezing: after <c>step</c> optimizer steps the module trains in eval mode, so the fake
    /// quantizers keep their step sizes and weight ranges and BatchNorms use (and keep) their running
    /// statistics, while gradients still update the weights.
    /// </summary>
    private sealed class FreezeQuantizers(long? step) : TrainingCallback
    {
        private bool _frozen;

        public override void OnEpochStart(nn.Module<Tensor, Tensor> module, int epoch)
        {
            if (_frozen) module.eval();
        }

        public override void OnStepEnd(nn.Module<Tensor, Tensor> module, TrainingProgress progress)
        {
            if (_frozen || step is not { } s || progress.GlobalStep < s) return;
            _frozen = true;
            module.eval();
        }
    }
}
