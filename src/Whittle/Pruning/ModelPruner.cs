using System.Text.Json.Serialization;
using Whittle.Data;
using Whittle.Distillation;
using Whittle.Engine;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Training;
using static TorchSharp.torch;

namespace Whittle.Pruning;

/// <summary>Which pruning the job applies.</summary>
public enum PruningMethod
{
    /// <summary>Unstructured magnitude pruning (zeros in the weights; masks kept while fine-tuning).</summary>
    Magnitude,

    /// <summary>N:M semi-structured sparsity.</summary>
    Nm,

    /// <summary>Structured channel removal: a physically smaller, faster graph.</summary>
    Channel,
}

/// <summary>Options of the pruning job: one technique's options, its schedule, and the fine-tuning recipe. Immutable; validated here.</summary>
public sealed class ModelPruningOptions
{
    /// <summary>
    /// The default fine-tuning learning rate (AdamW, cosine per step): 2e-3, measured on the
    /// BN-folded PyTorch 3-conv CNN at 90 % global sparsity, AGP, 2 epochs, with BatchNorm
    /// re-insertion and the dense model as teacher (88.31 % against 88.00 % with 1e-3; docs/distillation.md).
    /// </summary>
    public const double DefaultLearningRate = 2e-3;

    /// <summary>
    /// The default fine-tuning learning rate of structured (channel) pruning: 4e-3, measured on the
    /// BN-folded PyTorch ResNet-8 16/32/64 at 50 %, 3 epochs, Taylor importance: 89.62/89.73 % (two seeds)
    /// against 89.21 % with 2e-3 with the teacher, 90.12 % against 89.60 % without (docs/distillation.md).
    /// A smaller graph starts further from its optimum than a masked one and takes the larger steps.
    /// </summary>
    public const double DefaultChannelLearningRate = 4e-3;

    /// <summary>The default fine-tuning batch size.</summary>
    public const int DefaultBatchSize = 128;

    /// <summary>The share of the training split held out (stratified, seed 0) to validate fine-tuning.</summary>
    public const double ValidationFraction = 0.1;

    /// <summary>Validates and stores the settings; exactly one of <paramref name="magnitude"/>, <paramref name="nm"/> and <paramref name="channel"/> is given.</summary>
    /// <param name="magnitude">Unstructured magnitude pruning.</param>
    /// <param name="nm">N:M sparsity (one-shot).</param>
    /// <param name="channel">Structured channel pruning.</param>
    /// <param name="schedule">When the target is reached while fine-tuning; null for one-shot.</param>
    /// <param name="fineTuneEpochs">Epochs of fine-tuning with the Engine (0 = none; needs labelled data).</param>
    /// <param name="batchSize">Fine-tuning batch size.</param>
    /// <param name="learningRate">Fine-tuning learning rate (AdamW, cosine annealing per step); null for <see cref="DefaultChannelLearningRate"/> with channel pruning, <see cref="DefaultLearningRate"/> otherwise.</param>
    /// <param name="clipNorm">Clip the gradient norm to this while fine-tuning; null for none (a model whose BatchNorms were folded away can diverge without it).</param>
    /// <param name="limit">Fine-tune on at most the first N training samples; null for all.</param>
    /// <param name="threads">libtorch threads (0 = libtorch's default).</param>
    /// <param name="registry">The Engine's op converters for fine-tuning and Taylor gradients (a user's converters for custom ops); null for <see cref="OpRegistry.Default"/>.</param>
    /// <param name="recovery">How fine-tuning recovers accuracy: BatchNorm re-insertion and the teacher; null for <see cref="RecoveryOptions.Default"/> (both on, the dense model teaching).</param>
    /// <param name="seed">The fine-tuning seed (data order, anything newly initialized); the validation split stays the same.</param>
    /// <exception cref="InvalidOptionException">A value is out of range, or the options contradict each other.</exception>
    public ModelPruningOptions(UnstructuredPruningOptions? magnitude = null, NmSparsityOptions? nm = null, ChannelPruningOptions? channel = null,
        PruningScheduleOptions? schedule = null, int fineTuneEpochs = 0, int batchSize = DefaultBatchSize, double? learningRate = null,
        double? clipNorm = null, int? limit = null, int threads = 0, OpRegistry? registry = null, RecoveryOptions? recovery = null, int seed = 0)
    {
        int given = (magnitude is null ? 0 : 1) + (nm is null ? 0 : 1) + (channel is null ? 0 : 1);
        if (given != 1) throw new InvalidOptionException(nameof(Method), "give exactly one of magnitude, N:M or channel pruning options");
        schedule ??= new PruningScheduleOptions();
        Method = magnitude is not null ? PruningMethod.Magnitude : nm is not null ? PruningMethod.Nm : PruningMethod.Channel;
        if (Method == PruningMethod.Nm && schedule.Schedule != PruningSchedule.OneShot)
            throw new InvalidOptionException(nameof(Schedule), "N:M pruning is one-shot (its masks stay fixed while fine-tuning)");
        if (fineTuneEpochs < 0) throw new InvalidOptionException(nameof(FineTuneEpochs), $"fine-tuning epochs must be 0 or more, not {fineTuneEpochs}");
        if (schedule.Schedule != PruningSchedule.OneShot && fineTuneEpochs == 0)
            throw new InvalidOptionException(nameof(Schedule), $"the {schedule.Schedule.ToString().ToLowerInvariant()} schedule prunes during fine-tuning; give fine-tuning epochs and data");
        if (batchSize < 1) throw new InvalidOptionException(nameof(BatchSize), $"the batch size must be at least 1, not {batchSize}");
        double rate = learningRate ?? (channel is not null ? DefaultChannelLearningRate : DefaultLearningRate);
        if (!(rate > 0 && double.IsFinite(rate))) throw new InvalidOptionException(nameof(LearningRate), $"the learning rate must be a positive number, not {rate}");
        if (clipNorm is { } c && !(c > 0 && double.IsFinite(c))) throw new InvalidOptionException(nameof(ClipNorm), $"the gradient clipping norm must be a positive number, not {c}");
        if (limit is < 2) throw new InvalidOptionException(nameof(Limit), $"the sample limit must be at least 2, not {limit}");
        if (threads < 0) throw new InvalidOptionException(nameof(Threads), $"threads must be 0 or more, not {threads}");
        Magnitude = magnitude;
        Nm = nm;
        Channel = channel?.Resolved(fineTunes: fineTuneEpochs > 0);
        Schedule = schedule;
        FineTuneEpochs = fineTuneEpochs;
        BatchSize = batchSize;
        LearningRate = rate;
        ClipNorm = clipNorm;
        Limit = limit;
        Threads = threads;
        Registry = registry;
        Recovery = recovery ?? RecoveryOptions.Default;
        Seed = seed;
    }

