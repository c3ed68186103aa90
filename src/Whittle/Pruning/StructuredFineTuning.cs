using Whittle.Data;
using Whittle.Distillation;
using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Training;

namespace Whittle.Pruning;

/// <summary>The outcome of structured pruning with optional fine-tuning.</summary>
/// <param name="Model">The smaller (and fine-tuned) model.</param>
/// <param name="Plans">The plan of every pruning step, in order (one for one-shot).</param>
/// <param name="Training">The fine-tuning runs, in order (empty without fine-tuning).</param>
public sealed record StructuredPruningResult(OnnxModel Model, IReadOnlyList<ChannelPruningPlan> Plans, IReadOnlyList<TrainingResult> Training);

/// <summary>
/// The pruner policy of structured pruning over time: one-shot (prune, then fine-tune the smaller
/// graph), iterative (remove channels in equal steps of the original widths, fine-tuning one
/// epoch after each) or AGP (steps of the cubic automated-gradual-pruning curve of Zhu &amp; Gupta,
/// one per epoch: most channels go first, the last epochs remove few and mostly recover). The
/// graph physically shrinks at every step, so fine-tuning is cheaper too.
/// </summary>
public static class StructuredFineTuning
{
    /// <summary>Prunes channels to <see cref="ChannelPruningOptions.Ratio"/> and fine-tunes.</summary>
    /// <param name="model">The dense model (not modified).</param>
    /// <param name="options">Ratio, importance, scope, rounding, exclusions.</param>
    /// <param name="schedule">One-shot, iterative or AGP (one pruning step per fine-tuning epoch).</param>
    /// <param name="trainer">Fine-tuning options (its epochs in total); null for none.</param>
    /// <param name="train">Training samples (fine-tuning, and Taylor gradients).</param>
    /// <param name="validation">Validation samples, or null.</param>
    /// <param name="progress">Training progress, or null.</param>
    /// <param name="registry">The converters the Engine builds the fine-tuned and gradient modules with; null for <see cref="OpRegistry.Default"/>.</param>
    /// <param name="reinsertBatchNorm">Fine-tune with BatchNorms re-inserted after the layers that have none (<see cref="BatchNormReinsertion"/>), folded back after every step.</param>
    /// <param name="teaching">The teacher of the fine-tuning (<see cref="RecoveryOptions.Begin"/>): every step's loss (logit distillation, and hint layers paired against that step's smaller model) comes from it, replacing <paramref name="trainer"/>'s; null for <paramref name="trainer"/>'s own loss.</param>
    public static StructuredPruningResult Run(OnnxModel model, ChannelPruningOptions options, PruningScheduleOptions schedule, TrainerOptions? trainer,
        TensorDataset? train, TensorDataset? validation = null, IProgress<TrainingProgress>? progress = null, OpRegistry? registry = null,
        bool reinsertBatchNorm = false, RecoveryTeaching? teaching = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(schedule);
        if (trainer is not null && train is null) throw new ArgumentException("fine-tuning needs training data", nameof(train));
        if (options.NeedsGradients && train is null) throw new ArgumentException($"{options.ImportanceName} importance needs training data for gradients", nameof(train));
        int steps = schedule.Schedule is PruningSchedule.Iterative or PruningSchedule.Agp ? Math.Max(1, trainer?.Epochs ?? 1) : 1;
        var current = model;
        var plans = new List<ChannelPruningPlan>();
        var runs = new List<TrainingResult>();
        double removedSoFar = 0;
        for (int step = 1; step <= steps; step++)
        {
            // Iterative steps are equal fractions of the original widths, AGP steps follow its cubic;
            // either way remove, of what is left now, what reaches the step's target.
            double target = schedule.Schedule == PruningSchedule.Agp ? Sparsity.AgpTarget(step, 0, steps, 0, options.Ratio) : options.Ratio * step / steps;
            double relative = 1 - (1 - target) / (1 - removedSoFar);
            var gradients = options.NeedsGradients ? TaylorGradients.Accumulate(current, train!, registry: registry) : null;
            var plan = ChannelPruner.Plan(current, options.WithRatio(Math.Clamp(relative, 0, 0.999)), gradients);
            // What the kept channels looked like before this step: the re-inserted BatchNorms start there.
            var targets = trainer is not null && reinsertBatchNorm ? MatchedTargets(current, plan, train!, registry) : null;
            current = ChannelRemoval.Apply(current, plan);
            ChannelRemoval.Verify(model, current);
            plans.Add(plan);
            removedSoFar = target;
            if (trainer is null) continue;
            var (stepTrainer, hints, callbacks) = teaching is null ? new StudentTraining(trainer, null, []) : teaching.For(current, steps == 1 ? trainer.Epochs : 1);
            var epochTrainer = steps == 1 ? stepTrainer : new TrainerOptions(1, trainer.BatchSize, trainer.Optimizer, trainer.Schedule, stepTrainer.Loss,
                trainer.GradientClipping, trainer.Seed + step, trainer.Shuffle, trainer.DropLast, stepTrainer.Monitor, trainer.MonitorMode, null, null, trainer.RestoreBestWeights);
            using var graph = new TrainableGraph(current, reinsertBatchNorm, train, registry, targets);
            var module = graph.TrainingModule(hints is null ? null : hints.Attach);
            runs.Add(new Trainer(module, epochTrainer, callbacks).Fit(train!, validation, progress));
            current = graph.Finish();
        }
        return new StructuredPruningResult(current, plans, runs);
    }

    /// <summary>
    /// Per layer, the mean and variance of the output channels the plan keeps, measured in the
    /// model before the channels go: removing input channels shifts every kept channel's
    /// distribution, and the BatchNorm re-inserted after the layer starts by mapping it back.
    /// </summary>
    private static Dictionary<string, (float[] Mean, float[] Variance)> MatchedTargets(OnnxModel before, ChannelPruningPlan plan, TensorDataset calibration,
        OpRegistry? registry)
    {
        var statistics = BatchNormReinsertion.LayerStatistics(before, calibration, registry: registry);
        var kept = plan.KeptOutputChannels();
        var targets = new Dictionary<string, (float[] Mean, float[] Variance)>(StringComparer.Ordinal);
        foreach (var (layer, (mean, variance)) in statistics)
        {
            if (!kept.TryGetValue(layer, out var channels)) continue;
            if (channels.Count > 0 && channels[^1] >= mean.Length) continue; // not a channel-first output the plan describes
            targets[layer] = (channels.Select(c => mean[c]).ToArray(), channels.Select(c => variance[c]).ToArray());
        }
        return targets;
    }
}
