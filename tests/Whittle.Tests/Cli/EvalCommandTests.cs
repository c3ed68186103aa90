using System.Text.Json;

namespace Whittle.Tests.Cli;

public class EvalCommandTests
{
    private static readonly JsonElement PyTorch = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixtures, "models", "expected.json")))
        .RootElement.GetProperty("models").GetProperty("fmnist_classifier.onnx").GetProperty("pytorch_eval");

    [Fact]
    public void ReproducesTheAccuracyPyTorchMeasuredForTheSameModelAndData()
    {
        var r = CliRunner.Run("eval", TestPaths.FixtureModel("fmnist_classifier.onnx"), "--data", "fashion-mnist-mini",
            "--normalize", "0.2860,0.3530", "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var json = JsonDocument.Parse(r.Output).RootElement;
        Assert.Equal(PyTorch.GetProperty("test_images").GetInt32(), json.GetProperty("samples").GetInt32());
        Assert.Equal(PyTorch.GetProperty("accuracy").GetDouble(), json.GetProperty("accuracy").GetDouble(), 12);
        // Not only the same accuracy: the same prediction for every image (PyTorch's smallest top-2 margin is 5e-3).
        var expected = PyTorch.GetProperty("predictions").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var actual = json.GetProperty("predictions").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(expected, actual);
        var perClassCorrect = PyTorch.GetProperty("per_class_correct").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var matrix = json.GetProperty("confusionMatrix").EnumerateArray().Select(row => row.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray();
        Assert.Equal(perClassCorrect, Enumerable.Range(0, 10).Select(c => matrix[c][c]).ToArray());
        Assert.Equal("BundledSubset", json.GetProperty("dataOrigin").GetString());
    }

    [Fact]
    public void PrintsPerClassTableAndConfusionMatrix()
    {
        var r = CliRunner.Run("eval", TestPaths.FixtureModel("fmnist_classifier.onnx"), "--data", "fashion-mnist-mini",
            "--normalize", "0.2860,0.3530", "--limit", "300");
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("Ankle boot", r.Output);
        Assert.Contains("Confusion matrix", r.Output);
        Assert.Contains("300 samples", r.Output);
        Assert.Contains("macro-F1", r.Output);
    }

    [Fact]
    public void CsvDataWithAMismatchedShapeIsAClearError()
    {
        var dir = TestPaths.TempDir();
        var csv = Path.Combine(dir, "five.csv");
        File.WriteAllLines(csv, ["a,b,c,label", "1,2,3,0", "4,5,6,1"]);
        var r = CliRunner.Run("eval", TestPaths.FixtureModel("fmnist_classifier.onnx"), "--data", csv);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("does not fit samples of shape [3]", r.Error);
    }

    [Fact]
    public void UnknownDatasetKindListsTheKnownOnes()
    {
        var r = CliRunner.Run("eval", TestPaths.FixtureModel("fmnist_classifier.onnx"), "--data", "imagenet:somewhere");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("fashion-mnist", r.Error);
    }

    [Fact]
    public void HelpExists() => Assert.Contains("--normalize", CliRunner.Run("eval", "--help").Output);
}
