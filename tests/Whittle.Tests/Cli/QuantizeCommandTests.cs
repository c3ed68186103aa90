using System.Text.Json;
using Whittle.Data;
using Whittle.Onnx;

namespace Whittle.Tests.Cli;

public class QuantizeCommandTests
{
    private static readonly string Classifier = TestPaths.FixtureModel("fmnist_classifier.onnx");
    private static readonly string[] MiniData = ["--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530"];

    [Fact]
    public void StaticQuantizationWritesAVerifiedSmallerModelAndReportsIt()
    {
        var dir = TestPaths.TempDir();
        var output = Path.Combine(dir, "q.onnx");
        var before = File.ReadAllBytes(Classifier);
        var r = CliRunner.Run(["quantize", Classifier, .. MiniData, "--calib-samples", "128", "--objective", "size", "--latency-batch", "8", "-o", output, "--json"]);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Equal(before, File.ReadAllBytes(Classifier));
        using var doc = JsonDocument.Parse(r.Output);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("bytesAfter").GetInt64() < 0.4 * root.GetProperty("bytesBefore").GetInt64());
        var accBefore = root.GetProperty("before").GetProperty("accuracy").GetDouble();
        var accAfter = root.GetProperty("after").GetProperty("accuracy").GetDouble();
        Assert.Equal(0.862, accBefore, 3);
        Assert.True(Math.Abs(accAfter - accBefore) <= 0.01, $"{accBefore} -> {accAfter}");
        Assert.True(root.GetProperty("layers").GetArrayLength() > 0);
        var written = OnnxModel.Load(output);
        Assert.True(written.Graph.OpHistogram()["QuantizeLinear"] > 0);
        Assert.Equal(13, written.GetOpset());
    }

    [Fact]
    public void AnExclusionThatMatchesNothingIsAnErrorAndWritesNothing()
    {
        var output = Path.Combine(TestPaths.TempDir(), "q.onnx");
        var r = CliRunner.Run(["quantize", Classifier, .. MiniData, "--exclude", "no_such_node", "--exclude", "Conv", "-o", output]);
        // An option value that fits nothing in the model is a usage error.
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("'no_such_node' matches no node name or op type in graph", r.Error);
        Assert.DoesNotContain("Conv'", r.Error);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void CalibrationDataOfTheWrongShapeIsRejected()
    {
        var dir = TestPaths.TempDir();
        var npy = Path.Combine(dir, "calib.npy");
        NpyFile.Write(npy, new float[4 * 3 * 10 * 10], [4, 3, 10, 10]);
        var r = CliRunner.Run("quantize", Classifier, "--data", npy, "-o", Path.Combine(dir, "q.onnx"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("does not fit samples of shape [3,10,10]", r.Error);
    }

    [Fact]
    public void StaticModeWithoutDataIsAUsageError()
    {
        var r = CliRunner.Run("quantize", Classifier, "-o", Path.Combine(TestPaths.TempDir(), "q.onnx"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("needs calibration data", r.Error);
    }

    [Theory]
    [InlineData("dynamic", "DynamicQuantizeLinear")]
    [InlineData("int4", "com.microsoft.MatMulNBits")]
    public void WeightModesQuantizeAnMlpAndReportAccuracy(string mode, string op)
    {
        var dir = TestPaths.TempDir();
        var mlp = Path.Combine(dir, "mlp.onnx");
        Assert.Equal(0, CliRunner.Run("zoo", "create", "mlp", "-o", mlp).ExitCode);
        var output = Path.Combine(dir, mode + ".onnx");
        var r = CliRunner.Run(["quantize", mlp, "--mode", mode, .. MiniData, "--limit", "500", "--latency-batch", "8", "-o", output, "--json"]);
        Assert.True(r.ExitCode == 0, r.Error);
        using var doc = JsonDocument.Parse(r.Output);
        Assert.Equal(mode, doc.RootElement.GetProperty("mode").GetString());
        Assert.Equal(500, doc.RootElement.GetProperty("after").GetProperty("samples").GetInt32());
        Assert.True(doc.RootElement.GetProperty("outputs")[0].GetProperty("cosine").GetDouble() > 0.98);
        Assert.True(OnnxModel.Load(output).Graph.OpHistogram()[op] > 0);
    }

    [Fact]
    public void AccuracyObjectiveKeepsLowSqnrNodesInFloat()
    {
        var output = Path.Combine(TestPaths.TempDir(), "q.onnx");
        // An impossible SQNR floor sends every weak compute node back to float.
        var r = CliRunner.Run(["quantize", Classifier, .. MiniData, "--calib-samples", "64", "--objective", "accuracy", "--min-sqnr", "200", "--latency-batch", "8", "-o", output, "--json"]);
        Assert.True(r.ExitCode == 0, r.Error);
        using var doc = JsonDocument.Parse(r.Output);
        var floatNodes = doc.RootElement.GetProperty("floatNodes").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains(floatNodes, n => n!.Contains("Conv", StringComparison.Ordinal) || n.Contains("conv", StringComparison.Ordinal));
    }

    [Fact]
    public void DynamicQuantizationOfATextModelKeepsItsVocabularyNextToIt()
    {
        var dir = TestPaths.TempDir();
        var model = Path.Combine(dir, "fasttext.onnx");
        var data = "fortunes:" + Path.Combine(TestPaths.Data, "fortunes-mini");
        var created = CliRunner.Run("zoo", "create", "fasttext", "--data", data, "-o", model);
        Assert.True(created.ExitCode == 0, created.Error);
        var output = Path.Combine(dir, "fasttext.dyn.onnx");
        var r = CliRunner.Run("quantize", model, "--mode", "dynamic", "--latency-batch", "4", "-o", output);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Equal(File.ReadAllBytes(Vocabulary.PathFor(model)), File.ReadAllBytes(Vocabulary.PathFor(output)));
        var eval = CliRunner.Run("eval", output, "--data", data);
        Assert.True(eval.ExitCode == 0, eval.Error);
    }
}
