using System.Diagnostics;
using System.Runtime.InteropServices;
using Parameter = TorchSharp.Modules.Parameter;
using OptimizerHelper = TorchSharp.Modules.OptimizerHelper;
using TorchSharp;
using Whittle.Data;
using Whittle.Evaluation;
using static TorchSharp.torch;

namespace Whittle.Training;

/// <summary>
/// Trains any TorchSharp module that maps an input batch to outputs (logits) on a labeled
/// <see cref="TensorDataset"/>, following a <see cref="TrainerOptions"/>: seeded data order,
/// TorchSharp optimizer, closed-form learning-rate schedule, loss, clipping, NaN detection,
/// validation, best-weights selection, early stopping, atomic per-epoch checkpoints and
/// <see cref="Resume(TensorDataset)"/> of an interrupted run.
/// </summary>
/// <remarks>
/// <para>
/// Reproducibility: epoch e's data order and TorchSharp generator seed are both derived from
/// (<see cref="TrainerOptions.Seed"/>, e), and the schedule is a function of the step and epoch
/// counters. So two runs from the same initial weights and options give identical losses, and a
/// run resumed from the checkpoint of epoch e repeats epoch e + 1 exactly as an uninterrupted
/// run trains it.
/// </para>
/// <para>
/// Every step runs in its own TorchSharp dispose scope; nothing but the module's parameters and
/// the optimizer's state outlives a step.
/// </para>
/// </remarks>
public sealed class Trainer
{
    /// <summary>The batch size of <see cref="Evaluate(nn.Module{Tensor, Tensor}, TensorDataset)"/>.</summary>
    public const int DefaultEvaluationBatchSize = 256;

    private readonly TrainingCallback[] _callbacks;

    /// <summary>A trainer with the default <see cref="TrainerOptions"/>.</summary>
    /// <param name="module">The module to train, in place.</param>
    public Trainer(nn.Module<Tensor, Tensor> module)
        : this(module, new TrainerOptions())
    {
    }

    /// <summary>A trainer with the given options and callbacks.</summary>
    /// <param name="module">The module to train, in place; its parameters are what the optimizer updates.</param>
    /// <param name="options">How to train.</param>
    /// <param name="callbacks">Hooks called during training, in order; null for none.</param>
    public Trainer(nn.Module<Tensor, Tensor> module, TrainerOptions options, IEnumerable<TrainingCallback>? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(options);
        Module = module;
        Options = options;
        _callbacks = callbacks?.ToArray() ?? [];
        if (_callbacks.Any(c => c is null)) throw new ArgumentException("A callback is null.", nameof(callbacks));
    }

    /// <summary>The module being trained.</summary>
    public nn.Module<Tensor, Tensor> Module { get; }

    /// <summary>How it is trained.</summary>
    public TrainerOptions Options { get; }

    /// <summary>Trains on <paramref name="train"/> without a validation set.</summary>
    /// <param name="train">Labeled training samples.</param>
    public TrainingResult Fit(TensorDataset train) => Fit(train, null);

