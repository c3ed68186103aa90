using System.Text.Json;
using Whittle.Data;
using Whittle.Onnx;
using Whittle.Optimization;
using Whittle.Tests.Cli;

namespace Whittle.Tests.Optimization;

public class RecipeTests
{
    private static readonly string Classifier = TestPaths.FixtureModel("fmnist_classifier.onnx");

    [Fact]
    public void ARecipeRoundTripsThroughJsonWithDefaultsFilledIn()
    {
        var recipe = Recipe.Parse("""{"steps": [{"step": "prune", "method": "magnitude", "amount": 0.9, "global": true, "schedule": "agp"}, {"step": "fine-tune", "epochs": 1}, {"step": "fold-bn"}, {"step": "quantize", "mode": "qat", "weightBits": 4}]}""");
        Assert.Equal(4, recipe.Steps.Count);
        var prune = Assert.IsType<PruneStep>(recipe.Steps[0]);
        Assert.Equal(new PruneStep("magnitude", 0.9, true, "agp"), prune);
        Assert.Equal(new FineTuneStep(1), recipe.Steps[1]);
        Assert.IsType<FoldBatchNormStep>(recipe.Steps[2]);
        Assert.Equal(new QuantizeStep("qat", 4), recipe.Steps[3]);
        Assert.Equal("prune magnitude 90% global agp ft2", prune.Describe());
        var again = Recipe.Parse(recipe.ToJson());
        Assert.Equal(recipe.Steps, again.Steps);

        var rounded = Assert.IsType<PruneStep>(Recipe.Parse("""{"steps": [{"step": "prune", "amount": 0.3, "roundTo": 8}]}""").Steps[0]);
        Assert.Equal(new PruneStep("channel", 0.3, RoundTo: 8), rounded);
        Assert.Equal("prune channel 30% ×8 oneshot ft2", rounded.Describe());
        var floored = Assert.IsType<PruneStep>(Recipe.Parse("""{"steps": [{"step": "prune", "amount": 0.3, "roundTo": 8, "minChannels": 16}]}""").Steps[0]);
        Assert.Equal(new PruneStep("channel", 0.3, RoundTo: 8, MinChannels: 16), floored);
        Assert.Equal("prune channel 30% ×8 ≥16 oneshot ft2", floored.Describe());
    }

    [Fact]
    public void ARecipesChannelStepRoundsTheKeptWidths()
    {
        var options = RecipeRunner.PruningOptions(new PruneStep("channel", 0.3, RoundTo: 8, MinChannels: 16), RecipeRunOptions.Default);
        Assert.Equal(8, options.Channel!.RoundTo);
        Assert.Equal(16, options.Channel!.MinChannels);
        Assert.Throws<InvalidOptionException>(() => Recipe.Parse("""{"steps": [{"step": "prune", "minChannels": 0}]}"""));
        Assert.Throws<InvalidOptionException>(() => Recipe.Parse("""{"steps": [{"step": "prune", "roundTo": 0}]}"""));
    }

    [Theory]
    [InlineData("""{"steps": []}""", "at least one step")]
    [InlineData("""{"steps": [{"step": "sharpen"}]}""", "prune, fine-tune, quantize and fold-bn")]
    [InlineData("""{"steps": [{"method": "channel"}]}""", "\"step\"")]
    [InlineData("""{"steps": [{"step": "prune", "ratio": 0.5}]}""", "ratio")]
    [InlineData("""{"steps": [{"step": "prune", "method": "random"}]}""", "step 1 (prune): method must be one of magnitude, nm, channel, not 'random'")]
    [InlineData("""{"steps": [{"step": "prune", "amount": 1.5}]}""", "step 1 (prune)")]
    [InlineData("""{"steps": [{"step": "quantize", "weightBits": 3}]}""", "weightBits must be 8 or 4, not 3")]
    [InlineData("""{"steps": [{"step": "quantize", "mode": "dynamic"}]}""", "mode static or qat")]
    [InlineData("""{"steps": [{"step": "quantize"}, {"step": "prune"}]}""", "step 2 (prune): a quantized model is not pruned, trained or quantized again")]
    [InlineData("""{"steps": [{"step": "fine-tune", "epochs": 0}]}""", "step 1 (fine-tune)")]
    [InlineData("""{"steps": """, "recipe")]
    public void ABadRecipeIsOneClearError(string json, string message)
    {
        var e = Assert.Throws<InvalidOptionException>(() => Recipe.Parse(json));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void OptimizeRunsTheRecipeAndWritesTheModelTheRecipeAndTheTrial()
    {
        var dir = TestPaths.TempDir();
        var recipePath = Path.Combine(dir, "recipe.json");
        File.WriteAllText(recipePath, """{"steps": [{"step": "fold-bn"}, {"step": "quantize", "objective": "size"}]}""");
        var before = File.ReadAllBytes(Classifier);
        var outDir = Path.Combine(dir, "out");
        var r = CliRunner.Run("optimize", Classifier, "--recipe", recipePath, "--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530", "--latency-batch", "8", "-o", outDir, "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Equal(before, File.ReadAllBytes(Classifier));
        using var doc = JsonDocument.Parse(r.Output);
        var root = doc.RootElement;
        Assert.Equal(2, root.GetProperty("steps").GetArrayLength());
        Assert.True(root.GetProperty("sizeReduction").GetDouble() > 2.5);
        var after = root.GetProperty("after").GetProperty("accuracy").GetDouble();
        Assert.True(Math.Abs(after - root.GetProperty("before").GetProperty("accuracy").GetDouble()) <= 0.02);

        var best = OnnxModel.Load(Path.Combine(outDir, "best.onnx"));
        Assert.True(best.Graph.OpHistogram()["QuantizeLinear"] > 0);
        // recipe.json runs again with --recipe.
        var rerun = Recipe.Load(Path.Combine(outDir, "recipe.json"));
        Assert.Equal(2, rerun.Steps.Count);
        using var trials = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "trials.json")));
        var trial = trials.RootElement.GetProperty("trials")[0];
        Assert.Equal(after, trial.GetProperty("testAccuracy").GetDouble());
        Assert.True(trial.GetProperty("latencyMs").GetDouble() > 0);
        // The recipe's report: one trial, no budget line.
        Assert.Equal(Path.Combine(outDir, "report.html"), root.GetProperty("report").GetString());
        var html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        Assert.Contains("id=\"trial-1\"><td>1</td><td class=\"recipe\">fold BatchNorm → static int8 size</td>", html);
        Assert.Contains("one recipe, run exactly", html);
        Assert.DoesNotContain("Accuracy budget", html);
    }

    [Fact]
    public void ARecipeErrorIsAUsageErrorAndWritesNothing()
    {
        var dir = TestPaths.TempDir();
        var recipePath = Path.Combine(dir, "recipe.json");
        File.WriteAllText(recipePath, """{"steps": [{"step": "quantize", "weightBits": 5}]}""");
        var outDir = Path.Combine(dir, "out");
        var r = CliRunner.Run("optimize", Classifier, "--recipe", recipePath, "--data", "fashion-mnist-mini", "-o", outDir);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("weightBits must be 8 or 4", r.Error);
        Assert.False(Directory.Exists(outDir));
    }
}
