using TorchSharp;
using Whittle.Data;
using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Whittle.Tests.Training;

[Collection(TorchCollection.Name)]
public sealed class MemoryAndStabilityTests(ITestOutputHelper output)
{
    /// <summary>
    /// 3,000 steps with clipping, a per-step schedule and momentum: between step 500 (when the
    /// optimizer state and allocator pools exist) and step 3,000, neither the number of live
    /// TorchSharp tensors nor the process's resident memory may grow. A leak of one small
    /// activation per step (8 × 32 floats) would add 2,500 tensors and ~2.5 MB plus wrapper overhead.
    /// </summary>
    [Fact]
    public void Native_memory_does_not_grow_over_thousands_of_steps()
    {
        var data = TrainingTestKit.Blobs(3000 * 8, seed: 3);
        using var module = TrainingTestKit.Mlp(seed: 1, hidden: 32);
        var samples = new Dictionary<long, (long Rss, long LiveTensors)>();
        var probe = new Probe(step =>
        {
            if (step is not (500 or 3000)) return;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            samples[step] = (ProcessMemory.CurrentResidentBytes(), DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        });
        var options = new TrainerOptions(epochs: 1, batchSize: 8, optimizer: new SgdOptions(0.01, momentum: 0.9),
            schedule: new OneCycleSchedule(), gradientClipping: GradientClipping.ByNorm(1));

        var result = new Trainer(module, options, [probe]).Fit(data);

        Assert.Equal(3000, result.GlobalSteps);
        long rssGrowth = samples[3000].Rss - samples[500].Rss;
        output.WriteLine($"RSS at step 500: {samples[500].Rss / 1e6:F1} MB, at 3000: {samples[3000].Rss / 1e6:F1} MB (growth {rssGrowth / 1e6:F2} MB); " +
                         $"live tensors {samples[500].LiveTensors} -> {samples[3000].LiveTensors}");
        Assert.Equal(samples[500].LiveTensors, samples[3000].LiveTensors);
        Assert.True(rssGrowth < 16_000_000, $"resident memory grew by {rssGrowth / 1e6:F1} MB over 2,500 steps");
    }

    /// <summary>
    /// Defect D7: <c>whittle train</c>'s resident memory grew by ~43 MB per epoch at 6,000
    /// samples. The path of the CLI (an ONNX model behind <see cref="FeatureInputModule"/>, a
    /// validation set, a checkpoint per epoch) on 1,536 images for 20 epochs, with the bundled
    /// Fashion-MNIST subset held in memory as the CLI holds its dataset: that live heap is what
    /// lets the GC defer large-object collections for many epochs. Before the fix every step
    /// allocated 608 KB (the batch's 200 KB array, TorchSharp's pinned 200 KB copy of it, and the
    /// checkpoint's buffers) and RSS here rose ~12 MB per epoch between full collections: the peak
    /// of epochs 6-20 was 9.9%, 15.1% and 16.6% above epoch 5 in three runs. After it: 30.7 KB per
    /// step, peaks 1.2-1.9% above epoch 5 in four runs (docs/training.md has the CLI's figures).
    /// The bound is the 5%. Where the GC's full collections fall decides how much of the
    /// old growth one run shows, so the allocation check (below the large-object threshold per
    /// step) is the part that fails on the defect deterministically.
    /// </summary>
    [Fact]
    public void Resident_memory_stays_flat_over_twenty_epochs_of_onnx_training()
    {
        var preprocessing = FashionMnist.StandardPreprocessing(FeatureLayout.Nchw);
        var loaded = FashionMnist.LoadBundledSubset(DatasetSplit.Train, preprocessing: preprocessing).Dataset;
        var (train, validation) = loaded.Take(1536).Split(1.0 / 6, seed: 0, stratified: true);
        string runDirectory = Path.Combine(Path.GetTempPath(), "whittle-rss-" + Guid.NewGuid().ToString("N"));
        var samples = new Dictionary<int, (long Rss, long Allocated, long Steps)>();
        long steps = 0;
        var probe = new EpochProbe(
            step => steps = step,
            epoch => samples[epoch] = (ProcessMemory.CurrentResidentBytes(), GC.GetAllocatedBytesForCurrentThread(), steps));
        var options = new TrainerOptions(epochs: 20, batchSize: 64, optimizer: new AdamWOptions(1e-3), runDirectory: runDirectory);
        try
        {
            random.manual_seed(0);
            using var module = new FeatureInputModule(new OnnxModule(OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx"))));
            new Trainer(module, options, [probe]).Fit(train, validation);
        }
        finally
        {
            Directory.Delete(runDirectory, recursive: true);
        }
        GC.KeepAlive(loaded);

        foreach (var (epoch, s) in samples.OrderBy(kv => kv.Key))
            output.WriteLine($"epoch {epoch,2}: RSS {s.Rss / 1e6:F1} MB, allocated {s.Allocated / 1e6:F1} MB");
        // After warm-up (epoch 5: optimizer state, allocator pools, checkpoint file), every later
        // epoch's RSS must stay within the bound; the peak, so a collection that happens to land
        // just before epoch 20 cannot hide growth.
        var (early, late) = (samples[5], samples[20]);
        long peak = samples.Where(kv => kv.Key > 5).Max(kv => kv.Value.Rss);
        double growth = (double)(peak - early.Rss) / early.Rss;
        double allocatedPerStep = (double)(late.Allocated - early.Allocated) / (late.Steps - early.Steps);
        output.WriteLine($"RSS epoch 5 -> peak of epochs 6-20: {growth:P2}; {allocatedPerStep / 1e3:F1} KB allocated per step");
        // Anything per step at or above the 85,000-byte large-object threshold is what only a full
        // collection reclaims; small per-step objects are the young generation's ordinary work.
        Assert.True(allocatedPerStep < 85_000, $"{allocatedPerStep / 1e3:F0} KB allocated per training step; a large object per step grows RSS until a full collection");
        Assert.True(growth < 0.05, $"resident memory grew {growth:P1} from epoch 5 ({early.Rss / 1e6:F0} MB) to {peak / 1e6:F0} MB");
    }

    [Fact]
    public void Multi_seed_runs_summarize_each_metric()
    {
        var train = TrainingTestKit.Blobs(300, seed: 4);
        var validation = TrainingTestKit.Blobs(150, seed: 5);
        var options = new TrainerOptions(epochs: 3, optimizer: new AdamOptions(1e-2));

        var result = MultiSeedTraining.Run(NewMlp, train, validation, options, [1, 2, 3]);

        Assert.Equal([1, 2, 3], result.Runs.Select(r => r.Seed));
        Assert.Equal(3, result.ValidationAccuracy.Count);
        Assert.True(result.ValidationAccuracy.Mean > 0.9, result.ValidationAccuracy.ToString());
        Assert.True(result.ValidationLoss.StandardDeviation > 0, "different seeds should give different models");
        Assert.Equal(result.Runs.Average(r => r.Validation.MacroF1), result.ValidationMacroF1.Mean, 12);
        Assert.Equal(3, result.EpochsTrained.Mean);
        output.WriteLine($"accuracy {result.ValidationAccuracy}, macro-F1 {result.ValidationMacroF1}, loss {result.ValidationLoss}");

        // Seeded runs repeat: the same seeds give the same summary.
        var again = MultiSeedTraining.Run(NewMlp, train, validation, options, [1, 2, 3]);
        Assert.Equal(result.ValidationLoss.Mean, again.ValidationLoss.Mean);
    }

    [Fact]
    public void Mlp_learns_the_bundled_fashion_mnist_subset()
    {
        var preprocessing = FashionMnist.StandardPreprocessing(FeatureLayout.Flat);
        var train = FashionMnist.LoadBundledSubset(DatasetSplit.Train, preprocessing: preprocessing).Dataset.Shuffle(1).Take(4000);
        var test = FashionMnist.LoadBundledSubset(DatasetSplit.Test, preprocessing: preprocessing).Dataset.Shuffle(2).Take(1000);
        random.manual_seed(0);
        using var module = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10));
        var options = new TrainerOptions(epochs: 3, batchSize: 64, optimizer: new AdamWOptions(2e-3),
            schedule: new LinearWarmupSchedule(20, new CosineAnnealingSchedule(unit: ScheduleUnit.Step)),
            loss: new CrossEntropy(labelSmoothing: 0.05));

        var result = new Trainer(module, options).Fit(train, test);

        output.WriteLine(string.Join("\n", result.History));
        Assert.True(result.BestEpochRecord.ValidationAccuracy > 0.75, $"accuracy {result.BestEpochRecord.ValidationAccuracy}");
        Assert.True(result.BestEpochRecord.ValidationMacroF1 > 0.7, $"macro-F1 {result.BestEpochRecord.ValidationMacroF1}");
    }

    private static nn.Module<Tensor, Tensor> NewMlp() =>
        nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3));

    private sealed class Probe(Action<long> atStep) : TrainingCallback
    {
        public override void OnStepEnd(nn.Module<Tensor, Tensor> module, TrainingProgress progress) => atStep(progress.GlobalStep);
    }

    private sealed class EpochProbe(Action<long> atStep, Action<int> atEpoch) : TrainingCallback
    {
        public override void OnStepEnd(nn.Module<Tensor, Tensor> module, TrainingProgress progress) => atStep(progress.GlobalStep);

        public override void OnEpochEnd(nn.Module<Tensor, Tensor> module, EpochRecord record) => atEpoch(record.Epoch);
    }
}