    /// <summary>The fine-tuning seed (initialization of anything new, data order, dropout); the validation split stays seed 0.</summary>
    public int Seed { get; }

    /// <summary>How fine-tuning recovers accuracy (BatchNorm re-insertion, teacher).</summary>
    public RecoveryOptions Recovery { get; }

    /// <summary>The Engine's op converters, or null for the default ones.</summary>
    public OpRegistry? Registry { get; }

    /// <summary>Which technique.</summary>
    public PruningMethod Method { get; }

    /// <summary>Magnitude options, when that is the method.</summary>
    public UnstructuredPruningOptions? Magnitude { get; }

    /// <summary>N:M options, when that is the method.</summary>
    public NmSparsityOptions? Nm { get; }

    /// <summary>Channel options, when that is the method.</summary>
    public ChannelPruningOptions? Channel { get; }

    /// <summary>When the target is reached.</summary>
    public PruningScheduleOptions Schedule { get; }

    /// <summary>Fine-tuning epochs.</summary>
    public int FineTuneEpochs { get; }

    /// <summary>Fine-tuning batch size.</summary>
    public int BatchSize { get; }

    /// <summary>Fine-tuning learning rate.</summary>
    public double LearningRate { get; }

    /// <summary>Gradient clipping norm, or null.</summary>
    public double? ClipNorm { get; }

    /// <summary>At most this many training samples, or null.</summary>
    public int? Limit { get; }

    /// <summary>libtorch threads (0 = default).</summary>
    public int Threads { get; }

    /// <summary>The fine-tuning recipe: AdamW with cosine annealing per step, the last epoch's weights kept (an earlier epoch may be less sparse).</summary>
    public TrainerOptions? FineTuning => FineTuneEpochs == 0 ? null
        : new TrainerOptions(FineTuneEpochs, BatchSize, new AdamWOptions(LearningRate), new CosineAnnealingSchedule(unit: ScheduleUnit.Step),
            gradientClipping: ClipNorm is { } c ? GradientClipping.ByNorm(c) : null, seed: Seed, restoreBestWeights: false);
}

