using System.Text.Json;
using Whittle.Data;
using Whittle.Onnx;
using Whittle.Optimization;
using Whittle.Tests.Cli;
using Whittle.Tests.Training;

namespace Whittle.Tests.Optimization;

[Collection(TorchCollection.Name)]
public class RecipeSearchTests
{
    private static readonly string Classifier = TestPaths.FixtureModel("fmnist_classifier.onnx");

    private static (OnnxModel Model, BoundData Data) Mini()
    {
        var model = OnnxModel.Load(Classifier);
        return (model, ModelData.Bind(model, "fashion-mnist-mini", new DataOptions(mean: [0.2860f], std: [0.3530f])));
    }

    private static readonly Recipe Quantize = new([new QuantizeStep(Objective: "size")]);
    private static readonly Recipe Fold = new([new FoldBatchNormStep()]);

    [Fact]
    public void TheSmallestModelWithinTheBudgetWinsAndEveryTrialIsLogged()
    {
        var (model, data) = Mini();
        var dir = TestPaths.TempDir();
        var options = new SearchOptions(1.0, objective: SearchObjective.Size, run: new RecipeRunOptions(latencyBatch: 8), candidates: [Fold, Quantize]);
        var result = RecipeSearch.Run(model, data, options, dir);
        Assert.Equal(2, result.Log.Trials.Count);
        Assert.All(result.Log.Trials, t => Assert.Equal("done", t.Status));
        Assert.Equal(1, result.Best!.Trial);
        Assert.True(result.Best.Bytes < result.Log.Trials[0].Bytes / 2);
        // The quantized model is smaller and (within this budget) as accurate: it dominates the folded one unless that one is more accurate.
        Assert.True(result.Log.Trials[1].Pareto);
        Assert.True(File.Exists(RecipeSearch.TrialModelPath(dir, 1)));
        using var log = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, RecipeSearch.LogFile)));
        Assert.Equal(2, log.RootElement.GetProperty("trials").GetArrayLength());
        // The quantize step's per-layer SQNR is kept for the report; fold-bn has none, and neither trains.
        Assert.NotEmpty(result.Log.Trials[1].Steps[0].Layers!);
        Assert.Null(result.Log.Trials[0].Steps[0].Layers);
        Assert.All(result.Log.Trials, t => Assert.Null(t.Steps[0].History));

        // The report, beside the log: both trials in its table, the winner flagged, its figures embedded.
        Assert.Equal(Path.Combine(dir, RecipeSearch.ReportFile), result.ReportPath);
        var html = File.ReadAllText(result.ReportPath!);
        Assert.Contains("<tr class=\"done\" id=\"trial-1\"><td>1</td><td class=\"recipe\">fold BatchNorm</td>", html);
        Assert.Contains("<tr class=\"winner done\" id=\"trial-2\"><td>2</td><td class=\"recipe\">static int8 size</td>", html);
        Assert.Contains("Whittle optimize report — fmnist_classifier.onnx", html);
        Assert.Equal(3, Reporting.ReportFixtures.Images(html).Count); // two trade-offs and the winner's SQNR
        Assert.Contains("does not train", html);
    }

    [Fact]
    public void ASearchStartedAgainInTheSameDirectorySkipsTheTrialsItHasAndEndsWithTheSameWinner()
    {
        var (model, data) = Mini();
        var dir = TestPaths.TempDir();
        var run = new RecipeRunOptions(latencyBatch: 8);
        var first = RecipeSearch.Run(model, data, new SearchOptions(1.0, objective: SearchObjective.Size, trials: 1, run: run, candidates: [Quantize, Fold]), dir);
        Assert.Equal(0, first.Resumed);
        var again = RecipeSearch.Run(model, data, new SearchOptions(1.0, objective: SearchObjective.Size, run: run, candidates: [Quantize, Fold]), dir);
        Assert.Equal(1, again.Resumed);
        var (a, b) = (first.Log.Trials[0], again.Log.Trials[0]);
        Assert.Equal((a.Trial, a.Status, a.ValidationAccuracy, a.LatencyMs, a.Bytes, a.Seconds), (b.Trial, b.Status, b.ValidationAccuracy, b.LatencyMs, b.Bytes, b.Seconds));
        Assert.Equal(0, again.Best!.Trial);
        // What the report draws survives the log's round trip (an exact activation's SQNR is +∞ in JSON).
        Assert.Equal(a.Steps[0].Layers!.Select(l => (l.Tensor, l.SqnrDb)), b.Steps[0].Layers!.Select(l => (l.Tensor, l.SqnrDb)));
        // The report is drawn again from the resumed trials and the new one.
        Assert.Contains("1 taken from an earlier run", File.ReadAllText(again.ReportPath!));
        Assert.Contains("id=\"trial-2\"", File.ReadAllText(again.ReportPath!));
        // A changed candidate list is not mistaken for the old one.
        var changed = RecipeSearch.Run(model, data, new SearchOptions(1.0, objective: SearchObjective.Size, run: run, candidates: [Fold, Quantize]), dir);
        Assert.Equal(0, changed.Resumed);
    }

    [Fact]
    public void ATrialThatLeavesTheBudgetWithNothingLeftToTrainIsStoppedEarly()
    {
        var (model, data) = Mini();
        var prune = new Recipe([new PruneStep("channel", 0.9, FineTuneEpochs: 0), new QuantizeStep(Objective: "size")]);
        var result = RecipeSearch.Run(model, data, new SearchOptions(0.5, run: new RecipeRunOptions(latencyBatch: 8), candidates: [prune]), TestPaths.TempDir());
        var trial = Assert.Single(result.Log.Trials);
        Assert.Equal("stopped", trial.Status);
        Assert.Single(trial.Steps);
        Assert.Contains("no later step trains", trial.Error);
        Assert.Null(result.Best);
    }

    [Fact]
    public void TheCliSearchWritesTheWinnerTheParetoModelsAndTheLogOrSaysNoneMetTheBudget()
    {
        var outDir = Path.Combine(TestPaths.TempDir(), "out");
        var r = CliRunner.Run("optimize", Classifier, "--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530", "--objective", "size", "--trials", "2",
            "--latency-batch", "8", "-o", outDir, "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        using var doc = JsonDocument.Parse(r.Output);
        Assert.Equal(2, doc.RootElement.GetProperty("log").GetProperty("trials").GetArrayLength());
        Assert.True(File.Exists(Path.Combine(outDir, "best.onnx")));
        Assert.True(File.Exists(Path.Combine(outDir, "recipe.json")));
        Assert.NotEmpty(Directory.GetFiles(outDir, "pareto-*.onnx"));
        Assert.Equal(Path.Combine(outDir, "report.html"), doc.RootElement.GetProperty("reportPath").GetString());
        Assert.Contains("id=\"trial-2\"", File.ReadAllText(Path.Combine(outDir, "report.html")));
        Recipe.Load(Path.Combine(outDir, "recipe.json"));

        var bad = CliRunner.Run("optimize", Classifier, "--data", "fashion-mnist-mini", "--time-budget", "soon", "-o", Path.Combine(TestPaths.TempDir(), "o"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--time-budget must look like 90s, 30m or 2h", bad.Error);
    }
}
