using System.Globalization;
using Whittle.Data;
using Whittle.Evaluation;
using static TorchSharp.torch;

namespace Whittle.Training;

/// <summary>One seed's run within <see cref="MultiSeedTraining"/>.</summary>
/// <param name="Seed">The seed of the module's initialization and of the run.</param>
/// <param name="Training">The run's result and history.</param>
/// <param name="Validation">The trained module (best weights, when so configured) on the validation set.</param>
public sealed record SeedRun(int Seed, TrainingResult Training, EvaluationResult Validation);

/// <summary>The spread of every metric over the seeds of <see cref="MultiSeedTraining"/>.</summary>
/// <param name="Runs">Each seed's run, in seed order.</param>
/// <param name="ValidationLoss">Validation loss of the trained modules.</param>
/// <param name="ValidationAccuracy">Validation accuracy of the trained modules.</param>
/// <param name="ValidationMacroF1">Validation macro-F1 of the trained modules.</param>
/// <param name="FinalTrainingLoss">Training loss of each run's last epoch.</param>
/// <param name="BestEpoch">The best epoch of each run.</param>
/// <param name="EpochsTrained">Epochs each run trained (fewer than configured after early stopping).</param>
public sealed record MultiSeedResult(
    IReadOnlyList<SeedRun> Runs,
    SummaryStatistics ValidationLoss,
    SummaryStatistics ValidationAccuracy,
    SummaryStatistics ValidationMacroF1,
    SummaryStatistics FinalTrainingLoss,
    SummaryStatistics BestEpoch,
    SummaryStatistics EpochsTrained);

/// <summary>
/// Trains the same architecture once per seed and summarizes how much the results vary: the
/// stability half of "what does this technique cost". Seed s seeds TorchSharp before the module
/// is built (so initial weights differ per seed) and is the run's <see cref="TrainerOptions.Seed"/>.
/// </summary>
public static class MultiSeedTraining
{
    /// <summary>Runs seeds 0 .. <paramref name="seedCount"/> − 1 with the default <see cref="TrainerOptions"/>.</summary>
    /// <param name="createModule">Builds a fresh, untrained module; called once per seed, after TorchSharp is seeded.</param>
    /// <param name="train">Labeled training samples.</param>
    /// <param name="validation">Labeled validation samples.</param>
    /// <param name="seedCount">How many seeds; at least one.</param>
    public static MultiSeedResult Run(Func<nn.Module<Tensor, Tensor>> createModule, TensorDataset train, TensorDataset validation, int seedCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seedCount);
        return Run(createModule, train, validation, new TrainerOptions(), Enumerable.Range(0, seedCount));
    }

    /// <summary>
    /// Trains one module per seed with <paramref name="options"/> (its seed replaced, its run
    /// directory, if any, replaced by a <c>seed-S</c> subdirectory when there are several seeds),
    /// evaluates each on <paramref name="validation"/>, hands it to <paramref name="afterRun"/>,
    /// disposes it, and summarizes the metrics.
    /// </summary>
    /// <param name="createModule">Builds a fresh, untrained module; called once per seed, after TorchSharp is seeded. The modules are disposed after evaluation.</param>
    /// <param name="train">Labeled training samples.</param>
    /// <param name="validation">Labeled validation samples.</param>
    /// <param name="options">How to train each module.</param>
    /// <param name="seeds">The seeds, at least one, no repeats.</param>
    /// <param name="progress">Receives every run's progress reports; null for none.</param>
    /// <param name="cancellationToken">Checked before every step.</param>
    /// <param name="resume">Continue each seed's run from the last checkpoint in its run directory (<see cref="Trainer.Resume(TensorDataset, TensorDataset?, IProgress{TrainingProgress}?, CancellationToken)"/>).</param>
    /// <param name="afterRun">Called with each seed's run and its trained module before the module is disposed (to write it back, verify it, test it); null for nothing.</param>
    /// <param name="callbacks">The training callbacks of each seed's run (given the seed); null for none.</param>
    public static MultiSeedResult Run(Func<nn.Module<Tensor, Tensor>> createModule, TensorDataset train, TensorDataset validation,
        TrainerOptions options, IEnumerable<int> seeds, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default,
        bool resume = false, Action<SeedRun, nn.Module<Tensor, Tensor>>? afterRun = null, Func<int, IReadOnlyList<TrainingCallback>>? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(createModule);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(seeds);
        int[] seedList = seeds.ToArray();
        if (seedList.Length == 0) throw new ArgumentException("Give at least one seed.", nameof(seeds));
        if (seedList.Distinct().Count() != seedList.Length) throw new ArgumentException("A seed is repeated.", nameof(seeds));

        var runs = new List<SeedRun>(seedList.Length);
        foreach (int seed in seedList)
        {
            random.manual_seed(seed);
            var module = createModule() ?? throw new InvalidOperationException("createModule returned null.");
            try
            {
                var seedOptions = options.WithSeed(seed);
                if (options.RunDirectory is string directory && seedList.Length > 1)
                    seedOptions = seedOptions.WithRunDirectory(Path.Combine(directory, "seed-" + seed.ToString(CultureInfo.InvariantCulture)));
                var trainer = new Trainer(module, seedOptions, callbacks?.Invoke(seed));
                TrainingResult result = resume ? trainer.Resume(train, validation, progress, cancellationToken) : trainer.Fit(train, validation, progress, cancellationToken);
                EvaluationResult evaluation = Trainer.Evaluate(module, validation, options.Loss.ValidationLoss, options.BatchSize);
                var run = new SeedRun(seed, result, evaluation);
                runs.Add(run);
                afterRun?.Invoke(run, module);
            }
            finally
            {
                module.Dispose();
            }
        }

        return new MultiSeedResult(
            runs,
            new SummaryStatistics(runs.Select(r => r.Validation.Loss)),
            new SummaryStatistics(runs.Select(r => r.Validation.Accuracy)),
            new SummaryStatistics(runs.Select(r => r.Validation.MacroF1)),
            new SummaryStatistics(runs.Select(r => r.Training.LastEpoch.TrainingLoss)),
            new SummaryStatistics(runs.Select(r => (double)r.Training.BestEpoch)),
            new SummaryStatistics(runs.Select(r => (double)r.Training.History.Count)));
    }
}
