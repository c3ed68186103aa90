using System.Globalization;

namespace Whittle.Training;

/// <summary>
/// Everything that decides how a <see cref="Trainer"/> trains: epochs, batches, optimizer,
/// learning-rate schedule, loss, clipping, seed, stopping rules, best-weights selection and where
/// checkpoints go. Immutable; every value is checked here, and every default lives here.
/// </summary>
public sealed class TrainerOptions
{
    /// <summary>The defaults: 10 epochs of batches of 32, Adam at 1e-3, constant rate, cross-entropy, seed 0.</summary>
    public TrainerOptions()
        : this(epochs: 10)
    {
    }

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="epochs">Epochs to train at most; positive.</param>
    /// <param name="batchSize">Samples per optimizer step; positive.</param>
    /// <param name="optimizer">The optimizer and its base learning rate; null for <see cref="AdamOptions"/> with its defaults.</param>
    /// <param name="schedule">How the learning rate changes; null for <see cref="LearningRateSchedule.Constant"/>.</param>
    /// <param name="loss">The loss to minimize; null for <see cref="CrossEntropy"/> without smoothing or weights.</param>
    /// <param name="gradientClipping">Clipping before each optimizer step; null for none.</param>
    /// <param name="seed">
    /// Decides the data order of every epoch and re-seeds TorchSharp's generator (dropout, random
    /// augmentations) at the start of every epoch. It does not initialize the module, which exists
    /// before the trainer: seed TorchSharp (<c>torch.manual_seed</c>) before building it.
    /// </param>
    /// <param name="shuffle">Visit the training samples in a new seeded order every epoch.</param>
    /// <param name="dropLast">Skip a last training batch smaller than <paramref name="batchSize"/>.</param>
    /// <param name="monitor">
    /// The metric that picks the best epoch and drives early stopping and plateau reduction; null
    /// for <see cref="TrainingMetric.ValidationLoss"/> when there is a validation set, else
    /// <see cref="TrainingMetric.TrainingLoss"/>.
    /// </param>
    /// <param name="monitorMode">Whether smaller or larger <paramref name="monitor"/> values are better; null for the metric's natural direction (losses min, accuracy and F1 max).</param>
    /// <param name="earlyStopping">When to stop before the last epoch; null to always train every epoch.</param>
    /// <param name="reduceOnPlateau">Reduce the learning rate when the monitored metric stalls; null for never.</param>
    /// <param name="restoreBestWeights">At the end, put the best epoch's weights back into the module (else it keeps the last epoch's).</param>
    /// <param name="runDirectory">
    /// Where the checkpoint (written atomically after every epoch) and the history (JSON and CSV)
    /// go; created if missing. Null writes nothing, and such a run cannot be resumed.
    /// </param>
    public TrainerOptions(
        int epochs,
        int batchSize = 32,
        OptimizerOptions? optimizer = null,
        LearningRateSchedule? schedule = null,
        TrainingLoss? loss = null,
        GradientClipping? gradientClipping = null,
        int seed = 0,
        bool shuffle = true,
        bool dropLast = false,
        TrainingMetric? monitor = null,
        MetricMode? monitorMode = null,
        EarlyStopping? earlyStopping = null,
        ReduceOnPlateau? reduceOnPlateau = null,
        bool restoreBestWeights = true,
        string? runDirectory = null)
    {
        OptionChecks.Positive(epochs, nameof(Epochs));
        OptionChecks.Positive(batchSize, nameof(BatchSize));
        if (monitor is { } m) OptionChecks.Defined(m, nameof(Monitor));
        if (monitorMode is { } mode) OptionChecks.Defined(mode, nameof(MonitorMode));
        if (runDirectory is not null && string.IsNullOrWhiteSpace(runDirectory))
            throw new InvalidOptionException(nameof(RunDirectory), $"RunDirectory is blank ('{runDirectory}'); pass null to write nothing");

        Epochs = epochs;
        BatchSize = batchSize;
        Optimizer = optimizer ?? new AdamOptions();
        Schedule = schedule ?? LearningRateSchedule.Constant;
        Loss = loss ?? new CrossEntropy();
        GradientClipping = gradientClipping ?? GradientClipping.None;
        Seed = seed;
        Shuffle = shuffle;
        DropLast = dropLast;
        Monitor = monitor;
        MonitorMode = monitorMode;
        EarlyStopping = earlyStopping;
        ReduceOnPlateau = reduceOnPlateau;
        RestoreBestWeights = restoreBestWeights;
        RunDirectory = runDirectory;

        if (Schedule.CyclesMomentum && Optimizer.Kind == OptimizerKind.Adagrad)
            throw new InvalidOptionException(nameof(Schedule), $"the schedule {Schedule} cycles momentum, but Adagrad has none; create the one-cycle schedule with cycleMomentum: false");
    }

    /// <summary>Epochs to train at most.</summary>
    public int Epochs { get; }

    /// <summary>Samples per optimizer step.</summary>
    public int BatchSize { get; }

    /// <summary>The optimizer and its base learning rate.</summary>
    public OptimizerOptions Optimizer { get; }

    /// <summary>How the learning rate changes over the run.</summary>
    public LearningRateSchedule Schedule { get; }

