using TorchSharp;
using Whittle.Data;
using Whittle.Tests.Data;
using Whittle.Training;
using static TorchSharp.torch;

namespace Whittle.Tests.Training;

[Collection(TorchCollection.Name)]
public sealed class TrainerTests
{
    private static readonly TensorDataset Train = TrainingTestKit.Blobs(600, seed: 1);
    private static readonly TensorDataset Validation = TrainingTestKit.Blobs(300, seed: 2);

    [Fact]
    public void Tiny_mlp_learns_a_separable_problem_above_95_percent()
    {
        using var module = TrainingTestKit.Mlp(seed: 7);
        var options = new TrainerOptions(epochs: 8, batchSize: 32, optimizer: new AdamOptions(learningRate: 1e-2),
            schedule: new CosineAnnealingSchedule(), restoreBestWeights: false);

        TrainingResult result = new Trainer(module, options).Fit(Train, Validation);

        Assert.Equal(8, result.History.Count);
        Assert.Equal(StopReason.CompletedAllEpochs, result.StopReason);
        Assert.Equal(TrainingMetric.ValidationLoss, result.Monitor);
        Assert.Equal(8 * 19, result.GlobalSteps);
        Assert.True(result.LastEpoch.ValidationAccuracy > 0.95, $"validation accuracy {result.LastEpoch.ValidationAccuracy}");
        Assert.True(result.LastEpoch.TrainingLoss < result.History[0].TrainingLoss / 2);
        // The history's validation numbers are Evaluate's numbers for the final weights.
        var evaluation = Trainer.Evaluate(module, Validation);
        Assert.Equal(result.LastEpoch.ValidationAccuracy!.Value, evaluation.Accuracy, 12);
        Assert.Equal(result.LastEpoch.ValidationLoss!.Value, evaluation.Loss, 5);
        Assert.Equal(result.LastEpoch.ValidationMacroF1!.Value, evaluation.MacroF1, 12);
        Assert.True(evaluation.MacroF1 > 0.95);
        // Cosine over the 8 epochs: epoch 8 (tick 7) trains at 1e-2 * (1 + cos(7pi/8)) / 2.
        Assert.Equal(1e-2 * (1 + Math.Cos(7 * Math.PI / 8)) / 2, result.LastEpoch.LearningRate, 15);
    }

    /// <summary>A training loss scaled by a factor that changes every epoch, scored on validation as plain cross-entropy.</summary>
    private sealed class ScaledLoss : TrainingLoss
    {
        public double Scale { get; set; } = 1;

        public override Tensor Compute(Tensor input, Tensor outputs, Tensor labels) => nn.functional.cross_entropy(outputs, labels).mul(Scale);

        public override TrainingLoss ValidationLoss { get; } = new CrossEntropy();
    }

    private sealed class ScaleEachEpoch(ScaledLoss loss) : TrainingCallback
    {
        public override void OnEpochStart(nn.Module<Tensor, Tensor> module, int epoch) => loss.Scale = epoch == 1 ? 0.01 : 100;
    }

