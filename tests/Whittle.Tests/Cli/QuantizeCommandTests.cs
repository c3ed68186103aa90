using System.Text.Json;
using Whittle.Data;
using Whittle.Onnx;
using Whittle.Quantization;

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
    public void EveryLatencyBatchIsReportedWithItsRatioAndSpread()
    {
        var output = Path.Combine(TestPaths.TempDir(), "q.onnx");
        var r = CliRunner.Run(["quantize", Classifier, .. MiniData, "--calib-samples", "64", "--objective", "size", "--latency-batch", "1,8", "--limit", "200", "-o", output, "--json"]);
        Assert.True(r.ExitCode == 0, r.Error);
        using var doc = JsonDocument.Parse(r.Output);
        var latency = doc.RootElement.GetProperty("latency");
        var batches = latency.GetProperty("batches").EnumerateArray().ToList();
        Assert.Equal([1, 8], batches.Select(b => b.GetProperty("batch").GetInt32()));
        Assert.All(batches, b =>
        {
            Assert.True(b.GetProperty("rounds").GetInt32() >= 9);
            Assert.True(b.GetProperty("ratioLow").GetDouble() <= b.GetProperty("ratio").GetDouble());
            Assert.True(b.GetProperty("ratio").GetDouble() <= b.GetProperty("ratioHigh").GetDouble());
        });
        // Objective size is never refused, whatever the timing said.
        Assert.False(latency.GetProperty("refused").GetBoolean());
        Assert.True(File.Exists(output));
    }

    /// <summary>
    /// The README fixture under the default objective: either a model faster than float beyond the noise at
    /// every batch is written, or nothing is written and the exit code says why. Which one depends on this
    /// machine; both are checked for what they promise.
    /// </summary>
    [Fact]
    public void TheDefaultObjectiveWritesAFasterModelOrRefusesWithItsOwnExitCode()
    {
        var output = Path.Combine(TestPaths.TempDir(), "q.onnx");
        var r = CliRunner.Run(["quantize", Classifier, .. MiniData, "--calib-samples", "128", "--limit", "200", "-o", output, "--json"]);
        Assert.True(r.ExitCode is 0 or 4, $"exit {r.ExitCode}: {r.Error}");
        using var doc = JsonDocument.Parse(r.Output);
        var root = doc.RootElement;
        var latency = root.GetProperty("latency");
        var batches = latency.GetProperty("batches").EnumerateArray().ToList();
        Assert.Equal(64, Assert.Single(batches).GetProperty("batch").GetInt32());
        Assert.True(root.GetProperty("candidates").GetArrayLength() >= 1);
        if (r.ExitCode == 0)
        {
            Assert.True(latency.GetProperty("faster").GetBoolean());
            Assert.All(batches, b => Assert.True(b.GetProperty("ratioHigh").GetDouble() < 1));
            Assert.True(File.Exists(output));
        }
        else
        {
            Assert.True(latency.GetProperty("refused").GetBoolean());
            Assert.True(root.GetProperty("refused").GetBoolean());
            Assert.Contains(batches, b => b.GetProperty("ratioHigh").GetDouble() >= 1);
            Assert.Equal(JsonValueKind.Null, root.GetProperty("output").ValueKind);
            Assert.Contains("not faster than float on this machine beyond the measured noise", r.Error);
            Assert.Contains("--allow-slower", r.Error);
            Assert.False(File.Exists(output));
        }
    }

    [Fact]
    public void AllowSlowerAlwaysWritesUnderTheLatencyObjective()
    {
        var output = Path.Combine(TestPaths.TempDir(), "q.onnx");
        var r = CliRunner.Run(["quantize", Classifier, .. MiniData, "--calib-samples", "64", "--limit", "200", "--latency-batch", "8", "--allow-slower", "-o", output]);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.True(File.Exists(output));
    }

    [Theory]
    [InlineData("0", "'0' is not a positive integer")]
    [InlineData("8,8", "repeat a batch size")]
    [InlineData("1,x", "'x' is not a positive integer")]
    public void BadLatencyBatchesAreUsageErrors(string value, string message)
    {
        var output = Path.Combine(TestPaths.TempDir(), "q.onnx");
        var r = CliRunner.Run(["quantize", Classifier, .. MiniData, "--latency-batch", value, "-o", output]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--latency-batch", r.Error);
        Assert.Contains(message, r.Error);
        Assert.False(File.Exists(output));
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

    [Fact]
    public void QatWithInt4WeightsWritesAPackedOpset21ModelAndReportsPtqNextToIt()
    {
        var output = Path.Combine(TestPaths.TempDir(), "q4.onnx");
        var before = File.ReadAllBytes(Classifier);
        var r = CliRunner.Run(["quantize", Classifier, .. MiniData, "--mode", "qat", "--weight-bits", "4", "--keep-8bit", "first", "--finetune-epochs", "1",
            "--train-limit", "600", "--calib-samples", "128", "--latency-batch", "8", "-o", output, "--json"]);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Equal(before, File.ReadAllBytes(Classifier));
        using var doc = JsonDocument.Parse(r.Output);
        var root = doc.RootElement;
        Assert.Equal("qat", root.GetProperty("mode").GetString());
        var qat = root.GetProperty("qat");
        Assert.Equal("int4", qat.GetProperty("weightType").GetString());
        Assert.Equal(1, qat.GetProperty("epochs").GetInt32());
        Assert.True(qat.GetProperty("weightQuantizers").GetInt32() > 0 && qat.GetProperty("activationQuantizers").GetInt32() > 0);
        var ptq = qat.GetProperty("ptq").GetProperty("accuracy").GetDouble();
        var after = root.GetProperty("after").GetProperty("accuracy").GetDouble();
        Assert.InRange(ptq, 0.5, 1);
        // Judged on validation, the written model is never the worse of the two there.
        Assert.True(qat.GetProperty("fellBackToPtq").GetBoolean() || qat.GetProperty("qatValidationAccuracy").GetDouble() >= qat.GetProperty("ptqValidationAccuracy").GetDouble());
        Assert.InRange(after, 0.5, 1);

        var written = OnnxModel.Load(output);
        Assert.Equal(21, written.GetOpset());
        Assert.DoesNotContain(written.Graph.Nodes, n => n.Domain.Length > 0);
        var weights = written.Graph.Initializers.Where(t => t.Dims.Length > 1).ToList();
        Assert.Contains(weights, t => t.DataType == OnnxDataType.Int4);
        Assert.Single(weights, t => t.DataType == OnnxDataType.Int8); // --keep-8bit first
        Assert.True(root.GetProperty("bytesAfter").GetInt64() < 0.25 * root.GetProperty("bytesBefore").GetInt64());
    }

    /// <summary>One epoch of int8 QAT and the post-training run under <paramref name="objective"/>, both written; the QAT run must succeed.</summary>
    private static (OnnxModel Qat, OnnxModel Ptq) Int8QatAndPtq(string objective)
    {
        var output = Path.Combine(TestPaths.TempDir(), $"q8-{objective}.onnx");
        var r = CliRunner.Run(["quantize", Classifier, .. MiniData, "--mode", "qat", "--objective", objective, "--finetune-epochs", "1", "--train-limit", "600",
            "--calib-samples", "128", "--latency-batch", "8", "--qat-scales", "fixed", "-o", output, "--json"]);
        Assert.True(r.ExitCode == 0, r.Error);
        var ptq = Path.Combine(TestPaths.TempDir(), $"p8-{objective}.onnx");
        Assert.Equal(0, CliRunner.Run(["quantize", Classifier, .. MiniData, "--objective", objective, "--calib-samples", "128", "--latency-batch", "8", "-o", ptq]).ExitCode);
        return (OnnxModel.Load(output), OnnxModel.Load(ptq));
    }

    [Fact]
    public void Int8QatKeepsThePostTrainingPlacementAndFormat()
    {
        var (written, ptq) = Int8QatAndPtq("size");
        Assert.Equal(13, written.GetOpset());
        Assert.Equal(ptq.Graph.OpHistogram(), written.Graph.OpHistogram());
    }

    [Fact]
    public void Int8QatDeliversTheAlignedFirstConvolutionThatPostTrainingQuantizationWrites()
    {
        // Objective accuracy aligns (size does not) and places nothing by timing, so both runs write the same graph.
        var (written, ptq) = Int8QatAndPtq("accuracy");
        Assert.Contains(written.Graph.Nodes, n => n.Name.Contains(IntegerConvAlignment.NodeSuffix, StringComparison.Ordinal));
        Assert.Equal(ptq.Graph.OpHistogram(), written.Graph.OpHistogram());
    }

    [Theory]
    [InlineData("--weight-bits must be 8 or 4", "--mode", "qat", "--weight-bits", "3")]
    [InlineData("keeping layers at 8 bits needs 4-bit weights", "--keep-8bit", "first")]
    [InlineData("4-bit weights in QDQ form are a static or QAT option", "--mode", "dynamic", "--weight-bits", "4")]
    public void BadQatOptionsAreUsageErrors(string message, params string[] args)
    {
        var output = Path.Combine(TestPaths.TempDir(), "q.onnx");
        var r = CliRunner.Run(["quantize", Classifier, .. MiniData, .. args, "-o", output]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Error);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void QatWithoutDataIsAUsageError()
    {
        var r = CliRunner.Run("quantize", Classifier, "--mode", "qat", "-o", Path.Combine(TestPaths.TempDir(), "q.onnx"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("quantization-aware training needs labelled data", r.Error);
    }
}
