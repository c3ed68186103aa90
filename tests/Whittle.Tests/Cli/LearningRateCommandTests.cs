using System.Text.Json;
using Whittle.Data;
using Whittle.Training;

namespace Whittle.Tests.Cli;

/// <summary><c>train --lr auto</c> runs the range test and trains at its suggestion; <c>--lr N</c> still trains at N; text has its own defaults.</summary>
[Collection(Whittle.Tests.Training.TorchCollection.Name)]
public sealed class LearningRateCommandTests
{
    private static readonly string Model = TestPaths.FixtureModel("fmnist_classifier.onnx");
    private static readonly string MiniFortunes = "fortunes:" + Path.Combine(TestPaths.Data, "fortunes-mini");

    private static JsonElement Json(CliRunner.Result r)
    {
        Assert.True(r.ExitCode == 0, r.Error + r.Output);
        return JsonDocument.Parse(r.Output).RootElement;
    }

    [Fact]
    public void AutoTrainsAtTheRangeTestsSuggestionAndSaysSo()
    {
        var dir = TestPaths.TempDir();
        string[] args = ["train", Model, "--data", "fashion-mnist-mini", "--limit", "400", "--epochs", "1", "--threads", "1", "--lr", "auto"];
        var json = Json(CliRunner.Run([.. args, "-o", Path.Combine(dir, "a.onnx"), "--json"]));
        var finder = json.GetProperty("learningRateFinder");
        double suggested = finder.GetProperty("suggestedLearningRate").GetDouble();
        Assert.Equal(suggested, json.GetProperty("learningRate").GetDouble());
        Assert.InRange(suggested, 1e-7, 10);
        Assert.Equal("minimumOverTen", finder.GetProperty("rule").GetString());
        Assert.StartsWith("minimum / 10:", finder.GetProperty("reason").GetString());
        Assert.True(finder.GetProperty("points").GetArrayLength() > 10);
        Assert.Contains(FormattableString.Invariant($"lr={suggested}"), json.GetProperty("optimizer").GetString());

        var text = CliRunner.Run([.. args, "-o", Path.Combine(dir, "b.onnx")]);
        Assert.True(text.ExitCode == 0, text.Error);
        Assert.Contains("learning rate from a range test", text.Output);
        Assert.Contains("from a range test of", text.Output);
    }

    [Fact]
    public void AGivenRateIsUsedAsGivenAndABadOneIsAUsageError()
    {
        var dir = TestPaths.TempDir();
        var json = Json(CliRunner.Run("train", Model, "--data", "fashion-mnist-mini", "--limit", "300", "--epochs", "1", "--threads", "1", "--lr", "0.01",
            "-o", Path.Combine(dir, "a.onnx"), "--json"));
        Assert.Equal(0.01, json.GetProperty("learningRate").GetDouble());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("learningRateFinder").ValueKind);

        var bad = CliRunner.Run("train", Model, "--data", "fashion-mnist-mini", "--lr", "fast", "-o", Path.Combine(dir, "b.onnx"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--lr: expected a learning rate such as 0.01, or 'auto', got 'fast'", bad.Error);
    }

    [Fact]
    public void TextTrainsAtTheTextRateWithBalancedClassesUnlessTold()
    {
        var dir = TestPaths.TempDir();
        var model = Path.Combine(dir, "m.onnx");
        Assert.Equal(0, CliRunner.Run("zoo", "create", "fasttext", "-o", model, "--data", MiniFortunes, "--max-length", "20").ExitCode);
        string[] train = ["train", model, "--data", MiniFortunes, "--epochs", "1", "--threads", "1", "--json"];

        var byDefault = Json(CliRunner.Run([.. train, "-o", Path.Combine(dir, "a.onnx")]));
        Assert.Equal(ModelTrainingOptions.TextLearningRate, byDefault.GetProperty("learningRate").GetDouble());
        Assert.Contains("classWeights=[", File.ReadAllText(Path.Combine(dir, "a.run", "checkpoint.bin")));

        var told = Json(CliRunner.Run([.. train, "--lr", "0.001", "--balanced", "false", "-o", Path.Combine(dir, "b.onnx")]));
        Assert.Equal(0.001, told.GetProperty("learningRate").GetDouble());
        Assert.Contains("classWeights=none", File.ReadAllText(Path.Combine(dir, "b.run", "checkpoint.bin")));

        var sgd = Json(CliRunner.Run([.. train, "--optimizer", "sgd", "-o", Path.Combine(dir, "c.onnx")]));
        Assert.Equal(ModelTrainingOptions.SgdLearningRate, sgd.GetProperty("learningRate").GetDouble());
    }

    [Fact]
    public void DefaultsDependOnTheDataOnlyWhereMeasured()
    {
        Assert.Equal(1e-3, ModelTrainingOptions.DefaultLearningRate(OptimizerKind.AdamW, DatasetFamily.Tensors));
        Assert.Equal(1e-3, ModelTrainingOptions.DefaultLearningRate(OptimizerKind.Adam, DatasetFamily.Interactions));
        Assert.Equal(1e-2, ModelTrainingOptions.DefaultLearningRate(OptimizerKind.AdamW, DatasetFamily.Text));
        Assert.Equal(1e-2, ModelTrainingOptions.DefaultLearningRate(OptimizerKind.Adam, DatasetFamily.Text));
        Assert.Equal(0.1, ModelTrainingOptions.DefaultLearningRate(OptimizerKind.Sgd, DatasetFamily.Text));
        Assert.Equal(1e-2, ModelTrainingOptions.DefaultLearningRate(OptimizerKind.RmsProp, DatasetFamily.Tensors));
        Assert.Equal(1e-2, ModelTrainingOptions.DefaultLearningRate(OptimizerKind.Adagrad, DatasetFamily.Tensors));
        Assert.True(ModelTrainingOptions.DefaultBalanced(DatasetFamily.Text));
        Assert.False(ModelTrainingOptions.DefaultBalanced(DatasetFamily.Tensors));
        Assert.False(ModelTrainingOptions.DefaultBalanced(DatasetFamily.Interactions));
        Assert.False(ModelTrainingOptions.Default.AutoLearningRate);
        Assert.True(new ModelTrainingOptions(learningRateFinder: LearningRateFinderOptions.Default).AutoLearningRate);
    }
}
