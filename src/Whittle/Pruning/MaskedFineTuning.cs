using Parameter = TorchSharp.Modules.Parameter;
using Whittle.Data;
using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Training;
using static TorchSharp.torch;

namespace Whittle.Pruning;

/// <summary>
/// A <see cref="TrainingCallback"/> that keeps pruned weights at exactly zero while a model is
/// fine-tuned: after every optimizer step the masked parameters are multiplied by their masks
/// (an optimizer's momentum would otherwise move them off zero). With a <see cref="Recompute"/>
/// function the masks themselves follow a schedule (iterative or AGP pruning).
/// </summary>
public sealed class SparsityMaskCallback : TrainingCallback, IDisposable
{
    private readonly OnnxModule _module;
    private readonly Func<OnnxModule, TrainingProgress?, SparsityMasks?>? _recompute;
    private readonly Dictionary<Parameter, Tensor> _tensors = new(ReferenceEqualityComparer.Instance);

    /// <summary>Keeps <paramref name="masks"/> on <paramref name="module"/>; applies them right away.</summary>
    /// <param name="module">The module being fine-tuned.</param>
    /// <param name="masks">The masks to keep.</param>
    /// <param name="recompute">
    /// Called after every step (and once with null progress before training): returns new masks
    /// to switch to, or null to keep the current ones.
    /// </param>
    public SparsityMaskCallback(OnnxModule module, SparsityMasks masks, Func<OnnxModule, TrainingProgress?, SparsityMasks?>? recompute = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(masks);
        _module = module;
        _recompute = recompute;
        Masks = masks;
        Use(masks);
    }

    /// <summary>The masks in force.</summary>
    public SparsityMasks Masks { get; private set; }

    /// <summary>The recompute function this callback was made with, or null.</summary>
    public Func<OnnxModule, TrainingProgress?, SparsityMasks?>? Recompute => _recompute;

    /// <inheritdoc />
    public override void OnStepEnd(nn.Module<Tensor, Tensor> module, TrainingProgress progress)
    {
        if (_recompute?.Invoke(_module, progress) is { } next)
        {
            Masks = next;
            Use(next);
        }
        Reapply();
    }

    /// <summary>Multiplies every masked parameter by its mask.</summary>
    public void Reapply()
    {
        using var _ = no_grad();
        foreach (var (p, m) in _tensors) p.mul_(m);
    }

    private void Use(SparsityMasks masks)
    {
        foreach (var t in _tensors.Values) t.Dispose();
        _tensors.Clear();
        foreach (var (name, mask) in masks.Masks)
        {
            if (!_module.ParametersByInitializer.TryGetValue(name, out var p))
                throw new EngineException($"the mask's weight '{name}' is not a trainable parameter of the module");
            _tensors[p] = SparsityMasks.MaskTensor(mask, p);
        }
        Reapply();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _tensors.Values) t.Dispose();
        _tensors.Clear();
    }
}

/// <summary>The outcome of unstructured or N:M pruning with optional fine-tuning.</summary>
/// <param name="Model">The pruned (and fine-tuned) model; masked weights are exactly zero.</param>
/// <param name="Masks">The final masks and per-layer sparsity.</param>
/// <param name="Training">The fine-tuning run, or null without fine-tuning.</param>
public sealed record UnstructuredPruningResult(OnnxModel Model, SparsityMasks Masks, TrainingResult? Training);