    [Fact]
    public void Validation_is_scored_with_the_losss_validation_loss_so_epochs_compare()
    {
        // A loss worth 0.01x in epoch 1 and 100x after it: scored with itself, epoch 1 would look best;
        // scored with its ValidationLoss (cross-entropy), every epoch's validation loss is the task's.
        using var module = TrainingTestKit.Mlp(seed: 7);
        var loss = new ScaledLoss();
        var options = new TrainerOptions(epochs: 3, batchSize: 32, optimizer: new AdamOptions(learningRate: 1e-2), loss: loss);
        TrainingResult result = new Trainer(module, options, [new ScaleEachEpoch(loss)]).Fit(Train, Validation);
        Assert.Equal(3, result.BestEpoch);
        var evaluation = Trainer.Evaluate(module, Validation);
        Assert.Equal(result.LastEpoch.ValidationLoss!.Value, evaluation.Loss, 5);
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.Adam)]
    [InlineData(OptimizerKind.AdamW)]
    [InlineData(OptimizerKind.RmsProp)]
    [InlineData(OptimizerKind.Adagrad)]
    public void Every_optimizer_reduces_the_loss(OptimizerKind kind)
    {
        using var module = TrainingTestKit.Mlp(seed: 3);
        OptimizerOptions optimizer = kind == OptimizerKind.Sgd
            ? new SgdOptions(0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-4)
            : OptimizerOptions.Create(kind, kind == OptimizerKind.Adagrad ? 0.05 : 5e-3);
        var result = new Trainer(module, new TrainerOptions(epochs: 3, optimizer: optimizer, gradientClipping: GradientClipping.ByNorm(5))).Fit(Train);
        Assert.Equal(kind, optimizer.Kind);
        Assert.True(result.LastEpoch.TrainingLoss < 0.7 * result.History[0].TrainingLoss,
            $"{optimizer}: losses {string.Join(", ", result.History.Select(r => r.TrainingLoss))}");
    }

    /// <summary>
    /// w ← w − lr·2(w − 1) on one sample x = 1, label 1, one output, MSE: from w = 0 the step-unit
    /// schedule 0.1, 0.05 gives w = 0.2, then 0.2 + 0.05·1.6 = 0.28, proving the rate reaches the optimizer.
    /// </summary>
    [Fact]
    public void Scheduled_learning_rate_reaches_the_optimizer()
    {
        using var module = nn.Linear(1, 1, hasBias: false);
        using (no_grad()) module.weight!.zero_();
        var data = new TensorDataset([1f], [1], [1], classCount: 2);
        var options = new TrainerOptions(epochs: 2, batchSize: 1, optimizer: new SgdOptions(0.1), loss: new MeanSquaredError(),
            schedule: new StepSchedule(1, gamma: 0.5, unit: ScheduleUnit.Step));
        var rates = new List<double>();
        new Trainer(module, options).Fit(data, null, new InlineProgress<TrainingProgress>(p => { if (p.Kind == TrainingProgressKind.Step) rates.Add(p.LearningRate); }));
        Assert.Equal([0.1, 0.05], rates);
        Assert.Equal(0.28f, module.weight!.data<float>()[0], 6);
    }

    [Fact]
    public void Same_seed_gives_identical_loss_history_and_another_seed_does_not()
    {
        TrainingResult Run(int seed)
        {
            using var module = TrainingTestKit.Mlp(seed: 11, dropout: 0.3);
            var options = new TrainerOptions(epochs: 2, batchSize: 32, optimizer: new AdamOptions(3e-3), seed: seed);
            return new Trainer(module, options).Fit(Train, Validation);
        }

        var first = Run(seed: 5);
        var second = Run(seed: 5);
        var other = Run(seed: 6);

        Assert.Equal(TrainingTestKit.Numbers(first.History), TrainingTestKit.Numbers(second.History));
        Assert.NotEqual(first.History[0].TrainingLoss, other.History[0].TrainingLoss);
    }

    [Fact]
    public void Resume_after_cancellation_mid_epoch_ends_with_the_weights_of_an_uninterrupted_run()
    {
        using var straightDir = new TempDirectory();
        using var crashDir = new TempDirectory();
        // Dropout, Adam state, a per-step warm-up then cosine, and plateau reduction all have to carry over.
        TrainerOptions Options(string directory) => new(epochs: 3, batchSize: 32, optimizer: new AdamOptions(1e-2),
            schedule: new LinearWarmupSchedule(10, new CosineAnnealingSchedule(unit: ScheduleUnit.Step)),
            reduceOnPlateau: new ReduceOnPlateau(factor: 0.5, patience: 0), seed: 21, runDirectory: directory);

        using var straight = TrainingTestKit.Mlp(seed: 4, dropout: 0.2);
        var expected = new Trainer(straight, Options(straightDir.Path)).Fit(Train, Validation);

        using var crashing = TrainingTestKit.Mlp(seed: 4, dropout: 0.2);
        using var cancel = new CancellationTokenSource();
        var stopInEpoch2 = new InlineProgress<TrainingProgress>(p => { if (p.Epoch == 2 && p.Step == 7) cancel.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => new Trainer(crashing, Options(crashDir.Path)).Fit(Train, Validation, stopInEpoch2, cancel.Token));
        Assert.Equal(1, TrainingCheckpoint.ReadInfo(crashDir.Path).CompletedEpochs);

        // A new process would build the module afresh: different initial weights, all replaced by the checkpoint.
        using var resumed = TrainingTestKit.Mlp(seed: 99, dropout: 0.2);
        var result = new Trainer(resumed, Options(crashDir.Path)).Resume(Train, Validation);

        Assert.Equal(1, result.ResumedAfterEpoch);
        Assert.Equal(3, result.History.Count);
        Assert.Equal(expected.GlobalSteps, result.GlobalSteps);
        Assert.Equal(TrainingTestKit.Numbers(expected.History), TrainingTestKit.Numbers(result.History));
        Assert.Equal(expected.BestEpoch, result.BestEpoch);
        TrainingTestKit.AssertSameWeights(TrainingTestKit.Weights(straight), TrainingTestKit.Weights(resumed));
    }

    [Fact]
    public void Resume_after_an_exception_from_a_callback_matches_the_uninterrupted_run()
    {
        using var straightDir = new TempDirectory();
        using var crashDir = new TempDirectory();
        TrainerOptions Options(string directory) => new(epochs: 3, batchSize: 50, optimizer: new SgdOptions(0.05, momentum: 0.9),
            schedule: new OneCycleSchedule(), seed: 8, restoreBestWeights: false, runDirectory: directory);

        using var straight = TrainingTestKit.Mlp(seed: 5);
        var expected = new Trainer(straight, Options(straightDir.Path)).Fit(Train);

        using var crashing = TrainingTestKit.Mlp(seed: 5);
        var crash = Assert.Throws<InvalidOperationException>(() =>
            new Trainer(crashing, Options(crashDir.Path), [new ThrowAt(epoch: 2, step: 4)]).Fit(Train));
        Assert.Equal("simulated crash", crash.Message);

        using var resumed = TrainingTestKit.Mlp(seed: 6);
        var result = new Trainer(resumed, Options(crashDir.Path)).Resume(Train);

        Assert.Equal(TrainingTestKit.Numbers(expected.History), TrainingTestKit.Numbers(result.History));
        TrainingTestKit.AssertSameWeights(TrainingTestKit.Weights(straight), TrainingTestKit.Weights(resumed));

        // Resuming a finished run trains nothing more.
        var again = new Trainer(resumed, Options(crashDir.Path)).Resume(Train);
        Assert.Equal(3, again.History.Count);
        TrainingTestKit.AssertSameWeights(TrainingTestKit.Weights(straight), TrainingTestKit.Weights(resumed));
    }

    [Fact]
    public void Resume_refuses_a_checkpoint_written_with_other_options_or_missing()
    {
        using var dir = new TempDirectory();
        using var module = TrainingTestKit.Mlp(seed: 1);
        new Trainer(module, new TrainerOptions(epochs: 1, seed: 1, runDirectory: dir.Path)).Fit(Train);

        var mismatch = Assert.Throws<TrainingException>(() =>
            new Trainer(module, new TrainerOptions(epochs: 1, seed: 2, runDirectory: dir.Path)).Resume(Train));
        Assert.Contains("seed: checkpoint 1, now 2", mismatch.Message);

        using var wider = TrainingTestKit.Mlp(seed: 1, hidden: 32);
        Assert.Throws<TrainingException>(() => new Trainer(wider, new TrainerOptions(epochs: 1, seed: 1, runDirectory: dir.Path)).Resume(Train));

        using var empty = new TempDirectory();
        Assert.Throws<TrainingException>(() => new Trainer(module, new TrainerOptions(epochs: 1, runDirectory: empty.Path)).Resume(Train));
        Assert.Throws<InvalidOperationException>(() => new Trainer(module, new TrainerOptions(epochs: 1)).Resume(Train));
    }

    [Fact]
    public void Nan_loss_stops_with_epoch_step_and_rate_and_keeps_the_last_good_checkpoint()
    {
        using var dir = new TempDirectory();
        using var module = TrainingTestKit.Mlp(seed: 2);
        // Epoch 1 trains normally at 0.1; from epoch 2 the rate is 1e14, which overflows the weights.
        var options = new TrainerOptions(epochs: 3, batchSize: 20, optimizer: new SgdOptions(0.1),
            schedule: new MultiStepSchedule([1], gamma: 1e15), runDirectory: dir.Path);
        byte[]? checkpointAfterEpoch1 = null;
        var snapshot = new AtEpochEnd(_ => checkpointAfterEpoch1 = File.ReadAllBytes(Path.Combine(dir.Path, TrainingCheckpoint.FileName)));

        var error = Assert.Throws<TrainingException>(() => new Trainer(module, options, [snapshot]).Fit(Train));

        Assert.Equal(2, error.Epoch);
        Assert.InRange(error.Step!.Value, 1, 30);
        Assert.Equal(30 + error.Step.Value, error.GlobalStep);
        Assert.Equal(1e14, error.LearningRate!.Value, 1);
        Assert.Contains("epoch 2", error.Message);
        Assert.Contains("learning rate 1E+14", error.Message);
        Assert.Contains("checkpoint of epoch 1 is kept", error.Message);
        Assert.Equal(checkpointAfterEpoch1, File.ReadAllBytes(Path.Combine(dir.Path, TrainingCheckpoint.FileName)));
        Assert.Equal(1, TrainingCheckpoint.ReadInfo(dir.Path).CompletedEpochs);
    }

    [Fact]
    public void Early_stopping_ends_the_run_at_the_right_epoch()
    {
        using var module = TrainingTestKit.Mlp(seed: 2);
        // At a rate of 1e-9 the validation loss moves by far less than the min delta: epoch 1 sets
        // the best, epochs 2 and 3 fail to beat it, so patience 2 stops after epoch 3 of 10.
        var options = new TrainerOptions(epochs: 10, optimizer: new SgdOptions(1e-9), earlyStopping: new EarlyStopping(patience: 2, minDelta: 1e-3));
        var epochEnds = new List<int>();
        var result = new Trainer(module, options).Fit(Train, Validation,
            new InlineProgress<TrainingProgress>(p => { if (p.Kind == TrainingProgressKind.EpochEnd) epochEnds.Add(p.Epoch); }));
        Assert.Equal(StopReason.EarlyStopped, result.StopReason);
        Assert.Equal([1, 2, 3], epochEnds);
        Assert.Equal(3, result.History.Count);
    }

    [Fact]
    public void Best_weights_are_restored_at_the_end()
    {
        using var module = TrainingTestKit.Mlp(seed: 9);
        Dictionary<string, float[]>? afterEpoch2 = null;
        var callbacks = new TrainingCallback[]
        {
            new AtEpochEnd(r => { if (r.Epoch == 2) afterEpoch2 = TrainingTestKit.Weights(module); }),
            new WreckWeightsAfterLastStepOf(epoch: 3),
        };
        var options = new TrainerOptions(epochs: 3, optimizer: new AdamOptions(1e-2));

        var result = new Trainer(module, options, callbacks).Fit(Train, Validation);

        Assert.Equal(2, result.BestEpoch);
        Assert.True(result.History[2].ValidationLoss > result.History[1].ValidationLoss);
        Assert.True(result.RestoredBestWeights);
        TrainingTestKit.AssertSameWeights(afterEpoch2!, TrainingTestKit.Weights(module));
        Assert.Equal(result.BestEpochRecord.ValidationAccuracy!.Value, Trainer.Evaluate(module, Validation).Accuracy, 12);
    }

    [Fact]
    public void Run_directory_holds_checkpoint_and_history_and_no_temporary_files()
    {
        using var dir = new TempDirectory();
        using var module = TrainingTestKit.Mlp(seed: 2);
        var result = new Trainer(module, new TrainerOptions(epochs: 3, runDirectory: dir.Path)).Fit(Train, Validation);

        Assert.Equal(
            [TrainingCheckpoint.FileName, TrainingHistory.CsvFileName, TrainingHistory.JsonFileName],
            Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(result.History, TrainingHistory.FromJson(File.ReadAllText(Path.Combine(dir.Path, TrainingHistory.JsonFileName))));
        string[] csv = File.ReadAllLines(Path.Combine(dir.Path, TrainingHistory.CsvFileName));
        Assert.Equal(TrainingHistory.CsvHeader, csv[0]);
        Assert.Equal(4, csv.Length);
        Assert.StartsWith("3,", csv[3]);

        var info = TrainingCheckpoint.ReadInfo(dir.Path);
        Assert.True(info.Finished);
        Assert.Equal(3, info.CompletedEpochs);
        Assert.Equal(result.BestEpoch, info.BestEpoch);
        Assert.Equal(result.History, info.History);
        Assert.Equal("0", info.Options["seed"]);
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<InvalidOptionException>(() => new TrainerOptions(epochs: 0));
        Assert.Throws<InvalidOptionException>(() => new TrainerOptions(epochs: 1, batchSize: 0));
        Assert.Throws<InvalidOptionException>(() => new TrainerOptions(epochs: 1, monitor: (TrainingMetric)42));
        Assert.Throws<InvalidOptionException>(() => new TrainerOptions(epochs: 1, runDirectory: " "));
        Assert.Equal("Schedule", Assert.Throws<InvalidOptionException>(() => new TrainerOptions(epochs: 1, optimizer: new AdagradOptions(), schedule: new OneCycleSchedule())).Option);
        Assert.Equal("Nesterov", Assert.Throws<InvalidOptionException>(() => new SgdOptions(0.1, nesterov: true)).Option);
        Assert.Throws<InvalidOptionException>(() => new AdamOptions(learningRate: -1));
        Assert.Throws<InvalidOptionException>(() => new AdamOptions(beta1: 1));
        Assert.Throws<InvalidOptionException>(() => OptimizerOptions.Create((OptimizerKind)9, 0.1));
        Assert.Throws<ArgumentNullException>(() => new LinearWarmupSchedule(2, null!));
        Assert.Equal(0.01, new AdamWOptions().WeightDecay);

        using var module = TrainingTestKit.Mlp(seed: 0);
        var trainer = new Trainer(module, new TrainerOptions(epochs: 1, monitor: TrainingMetric.ValidationAccuracy));
        Assert.Equal("Monitor ValidationAccuracy needs a validation set, and none was given", Assert.Throws<InvalidOptionException>(() => trainer.Fit(Train)).Message);
        var tooShort = new Trainer(module, new TrainerOptions(epochs: 2, schedule: new OneCycleSchedule(totalSteps: 5)));
        Assert.Equal("Schedule", Assert.Throws<InvalidOptionException>(() => tooShort.Fit(Train)).Option);
        Assert.Throws<ArgumentException>(() => new Trainer(module).Fit(new TensorDataset(new float[8], [8])));
    }

    private sealed class ThrowAt(int epoch, int step) : TrainingCallback
    {
        public override void OnStepEnd(nn.Module<Tensor, Tensor> module, TrainingProgress progress)
        {
            if (progress.Epoch == epoch && progress.Step == step) throw new InvalidOperationException("simulated crash");
        }
    }

    private sealed class AtEpochEnd(Action<EpochRecord> action) : TrainingCallback
    {
        public override void OnEpochEnd(nn.Module<Tensor, Tensor> module, EpochRecord record) => action(record);
    }

    private sealed class WreckWeightsAfterLastStepOf(int epoch) : TrainingCallback
    {
        public override void OnStepEnd(nn.Module<Tensor, Tensor> module, TrainingProgress progress)
        {
            if (progress.Epoch != epoch || progress.Step != progress.StepsPerEpoch) return;
            using var noGrad = no_grad();
            foreach (var parameter in module.parameters()) parameter.mul_(-3);
        }
    }
}
