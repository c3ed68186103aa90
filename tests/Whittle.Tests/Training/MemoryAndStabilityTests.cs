using TorchSharp;
using Whittle.Data;
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
}