    /// <summary>The loss to minimize.</summary>
    public TrainingLoss Loss { get; }

    /// <summary>Clipping before each optimizer step.</summary>
    public GradientClipping GradientClipping { get; }

    /// <summary>Decides the data order of every epoch and TorchSharp's generator state at the start of every epoch.</summary>
    public int Seed { get; }

    /// <summary>True when training samples are visited in a new seeded order every epoch.</summary>
    public bool Shuffle { get; }

    /// <summary>True when a short last training batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>The metric that picks the best epoch, or null for "validation loss if there is a validation set, else training loss".</summary>
    public TrainingMetric? Monitor { get; }

    /// <summary>Whether smaller or larger monitored values are better, or null for the metric's natural direction.</summary>
    public MetricMode? MonitorMode { get; }

    /// <summary>When to stop before the last epoch, or null.</summary>
    public EarlyStopping? EarlyStopping { get; }

    /// <summary>Learning-rate reduction when the monitored metric stalls, or null.</summary>
    public ReduceOnPlateau? ReduceOnPlateau { get; }

    /// <summary>True when the module gets the best epoch's weights back at the end.</summary>
    public bool RestoreBestWeights { get; }

    /// <summary>Where checkpoints and history go, or null for nowhere.</summary>
    public string? RunDirectory { get; }

    /// <summary>These options with another seed (e.g. for <see cref="MultiSeedTraining"/>).</summary>
    /// <param name="seed">The new seed.</param>
    public TrainerOptions WithSeed(int seed) => Copy(seed: seed);

    /// <summary>These options writing to another run directory, or to none.</summary>
    /// <param name="runDirectory">The new run directory, or null.</param>
    public TrainerOptions WithRunDirectory(string? runDirectory) => Copy(runDirectory: runDirectory, keepRunDirectory: false);

    /// <summary>The monitored metric for a run with or without a validation set.</summary>
    internal TrainingMetric ResolveMonitor(bool hasValidation) =>
        Monitor ?? (hasValidation ? TrainingMetric.ValidationLoss : TrainingMetric.TrainingLoss);

    /// <summary>The direction of <paramref name="monitor"/>.</summary>
    internal MetricMode ResolveMode(TrainingMetric monitor) => MonitorMode ?? MetricRules.NaturalMode(monitor);

    /// <summary>
    /// Every setting that changes what a run computes, as (name, value) text: a checkpoint keeps
    /// them so that resuming with different settings is refused rather than silently mixed.
    /// </summary>
    internal IReadOnlyDictionary<string, string> Fingerprint() => new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["epochs"] = Epochs.ToString(CultureInfo.InvariantCulture),
        ["batchSize"] = BatchSize.ToString(CultureInfo.InvariantCulture),
        ["optimizer"] = Optimizer.ToString(),
        ["schedule"] = Schedule.ToString() ?? "",
        ["loss"] = Loss.ToString() ?? "",
        ["gradientClipping"] = GradientClipping.ToString(),
        ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
        ["shuffle"] = Shuffle ? "true" : "false",
        ["dropLast"] = DropLast ? "true" : "false",
        ["monitor"] = Monitor?.ToString() ?? "auto",
        ["monitorMode"] = MonitorMode?.ToString() ?? "auto",
        ["earlyStopping"] = EarlyStopping?.ToString() ?? "none",
        ["reduceOnPlateau"] = ReduceOnPlateau?.ToString() ?? "none",
        ["restoreBestWeights"] = RestoreBestWeights ? "true" : "false",
    };

    /// <summary>These options with another loss and monitored metric (a job picks the loss its task needs).</summary>
    /// <param name="loss">The new loss.</param>
    /// <param name="monitor">The metric that picks the best epoch and drives early stopping; null for the automatic choice.</param>
    public TrainerOptions WithLoss(TrainingLoss loss, TrainingMetric? monitor)
    {
        ArgumentNullException.ThrowIfNull(loss);
        return new(Epochs, BatchSize, Optimizer, Schedule, loss, GradientClipping, Seed, Shuffle, DropLast, monitor, MonitorMode,
            EarlyStopping, ReduceOnPlateau, RestoreBestWeights, RunDirectory);
    }

    /// <summary>These options with another optimizer (e.g. the trainer's optimizer at a learning rate a range test found).</summary>
    /// <param name="optimizer">The new optimizer settings.</param>
    public TrainerOptions WithOptimizer(OptimizerOptions optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return new(Epochs, BatchSize, optimizer, Schedule, Loss, GradientClipping, Seed, Shuffle, DropLast, Monitor, MonitorMode,
            EarlyStopping, ReduceOnPlateau, RestoreBestWeights, RunDirectory);
    }

    private TrainerOptions Copy(int? seed = null, string? runDirectory = null, bool keepRunDirectory = true) => new(
        Epochs, BatchSize, Optimizer, Schedule, Loss, GradientClipping, seed ?? Seed, Shuffle, DropLast, Monitor, MonitorMode,
        EarlyStopping, ReduceOnPlateau, RestoreBestWeights, keepRunDirectory ? RunDirectory : runDirectory);
}