    /// <summary>
    /// Trains from the module's current weights for <see cref="TrainerOptions.Epochs"/> epochs
    /// (fewer with early stopping), validating after every epoch when
    /// <paramref name="validation"/> is given. With a run directory, a checkpoint and the history
    /// are written after every epoch, replacing any earlier run's.
    /// </summary>
    /// <param name="train">Labeled training samples.</param>
    /// <param name="validation">Labeled validation samples, or null.</param>
    /// <param name="progress">Receives a report after every step and every epoch; null for none.</param>
    /// <param name="cancellationToken">Checked before every step; cancelling leaves the last epoch's checkpoint as the one to resume from.</param>
    /// <exception cref="TrainingException">The loss became NaN or infinite.</exception>
    /// <exception cref="InvalidOptionException">The options do not fit the data: no batch, a monitored validation metric without a validation set, a schedule shorter than the run, or class weights for another number of classes.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public TrainingResult Fit(TensorDataset train, TensorDataset? validation, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var plan = Plan(train, validation);
        if (Options.RunDirectory is string directory) Directory.CreateDirectory(directory);
        using OptimizerHelper optimizer = Options.Optimizer.Create(TrainableParameters(Module));
        var state = new RunState();
        return Run(plan, state, optimizer, train, validation, progress, cancellationToken, resumedAfter: null);
    }

    /// <summary>Resumes the run whose checkpoint is in <see cref="TrainerOptions.RunDirectory"/>, without a validation set.</summary>
    /// <param name="train">The same training samples as the interrupted run.</param>
    public TrainingResult Resume(TensorDataset train) => Resume(train, null);

    /// <summary>
    /// Continues an interrupted run from the checkpoint in <see cref="TrainerOptions.RunDirectory"/>:
    /// loads the module's weights, the optimizer's state and the counters, then trains the epoch
    /// that was interrupted from its start, with the same data order, and on to the same last
    /// epoch. A finished run is not trained further; its result is returned (with the best
    /// weights restored when so configured).
    /// </summary>
    /// <param name="train">The same training samples as the interrupted run.</param>
    /// <param name="validation">The same validation samples as the interrupted run, or null if it had none.</param>
    /// <param name="progress">Receives a report after every step and every epoch; null for none.</param>
    /// <param name="cancellationToken">Checked before every step.</param>
    /// <exception cref="TrainingException">
    /// There is no checkpoint, it was written with different options or for a module with other
    /// parameters, or the loss became NaN or infinite.
    /// </exception>
    public TrainingResult Resume(TensorDataset train, TensorDataset? validation, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        string directory = Options.RunDirectory
            ?? throw new InvalidOperationException("These options have no run directory, so there is no checkpoint to resume from.");
        var plan = Plan(train, validation);
        CheckpointContents checkpoint = TrainingCheckpoint.Read(directory);
        CheckCompatible(checkpoint.Info, plan, directory);

        using OptimizerHelper optimizer = Options.Optimizer.Create(TrainableParameters(Module));
        try
        {
            LoadModel(Module, checkpoint.ModelState);
            using var reader = new BinaryReader(new MemoryStream(checkpoint.OptimizerState));
            optimizer.load_state_dict(reader);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or EndOfStreamException or InvalidOperationException)
        {
            throw new TrainingException($"The checkpoint in {directory} does not fit this module: {e.Message}", e);
        }

        var info = checkpoint.Info;
        var state = new RunState
        {
            CompletedEpochs = info.CompletedEpochs,
            GlobalStep = info.GlobalStep,
            BestEpoch = info.BestEpoch,
            BestValue = info.BestValue,
            BestModelState = checkpoint.BestModelState,
            StopReason = info.StopReason,
        };
        state.History.AddRange(info.History);
        return Run(plan, state, optimizer, train, validation, progress, cancellationToken, resumedAfter: info.CompletedEpochs);
    }

    /// <summary>Loss (cross-entropy), accuracy and macro-F1 of <paramref name="module"/> on <paramref name="dataset"/>.</summary>
    /// <param name="module">The module; evaluated in eval mode, then put back in the mode it was in.</param>
    /// <param name="dataset">Labeled samples.</param>
    public static EvaluationResult Evaluate(nn.Module<Tensor, Tensor> module, TensorDataset dataset) =>
        Evaluate(module, dataset, new CrossEntropy(), DefaultEvaluationBatchSize);

    /// <summary>
    /// Mean loss, accuracy and macro-F1 of <paramref name="module"/> on <paramref name="dataset"/>,
    /// in eval mode (dropout off, batch-norm running statistics) and without gradients.
    /// </summary>
    /// <param name="module">The module; evaluated in eval mode, then put back in the mode it was in.</param>
    /// <param name="dataset">Labeled samples.</param>
    /// <param name="loss">The loss to report; its <see cref="TrainingLoss.PredictClasses"/> gives the predictions.</param>
    /// <param name="batchSize">Samples per forward pass; positive.</param>
    public static EvaluationResult Evaluate(nn.Module<Tensor, Tensor> module, TensorDataset dataset, TrainingLoss loss, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (!dataset.HasLabels) throw new ArgumentException("Evaluation needs a labeled dataset.", nameof(dataset));
        if (dataset.Count == 0) throw new ArgumentException("The dataset is empty.", nameof(dataset));

        Device device = DeviceOf(module);
        bool wasTraining = module.training;
        module.eval();
        try
        {
            using var noGrad = no_grad();
            int[] predictions = new int[dataset.Count];
            double lossSum = 0;
            int offset = 0;
            foreach (Batch batch in dataset.Batches(batchSize))
            {
                using var scope = NewDisposeScope();
                Tensor input = FeatureTensor(batch, device);
                Tensor labels = tensor(batch.LabelsAsInt64, device: device);
                Tensor outputs = module.call(input);
                lossSum += loss.Compute(input, outputs, labels).ToDouble() * batch.Count;
                long[] predicted = loss.PredictClasses(outputs).to(ScalarType.Int64).cpu().data<long>().ToArray();
                if (predicted.Length != batch.Count)
                    throw new InvalidOperationException($"The loss predicted {predicted.Length} classes for a batch of {batch.Count} samples.");
                for (int i = 0; i < predicted.Length; i++) predictions[offset + i] = checked((int)predicted[i]);
                offset += batch.Count;
            }
            var report = ClassificationReport.FromPredictions(dataset.Labels.Span, predictions, dataset.ClassCount, dataset.ClassNames);
            return new EvaluationResult(lossSum / dataset.Count, report.Accuracy, report.Macro.F1, report);
        }
        finally
        {
            module.train(wasTraining);
        }
    }

    /// <summary>The seed of epoch <paramref name="epochIndex"/>'s data order.</summary>
    internal static int ShuffleSeed(int seed, int epochIndex) => (int)(DeriveSeed(seed, epochIndex, 0x5348_5546_464C_4531UL) & int.MaxValue);

    /// <summary>The TorchSharp generator seed set at the start of epoch <paramref name="epochIndex"/>.</summary>
    internal static long TorchSeed(int seed, int epochIndex) => DeriveSeed(seed, epochIndex, 0x544F_5243_4853_4544UL);

    // SplitMix64 of (seed, epoch, purpose): portable, and unrelated streams for the two uses.
    private static long DeriveSeed(int seed, int epochIndex, ulong purpose)
    {
        ulong key = ((ulong)(uint)seed << 32 | (uint)epochIndex) ^ purpose;
        return (long)(new SeededRandom(unchecked((long)key)).NextUInt64() >> 1);
    }

    private RunPlan Plan(TensorDataset train, TensorDataset? validation)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (!train.HasLabels) throw new ArgumentException("Training needs a labeled dataset.", nameof(train));
        if (validation is not null)
        {
            if (!validation.HasLabels) throw new ArgumentException("The validation set has no labels.", nameof(validation));
            if (validation.Count == 0) throw new ArgumentException("The validation set is empty.", nameof(validation));
            if (validation.ClassCount != train.ClassCount)
                throw new ArgumentException($"The validation set has {validation.ClassCount} classes, the training set {train.ClassCount}.", nameof(validation));
        }
        Options.Loss.CheckClassCount(train.ClassCount);
        if (TrainableParameters(Module).Length == 0)
            throw new InvalidOperationException("The module has no trainable parameters (none with requires_grad).");

        int stepsPerEpoch = Options.DropLast ? train.Count / Options.BatchSize : (train.Count + Options.BatchSize - 1) / Options.BatchSize;
        if (stepsPerEpoch == 0)
            throw new InvalidOptionException(nameof(TrainerOptions.BatchSize), $"BatchSize {Options.BatchSize} makes no batch of {train.Count} training samples{(Options.DropLast ? " with DropLast" : "")}");

        TrainingMetric monitor = Options.ResolveMonitor(validation is not null);
        if (MetricRules.NeedsValidation(monitor) && validation is null)
            throw new InvalidOptionException(nameof(TrainerOptions.Monitor), $"Monitor {monitor} needs a validation set, and none was given");

        long totalTicks = Options.Schedule.Unit == ScheduleUnit.Epoch ? Options.Epochs : (long)Options.Epochs * stepsPerEpoch;
        LearningRateSchedule schedule = Options.Schedule.ForRun(totalTicks);
        if (schedule.LastTick is long last && last < totalTicks)
            throw new InvalidOptionException(nameof(TrainerOptions.Schedule), $"the schedule {Options.Schedule} ends after {last} {Options.Schedule.Unit.ToString().ToLowerInvariant()}s, but the run has {totalTicks}");
        return new RunPlan(stepsPerEpoch, monitor, Options.ResolveMode(monitor), schedule, DataFingerprint(train, validation));
    }

    /// <summary>
    /// What identifies the data of a run: sample counts, shapes and a SHA-256 of features and labels
    /// (after preprocessing). A checkpoint keeps it, so resuming on other data (another limit, another
    /// normalization) is refused instead of silently continuing the schedule on a different set.
    /// </summary>
    private static IReadOnlyDictionary<string, string> DataFingerprint(TensorDataset train, TensorDataset? validation)
    {
        static string Of(TensorDataset d)
        {
            using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(d.Features.Span));
            if (d.HasLabels) sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(d.Labels.Span));
            return $"{d.Count} x [{string.Join(",", d.SampleShape.ToArray())}], sha256 {Convert.ToHexString(sha.GetHashAndReset())[..16].ToLowerInvariant()}";
        }
        return new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["data.train"] = Of(train),
            ["data.validation"] = validation is null ? "none" : Of(validation),
        };
    }

    private TrainingResult Run(RunPlan plan, RunState state, OptimizerHelper optimizer, TensorDataset train, TensorDataset? validation,
        IProgress<TrainingProgress>? progress, CancellationToken cancellationToken, int? resumedAfter)
    {
        bool wasTraining = Module.training;
        Parameter[] parameters = TrainableParameters(Module);
        Device device = DeviceOf(Module);
        double baseRate = Options.Optimizer.LearningRate;
        try
        {
            for (int epochIndex = state.CompletedEpochs; epochIndex < Options.Epochs && state.StopReason is null; epochIndex++)
            {
                int epoch = epochIndex + 1;
                var epochWatch = Stopwatch.StartNew();
                random.manual_seed(TorchSeed(Options.Seed, epochIndex));
                Module.train();
                foreach (var callback in _callbacks) callback.OnEpochStart(Module, epoch);

                double multiplier = Options.ReduceOnPlateau?.MultiplierAfter(state.MonitoredValues(plan.Monitor), plan.Mode, baseRate) ?? 1;
                double lossSum = 0, rate = 0;
                long samples = 0;
                int step = 0;
                var trainWatch = Stopwatch.StartNew();
                foreach (Batch batch in train.Batches(Options.BatchSize, Options.Shuffle, ShuffleSeed(Options.Seed, epochIndex), Options.DropLast))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    long tick = plan.Schedule.Unit == ScheduleUnit.Epoch ? epochIndex : state.GlobalStep;
                    rate = plan.Schedule.At(tick, baseRate) * multiplier;
                    SetHyperparameters(optimizer, rate, plan.Schedule.MomentumAt(tick));

                    double loss = TrainStep(optimizer, parameters, batch, device);
                    if (!double.IsFinite(loss))
                    {
                        throw new TrainingException(
                            $"The training loss became {loss} at epoch {epoch}, step {step + 1} of {plan.StepsPerEpoch} (step {state.GlobalStep + 1} of the run), " +
                            $"learning rate {rate:G6}. Lower the learning rate or clip gradients. " +
                            (Options.RunDirectory is null ? "No checkpoint was kept (no run directory)." :
                             state.CompletedEpochs > 0 ? $"The checkpoint of epoch {state.CompletedEpochs} is kept." : "No epoch had finished, so there is no checkpoint."),
                            epoch, step + 1, state.GlobalStep + 1, rate);
                    }
                    step++;
                    state.GlobalStep++;
                    lossSum += loss * batch.Count;
                    samples += batch.Count;

                    var report = new TrainingProgress(TrainingProgressKind.Step, epoch, Options.Epochs, step, plan.StepsPerEpoch, state.GlobalStep,
                        lossSum / samples, rate, samples / Math.Max(trainWatch.Elapsed.TotalSeconds, 1e-9));
                    foreach (var callback in _callbacks) callback.OnStepEnd(Module, report);
                    progress?.Report(report);
                }
                double trainSeconds = trainWatch.Elapsed.TotalSeconds;

                EvaluationResult? validated = validation is null ? null : Evaluate(Module, validation, Options.Loss.ValidationLoss, Options.BatchSize);
                var record = new EpochRecord(epoch, lossSum / samples, validated?.Loss, validated?.Accuracy, validated?.MacroF1,
                    rate, epochWatch.Elapsed.TotalSeconds, step, samples / Math.Max(trainSeconds, 1e-9));
                state.History.Add(record);
                state.CompletedEpochs = epoch;

                double value = MetricRules.Read(record, plan.Monitor);
                if (state.BestEpoch == 0 || MetricRules.Improves(value, state.BestValue, plan.Mode, minDelta: 0))
                {
                    state.BestEpoch = epoch;
                    state.BestValue = value;
                    state.BestModelState = Options.RestoreBestWeights ? SaveModel(Module, sizeHint: state.BestModelState?.Length ?? 0) : null;
                }
                if (Options.EarlyStopping?.ShouldStop(state.MonitoredValues(plan.Monitor), plan.Mode) == true)
                    state.StopReason = StopReason.EarlyStopped;
                else if (epoch == Options.Epochs)
                    state.StopReason = StopReason.CompletedAllEpochs;

                if (Options.RunDirectory is string directory)
                {
                    double nextMultiplier = Options.ReduceOnPlateau?.MultiplierAfter(state.MonitoredValues(plan.Monitor), plan.Mode, baseRate) ?? 1;
                    TrainingCheckpoint.Write(directory, state.Info(plan, Options, nextMultiplier),
                        writer => Module.save(writer), writer => optimizer.save_state_dict(writer), state.BestModelState);
                    TrainingHistory.Write(directory, state.History);
                }

                ReleaseEpochGarbage();
                progress?.Report(new TrainingProgress(TrainingProgressKind.EpochEnd, epoch, Options.Epochs, step, plan.StepsPerEpoch, state.GlobalStep,
                    record.TrainingLoss, rate, record.SamplesPerSecond, record.ValidationLoss, record.ValidationAccuracy, record.ValidationMacroF1, value));
                foreach (var callback in _callbacks) callback.OnEpochEnd(Module, record);
            }
        }
        finally
        {
            Module.train(wasTraining);
        }

        if (Options.RestoreBestWeights && state.BestModelState is not null && state.BestEpoch != state.CompletedEpochs)
            LoadModel(Module, state.BestModelState);
        return new TrainingResult(state.History.ToArray(), state.StopReason ?? StopReason.CompletedAllEpochs, plan.Monitor,
            state.BestEpoch, state.BestValue, Options.RestoreBestWeights, state.GlobalStep, resumedAfter);
    }

    private double TrainStep(OptimizerHelper optimizer, Parameter[] parameters, Batch batch, Device device)
    {
        using var scope = NewDisposeScope();
        Tensor input = FeatureTensor(batch, device);
        Tensor labels = tensor(batch.LabelsAsInt64, device: device);
        optimizer.zero_grad();
        Tensor outputs = Module.call(input);
        Tensor loss = Options.Loss.Compute(input, outputs, labels);
        double value = loss.ToDouble();
        if (!double.IsFinite(value)) return value;
        loss.backward();
        Options.GradientClipping.Apply(parameters);
        optimizer.step();
        return value;
    }

    /// <summary>
    /// The batch's features as a float32 tensor in memory libtorch allocated, filled straight from
    /// the dataset. <c>torch.tensor(float[])</c> would instead copy into a new managed array and pin
    /// it, and together with the batch's own array that was 400 KB of large objects per step (at 64
    /// images of 28 × 28). The GC reclaims large objects only in full collections, which it runs after
    /// allocating some multiple of the live heap (the loaded dataset), so the resident memory of a
    /// run grew by every epoch's batches for tens of epochs. libtorch frees this memory the moment
    /// the step's dispose scope ends.
    /// </summary>
    internal static Tensor FeatureTensor(Batch batch, Device device)
    {
        Tensor features = empty(batch.ShapeAsInt64, ScalarType.Float32);
        batch.CopyFeaturesTo(MemoryMarshal.Cast<byte, float>(features.bytes));
        return device.type == DeviceType.CPU ? features : features.to(device);
    }

    /// <summary>
    /// A young-generation collection at the end of every epoch. TorchSharp's optimizers make
    /// their constants (<c>mul_(beta1)</c>, <c>add_(eps)</c>, ...) as <see cref="Scalar"/>s that
    /// nothing disposes: AdamW leaves eight per parameter per step, each holding native memory
    /// that only its finalizer frees. The GC sees 24-byte objects, not that memory, and its
    /// young-generation budget follows the CPU cache size (about 130 MB on a VM reporting a
    /// 260 MB L3), so on such machines no collection ran for dozens of epochs and the resident
    /// memory grew by ~1 MB of native Scalars and ~2 MB of young garbage per epoch of 85 steps.
    /// A generation-0 collection costs 1-6 ms here (the dataset's arrays hold no references),
    /// leaves the older generations alone, and hands those Scalars to the finalizer thread.
    /// </summary>
    private static void ReleaseEpochGarbage() => GC.Collect(0, GCCollectionMode.Forced, blocking: true);

    private static void SetHyperparameters(OptimizerHelper optimizer, double learningRate, double? momentum)
    {
        foreach (optim.ILearningRateController group in optimizer.ParamGroups)
        {
            group.LearningRate = learningRate;
            if (momentum is double m)
            {
                if (group is optim.IMomentum withMomentum) withMomentum.Momentum = m;
                else if (group is optim.IBetas withBetas) withBetas.Betas = (m, withBetas.Betas.Item2);
            }
        }
    }

    private void CheckCompatible(CheckpointInfo info, RunPlan plan, string directory)
    {
        var now = plan.Fingerprint(Options);
        var differences = now.Keys.Union(info.Options.Keys)
            .Where(key => !(now.TryGetValue(key, out var a) && info.Options.TryGetValue(key, out var b) && a == b))
            .Select(key => $"{key}: checkpoint {info.Options.GetValueOrDefault(key, "(absent)")}, now {now.GetValueOrDefault(key, "(absent)")}")
            .ToArray();
        if (differences.Length > 0)
            throw new TrainingException($"The checkpoint in {directory} was written with other options or data, so resuming would not continue the same run: {string.Join("; ", differences)}.");
        if (info.Monitor != plan.Monitor)
            throw new TrainingException($"The checkpoint in {directory} monitored {info.Monitor}, this run would monitor {plan.Monitor} (was the validation set left out?).");
        if (info.CompletedEpochs < 0 || info.CompletedEpochs > Options.Epochs || info.History.Count != info.CompletedEpochs)
            throw new TrainingException($"The checkpoint in {directory} is inconsistent: {info.CompletedEpochs} epochs, {info.History.Count} history records.");
    }

    // Frozen parameters (requires_grad false) are left out of the optimizer and of clipping.
    internal static Parameter[] TrainableParameters(nn.Module<Tensor, Tensor> module) =>
        module.parameters().Where(p => p.requires_grad).ToArray();

    internal static Device DeviceOf(nn.Module<Tensor, Tensor> module)
    {
        foreach (var parameter in module.parameters()) return parameter.device;
        return CPU;
    }

    /// <summary>
    /// The module's state as bytes. With the size of the last save as <paramref name="sizeHint"/>
    /// (the state's size never changes) the buffer is allocated once at its final size and
    /// returned as is, instead of growing by doubling and being copied: that was about four times
    /// the model's size in large-object garbage per new best epoch.
    /// </summary>
    private static byte[] SaveModel(nn.Module<Tensor, Tensor> module, int sizeHint = 0)
    {
        using var buffer = new MemoryStream(sizeHint);
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true)) module.save(writer);
        return buffer.TryGetBuffer(out var written) && written.Offset == 0 && written.Count == written.Array!.Length ? written.Array : buffer.ToArray();
    }

    private static void LoadModel(nn.Module<Tensor, Tensor> module, byte[] state)
    {
        using var buffer = new MemoryStream(state, writable: false);
        module.load(buffer);
    }

    private sealed record RunPlan(int StepsPerEpoch, TrainingMetric Monitor, MetricMode Mode, LearningRateSchedule Schedule, IReadOnlyDictionary<string, string> Data)
    {
        /// <summary>The options' and the data's fingerprints together: what a checkpoint must match to be resumed.</summary>
        public IReadOnlyDictionary<string, string> Fingerprint(TrainerOptions options) =>
            new SortedDictionary<string, string>(options.Fingerprint().Concat(Data).ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal);
    }

    private sealed class RunState
    {
        public int CompletedEpochs { get; set; }

        public long GlobalStep { get; set; }

        public List<EpochRecord> History { get; } = [];

        public int BestEpoch { get; set; }

        public double BestValue { get; set; } = double.NaN;

        public byte[]? BestModelState { get; set; }

        public StopReason? StopReason { get; set; }

        public double[] MonitoredValues(TrainingMetric monitor) => History.Select(r => MetricRules.Read(r, monitor)).ToArray();

        public CheckpointInfo Info(RunPlan plan, TrainerOptions options, double multiplier) => new(
            CompletedEpochs, GlobalStep, StopReason is not null, StopReason, plan.Monitor, plan.Mode, BestEpoch, BestValue, options.Seed,
            ShuffleSeed(options.Seed, CompletedEpochs), TorchSeed(options.Seed, CompletedEpochs), multiplier, History.ToArray(), plan.Fingerprint(options));
    }
}