/// <summary>A channel group of the plan: its members, its width, what stays and what goes.</summary>
/// <param name="Id">Group id.</param>
/// <param name="Members">The layers whose channels are pruned together.</param>
/// <param name="Channels">Width before.</param>
/// <param name="Kept">Width after.</param>
/// <param name="Removed">Indices removed.</param>
public sealed record PrunedGroup(int Id, IReadOnlyList<string> Members, int Channels, int Kept, IReadOnlyList<int> Removed)
{
    internal static PrunedGroup From(ChannelGroupPlan g) => new(g.Id, g.Members, g.Channels, g.Kept.Count, g.Removed);
}

/// <summary>What the pruning job did (or, for a plan, would do): the model and every figure the CLI prints and serializes.</summary>
/// <param name="Model">The pruned model (verified in ORT, not yet written; see <see cref="Save"/>); null for a plan.</param>
/// <param name="Reference">The dense model.</param>
/// <param name="Method">magnitude, nm or channel.</param>
/// <param name="PlanOnly">True when nothing was pruned (a plan).</param>
/// <param name="ParametersBefore">Parameters of the dense model.</param>
/// <param name="ParametersAfter">Parameters after (fewer only for channel pruning).</param>
/// <param name="NonZeroBefore">Non-zero parameters before.</param>
/// <param name="NonZeroAfter">Non-zero parameters after, when known.</param>
/// <param name="MacsBefore">Multiply-accumulates per sample before (channel).</param>
/// <param name="MacsAfter">After (channel).</param>
/// <param name="BytesBefore">File bytes before.</param>
/// <param name="BytesAfter">File bytes after.</param>
/// <param name="GzipBefore">gzip bytes before.</param>
/// <param name="GzipAfter">gzip bytes after.</param>
/// <param name="BrotliBefore">Brotli bytes before.</param>
/// <param name="BrotliAfter">Brotli bytes after.</param>
/// <param name="AccuracyBefore">Test accuracy of the dense model in ORT, with labelled data.</param>
/// <param name="AccuracyAfter">Test accuracy of the pruned model.</param>
/// <param name="Layers">Per layer weights and zeros (magnitude, N:M).</param>
/// <param name="Groups">Per channel group widths (channel).</param>
/// <param name="LeftUnpruned">What channel pruning left alone, and why.</param>
/// <param name="Edits">Attribute edits the plan makes.</param>
/// <param name="Plan">The plan as text (channel).</param>
/// <param name="FineTuning">Every fine-tuning epoch.</param>
/// <param name="RuntimeNote">What ONNX Runtime on this CPU will make of the kept widths, when it matters.</param>
/// <param name="Recovery">How fine-tuning recovered accuracy (BatchNorm re-insertion, the teacher, hint layers), or null without fine-tuning.</param>
public sealed record ModelPruningResult([property: JsonIgnore] OnnxModel? Model, [property: JsonIgnore] OnnxModel Reference, string Method, bool PlanOnly,
    long ParametersBefore, long ParametersAfter, long NonZeroBefore, long? NonZeroAfter, long? MacsBefore, long? MacsAfter, long BytesBefore, long BytesAfter,
    long GzipBefore, long GzipAfter, long BrotliBefore, long BrotliAfter, double? AccuracyBefore, double? AccuracyAfter, IReadOnlyList<LayerSparsity>? Layers,
    IReadOnlyList<PrunedGroup>? Groups, IReadOnlyList<UnprunedLayer>? LeftUnpruned, IReadOnlyList<string>? Edits, string? Plan,
    IReadOnlyList<EpochRecord>? FineTuning, string? RuntimeNote, string? Recovery = null)
{
    /// <summary>Writes the pruned model through <see cref="VerifiedModelWriter"/> (same outputs and shapes as the dense model in ORT; the input is never overwritten).</summary>
    /// <exception cref="InvalidOperationException">This is a plan.</exception>
    public void Save(string path) => VerifiedModelWriter.Write(Model ?? throw new InvalidOperationException("a plan has no model to write"), path, new WriteVerification(Reference));
}

