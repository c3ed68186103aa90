using Whittle.Data;
using Whittle.Onnx;
using Whittle.Optimization;
using Whittle.Tests.Training;

namespace Whittle.Tests.Optimization;

/// <summary>
/// The search's proposals after its fixed candidates (<see cref="BoundarySampler"/>), driven by a runner
/// that simulates trials: accuracy falls with the channel ratio as r² × 5 points, so 0.5 is outside a
/// 1-point budget and 0.4375 is inside. No trial trains, so the whole search takes seconds.
/// </summary>
[Collection(TorchCollection.Name)]
public class AdaptiveSearchTests
{
    private sealed class SimulatedRunner : ITrialRunner
    {
        public int Runs { get; private set; }

        public int Workers => 1;

        public TrialRecord Run(TrialJob job, IProgress<JobProgress>? progress, CancellationToken cancellationToken)
        {
            Runs++;
            var spec = job.Spec;
            double ratio = spec.Recipe.Steps[0] is PruneStep { Method: "channel" } p ? p.Amount : 0;
            double accuracy = spec.Input.Validation - ratio * ratio * 0.05;
            bool meets = (spec.Input.Validation - accuracy) * 100 <= spec.MaxAccuracyDrop + 1e-9;
            job.Model.Save(spec.OutputModel);
            return new TrialRecord(spec.Trial, spec.Recipe, "done", accuracy, accuracy, accuracy, 1 - 0.8 * ratio - (spec.Recipe.Steps[^1] is QuantizeStep { Mode: "qat" } ? 0.01 : 0),
                1, 1000 - (long)(800 * ratio), 0.1, meets, false, null, []);
        }
    }

    private static (OnnxModel Model, BoundData Data) Mini()
    {
        var model = OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx"));
        return (model, ModelData.Bind(model, "fashion-mnist-mini", new DataOptions(mean: [0.2860f], std: [0.3530f])));
    }

    private static double? Ratio(TrialRecord t) => t.Recipe.Steps[0] is PruneStep p ? p.Amount : null;

    [Fact]
    public void AfterTheFixedCandidatesItBisectsTowardsTheBudgetsBoundaryAndAResumedSearchProposesTheSame()
    {
        var (model, data) = Mini();
        var run = new RecipeRunOptions(latencyBatch: 8, limit: 600);
        var fixedCount = RecipeSearch.FixedCandidates(SearchObjective.Latency).Count;

        var whole = RecipeSearch.Run(model, data, new SearchOptions(1.0, trials: fixedCount + 5, run: run), TestPaths.TempDir(), runner: new SimulatedRunner());
        var proposed = whole.Log.Trials.Skip(fixedCount).ToList();
        // The fixed list ends with 0.3 inside and 0.5 outside the budget: 0.375, 0.4375, then 0.5 with longer recovery, then the other quantization mode at 0.4375.
        Assert.Equal(new double?[] { 0.375, 0.4375, 0.5, 0.4375 }, proposed.Take(4).Select(Ratio));
        Assert.Equal(BoundarySampler.LongEpochs, ((PruneStep)proposed[2].Recipe.Steps[0]).FineTuneEpochs);
        Assert.Equal("qat", ((QuantizeStep)proposed[3].Recipe.Steps[1]).Mode);
        // Then the seeded list: a recipe not tried before.
        Assert.Equal(whole.Log.Trials.Count, whole.Log.Trials.Select(t => t.Recipe.ToJson()).Distinct().Count());
        // The winner is the fastest within the budget: the boundary's ratio, with QAT (simulated 0.01 faster).
        Assert.Equal(0.4375, Ratio(whole.Best!));
        Assert.Equal("qat", ((QuantizeStep)whole.Best!.Recipe.Steps[1]).Mode);
        // The scan ran first and is in the log.
        Assert.NotNull(whole.Log.Sensitivity);

        // Interrupted after two proposals, then started again: the same trials, and only the rest run.
        var dir = TestPaths.TempDir();
        RecipeSearch.Run(model, data, new SearchOptions(1.0, trials: fixedCount + 2, run: run), dir, runner: new SimulatedRunner());
        var again = new SimulatedRunner();
        var resumed = RecipeSearch.Run(model, data, new SearchOptions(1.0, trials: fixedCount + 5, run: run), dir, runner: again);
        Assert.Equal(3, again.Runs);
        Assert.Equal(fixedCount + 2, resumed.Resumed);
        Assert.Equal(whole.Log.Trials.Select(t => t.Recipe.ToJson()), resumed.Log.Trials.Select(t => t.Recipe.ToJson()));
        Assert.Equal(whole.Best.Trial, resumed.Best!.Trial);
        Assert.Equal(whole.Log.Sensitivity!.Layers.Select(l => l.Layer), resumed.Log.Sensitivity!.Layers.Select(l => l.Layer));
    }
}