/// <summary>
/// The pruner policy for unstructured and N:M sparsity: prunes one-shot, iteratively or gradually
/// (AGP) while fine-tuning with the <see cref="Trainer"/> (its optimizers, schedules, losses),
/// keeping masked weights at zero after every step.
/// </summary>
public static class UnstructuredFineTuning
{
    /// <summary>Magnitude pruning to <see cref="UnstructuredPruningOptions.Sparsity"/> on a schedule, fine-tuning with <paramref name="trainer"/>.</summary>
    /// <param name="model">The dense model (not modified).</param>
    /// <param name="options">Which weights and how sparse.</param>
    /// <param name="schedule">When the target is reached.</param>
    /// <param name="trainer">Fine-tuning options; null to prune one-shot without training. Must not restore best weights (an earlier epoch would be less sparse).</param>
    /// <param name="train">Training samples (with <paramref name="trainer"/>).</param>
    /// <param name="validation">Validation samples, or null.</param>
    /// <param name="progress">Training progress, or null.</param>
    /// <param name="registry">The converters the Engine builds the fine-tuned module with; null for <see cref="OpRegistry.Default"/>.</param>
    /// <param name="reinsertBatchNorm">Fine-tune with BatchNorms re-inserted after the layers that have none (<see cref="BatchNormReinsertion"/>), folded back afterwards.</param>
    /// <param name="moduleSetup">Prepares the trained module (the hint layers of <paramref name="trainer"/>'s distillation loss attach their projections); null for none.</param>
    /// <param name="callbacks">More callbacks of the fine-tuning run (the recovery teacher's early stop); null for none.</param>
    public static UnstructuredPruningResult Magnitude(OnnxModel model, UnstructuredPruningOptions options, PruningScheduleOptions schedule,
        TrainerOptions? trainer, TensorDataset? train, TensorDataset? validation = null, IProgress<TrainingProgress>? progress = null, OpRegistry? registry = null,
        bool reinsertBatchNorm = false, Action<FeatureInputModule>? moduleSetup = null, IReadOnlyList<TrainingCallback>? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(schedule);
        if (trainer is null)
        {
            if (schedule.Schedule != PruningSchedule.OneShot)
                throw new InvalidOptionException(nameof(PruningScheduleOptions.Schedule), $"Schedule {schedule.Schedule} prunes during fine-tuning, but no trainer options were given; give them and training data, or use OneShot");
            var masks = UnstructuredPruner.MagnitudeMasks(model, options);
            return new UnstructuredPruningResult(masks.Apply(model), masks, null);
        }
        CheckTrainer(trainer, train);
        using var graph = new TrainableGraph(model, reinsertBatchNorm, train, registry);
        var module = graph.Module;
        long total = TotalSteps(trainer, train!);
        SparsityMasks MasksAt(double sparsity) => UnstructuredPruner.MagnitudeMasks(module.Source, options.WithSparsity(sparsity), name => ReadParameter(module, name));
        double current = schedule.TargetAt(0, total, trainer.Epochs, options.Sparsity);
        var initial = MasksAt(current);
        SparsityMasks? Next(OnnxModule m, TrainingProgress? p)
        {
            if (p is null) return null;
            double target = schedule.TargetAt(p.GlobalStep, total, trainer.Epochs, options.Sparsity);
            if (target == current) return null;
            current = target;
            return MasksAt(target);
        }
        using var callback = new SparsityMaskCallback(module, initial, Next);
        var result = new Trainer(graph.TrainingModule(moduleSetup), trainer, [callback, .. callbacks ?? []]).Fit(train!, validation, progress);
        // The schedule reaches the target before the end; recomputing at the target is a no-op then
        // and guarantees the promised sparsity when a run stopped early.
        var final = MasksAt(options.Sparsity);
        final.Apply(module);
        return new UnstructuredPruningResult(final.Apply(graph.Finish()), final, result);
    }

    /// <summary>N:M masks computed once from the dense weights, kept while fine-tuning.</summary>
    /// <param name="model">The dense model (not modified).</param>
    /// <param name="options">The N:M pattern.</param>
    /// <param name="trainer">Fine-tuning options, or null for none.</param>
    /// <param name="train">Training samples (with <paramref name="trainer"/>).</param>
    /// <param name="validation">Validation samples, or null.</param>
    /// <param name="progress">Training progress, or null.</param>
    /// <param name="registry">The converters the Engine builds the fine-tuned module with; null for <see cref="OpRegistry.Default"/>.</param>
    /// <param name="reinsertBatchNorm">Fine-tune with BatchNorms re-inserted after the layers that have none, folded back afterwards.</param>
    /// <param name="moduleSetup">Prepares the trained module (hint-layer projections); null for none.</param>
    /// <param name="callbacks">More callbacks of the fine-tuning run; null for none.</param>
    public static UnstructuredPruningResult NM(OnnxModel model, NmSparsityOptions options, TrainerOptions? trainer, TensorDataset? train,
        TensorDataset? validation = null, IProgress<TrainingProgress>? progress = null, OpRegistry? registry = null, bool reinsertBatchNorm = false,
        Action<FeatureInputModule>? moduleSetup = null, IReadOnlyList<TrainingCallback>? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var masks = UnstructuredPruner.NmMasks(model, options);
        if (trainer is null) return new UnstructuredPruningResult(masks.Apply(model), masks, null);
        CheckTrainer(trainer, train);
        using var graph = new TrainableGraph(model, reinsertBatchNorm, train, registry);
        using var callback = new SparsityMaskCallback(graph.Module, masks);
        var result = new Trainer(graph.TrainingModule(moduleSetup), trainer, [callback, .. callbacks ?? []]).Fit(train!, validation, progress);
        return new UnstructuredPruningResult(masks.Apply(graph.Finish()), masks, result);
    }

    internal static void CheckTrainer(TrainerOptions trainer, TensorDataset? train)
    {
        if (train is null) throw new ArgumentException("fine-tuning needs training data", nameof(train));
        if (trainer.RestoreBestWeights)
            throw new InvalidOptionException(nameof(TrainerOptions.RestoreBestWeights),
                "RestoreBestWeights is true, but fine-tuning a pruned model must not restore the best epoch's weights (they may be less sparse); create the TrainerOptions with restoreBestWeights: false");
    }

    private static long TotalSteps(TrainerOptions trainer, TensorDataset train)
    {
        long perEpoch = trainer.DropLast ? train.Count / trainer.BatchSize : (train.Count + trainer.BatchSize - 1) / trainer.BatchSize;
        return Math.Max(1, perEpoch) * trainer.Epochs;
    }

    internal static float[] ReadParameter(OnnxModule module, string initializer)
    {
        var p = module.ParametersByInitializer[initializer];
        using var _ = no_grad();
        return TorchTensors.ToFloats(p);
    }
}