/// <summary>
/// The pruning job: unstructured magnitude, N:M or structured channel pruning on a schedule, with
/// fine-tuning by the Engine on data bound to the model, checked in ONNX Runtime against the dense
/// model and judged on the test split.
/// </summary>
public static class ModelPruner
{
    /// <summary>Computes what pruning would do, without pruning: the channel plan or the per-layer masks.</summary>
    /// <param name="model">The dense model.</param>
    /// <param name="data">Data bound to the model (Taylor importance needs it); null otherwise.</param>
    /// <param name="options">What to prune.</param>
    public static ModelPruningResult Plan(OnnxModel model, BoundData? data, ModelPruningOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        CheckData(data, options);
        switch (options.Method)
        {
            case PruningMethod.Channel:
                var channel = options.Channel!;
                var gradients = channel.Importance == ImportanceCriterion.Taylor ? TaylorGradients.Accumulate(model, TrainingSplit(data!, options).Train, registry: options.Registry) : null;
                return Report(model, null, options, ChannelPruner.Plan(model, channel, gradients), null, null, null, null, null);
            case PruningMethod.Nm:
                return Report(model, null, options, null, UnstructuredPruner.NmMasks(model, options.Nm!).Layers, null, null, null, null);
            default:
                return Report(model, null, options, null, UnstructuredPruner.MagnitudeMasks(model, options.Magnitude!).Layers, null, null, null, null);
        }
    }

    /// <summary>Prunes <paramref name="model"/> (not modified), fine-tunes when asked, checks and judges the result.</summary>
    /// <param name="model">The dense model.</param>
    /// <param name="data">Labelled data bound to the model (fine-tuning, Taylor importance, test accuracy); null to prune without data.</param>
    /// <param name="options">What to prune and how to fine-tune.</param>
    /// <param name="progress">Receives the stages (and each fine-tuning epoch).</param>
    public static ModelPruningResult Prune(OnnxModel model, BoundData? data, ModelPruningOptions options, IProgress<JobProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        CheckData(data, options);
        if (options.Threads > 0 && options.Threads != get_num_threads()) set_num_threads(options.Threads);
        var split = data is null ? ((TensorDataset Train, TensorDataset Validation)?)null : TrainingSplit(data, options);
        using var teaching = options.FineTuning is { } fineTuning ? options.Recovery.Begin(fineTuning, model) : null;
        // Unstructured pruning keeps the model's shapes, so its hint layers pair once, against the dense model.
        var student = teaching is not null && options.Method != PruningMethod.Channel ? teaching.For(model, teaching.BaseTrainer.Epochs) : null;
        var (trainer, hints) = (student?.Trainer, student?.Hints);
        bool reinsert = options.Recovery.ReinsertBatchNorm && BatchNormReinsertion.Suits(data);
        var training = TrainingProgressReporter.ForJob(progress, "fine-tuning");
        progress?.Report(new JobProgress($"pruning ({options.Method.ToString().ToLowerInvariant()})", 0, 1));
        OnnxModel pruned;
        IReadOnlyList<LayerSparsity>? layers = null;
        IReadOnlyList<PrunedGroup>? groups = null;
        ChannelPruningPlan? plan = null;
        IReadOnlyList<EpochRecord>? history = null;
        long? macsAfter = null;
        switch (options.Method)
        {
            case PruningMethod.Channel:
            {
                var result = StructuredFineTuning.Run(model, options.Channel!, options.Schedule, teaching?.BaseTrainer, split?.Train, split?.Validation, training, options.Registry, reinsert, teaching);
                pruned = result.Model;
                plan = result.Plans[0];
                macsAfter = ChannelPruner.Plan(pruned, new ChannelPruningOptions(0)).MacsBefore;
                groups = result.Plans[^1].Groups.Where(g => g.Prunable).Select(PrunedGroup.From).ToList();
                history = result.Training.SelectMany(t => t.History).ToList();
                break;
            }
            case PruningMethod.Nm:
            {
                var result = UnstructuredFineTuning.NM(model, options.Nm!, trainer, split?.Train, split?.Validation, training, options.Registry, reinsert, hints is null ? null : hints.Attach, student?.Callbacks);
                (pruned, layers, history) = (result.Model, result.Masks.Layers, result.Training?.History);
                break;
            }
            default:
            {
                var result = UnstructuredFineTuning.Magnitude(model, options.Magnitude!, options.Schedule, trainer, split?.Train, split?.Validation, training, options.Registry, reinsert, hints is null ? null : hints.Attach, student?.Callbacks);
                (pruned, layers, history) = (result.Model, result.Masks.Layers, result.Training?.History);
                break;
            }
        }
        pruned.SetMetadata("whittle.pruned.method", options.Method.ToString().ToLowerInvariant());
        // Checked in ONNX Runtime (loads, runs, same outputs and shapes) before anyone may write it.
        VerifiedModelWriter.Verify(pruned, model.SourcePath ?? "the pruned model", new WriteVerification(model));
        var test = data?.Test ?? split?.Validation;
        (double?, double?) accuracy = test is null ? (null, null)
            : (ModelEvaluator.Classify(model, test).Accuracy, ModelEvaluator.Classify(pruned, test).Accuracy);
        return Report(model, pruned, options, plan, layers, accuracy, macsAfter, history, groups) with
        {
            Recovery = teaching is null ? null : (reinsert ? "BatchNorm re-inserted for fine-tuning and folded back; " : "") + teaching.Describe(),
        };
    }

    private static void CheckData(BoundData? data, ModelPruningOptions options)
    {
        if (data is { Task: ModelTask.Ranking })
            throw new InvalidOptionException("data", "pruning fine-tunes and judges a classifier; recommender interaction data is not supported (prune a recommender without data)");
        if (options.FineTuneEpochs > 0 && data is null) throw new InvalidOptionException("data", "fine-tuning needs labelled data");
        if (options.Channel is { Importance: ImportanceCriterion.Taylor } && data is null)
            throw new InvalidOptionException("data", "Taylor importance needs labelled data (gradients from a few batches)");
    }

    /// <summary>The training split minus a stratified 10 % validation part (seed 0), limited as asked.</summary>
    private static (TensorDataset Train, TensorDataset Validation) TrainingSplit(BoundData data, ModelPruningOptions options)
    {
        var full = data.Train ?? throw new DataFormatException($"{data.Spec}: pruning with data needs a labelled training split");
        if (!full.HasLabels) throw new DataFormatException($"{data.Spec}: pruning with data needs labels");
        if (options.Limit is { } n) full = full.Take(n);
        return full.Split(ModelPruningOptions.ValidationFraction, 0, stratified: true);
    }

    private static ModelPruningResult Report(OnnxModel source, OnnxModel? pruned, ModelPruningOptions options, ChannelPruningPlan? plan,
        IReadOnlyList<LayerSparsity>? layers, (double? Before, double? After)? accuracy, long? macsAfter, IReadOnlyList<EpochRecord>? history,
        IReadOnlyList<PrunedGroup>? groups)
    {
        var sizeBefore = ModelSizeReport.Measure(source);
        var fileBefore = ModelFileSize.Measure(source);
        var sizeAfter = pruned is null ? null : ModelSizeReport.Measure(pruned);
        var fileAfter = pruned is null ? null : ModelFileSize.Measure(pruned);
        groups ??= plan?.Groups.Where(g => g.Prunable).Select(PrunedGroup.From).ToList();
        return new ModelPruningResult(pruned, source, options.Method.ToString().ToLowerInvariant(), pruned is null,
            sizeBefore.Parameters, sizeAfter?.Parameters ?? plan?.ParametersAfter ?? sizeBefore.Parameters,
            sizeBefore.NonZeroParameters, sizeAfter?.NonZeroParameters ?? (layers is null ? null : sizeBefore.NonZeroParameters - layers.Sum(l => l.Zeros)),
            plan?.MacsBefore, macsAfter ?? plan?.MacsAfter, fileBefore.Bytes, fileAfter?.Bytes ?? fileBefore.Bytes, fileBefore.GzipBytes,
            fileAfter?.GzipBytes ?? fileBefore.GzipBytes, fileBefore.BrotliBytes, fileAfter?.BrotliBytes ?? fileBefore.BrotliBytes,
            accuracy?.Before, accuracy?.After, layers, groups, plan?.LeftUnpruned, plan?.Edits, plan?.ToText(), history,
            plan is null ? null : RuntimeNote(plan));
    }

    /// <summary>Says which kept widths ONNX Runtime on this CPU will pad back up to its channel block, if any.</summary>
    private static string? RuntimeNote(ChannelPruningPlan plan)
    {
        if (OnnxRuntimeCpu.NchwcBlockSize is not { } block) return null;
        var misfits = plan.GroupsNotMultipleOf(block);
        if (misfits.Count == 0) return null;
        var list = string.Join(", ", misfits.Select(g => g.WidthChange));
        return $"ONNX Runtime on this CPU computes convolutions in blocks of {block} channels (NCHWc): {misfits.Count} group(s) keep a width that is not a multiple of {block} ({list}) "
            + $"and will run as if padded up to it, so they save parameters but less time. Rounding kept widths to {block} (--round-to {block}) keeps whole blocks.";
    }
}
