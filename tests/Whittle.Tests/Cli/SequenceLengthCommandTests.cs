using System.Text.Json;

namespace Whittle.Tests.Cli;

/// <summary>--seq-len on quantize, bench and check, and embedding verification on the command line (tiny hand-built encoder).</summary>
public sealed class SequenceLengthCommandTests
{
    [Fact]
    public void QuantizeVerifiesAnEmbeddingModelOnFortunesTextsAndWritesItsVocabulary()
    {
        var dir = TestPaths.TempDir();
        var model = TinyEncoder.SaveWithFortunesVocabulary(dir);
        var outDir = Path.Combine(dir, "out");
        Directory.CreateDirectory(outDir);
        var output = Path.Combine(outDir, "encoder.int8.onnx");
        var r = CliRunner.Run("quantize", model, "--mode", "dynamic", "--data", "fortunes:" + Path.Combine(TestPaths.Data, "fortunes-mini"),
            "--seq-len", "24", "--verify-samples", "24", "--latency-batch", "4", "--smooth", "0.7", "--calib-samples", "16", "-o", output, "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        using var doc = JsonDocument.Parse(r.Output);
        var e = doc.RootElement.GetProperty("embedding");
        Assert.Equal(24, e.GetProperty("texts").GetInt32());
        Assert.True(e.GetProperty("meanCosine").GetDouble() > 0.99);
        Assert.Equal(JsonValueKind.Number, e.GetProperty("neighbourOverlap").ValueKind);
        Assert.Contains("smoothed 2 MatMul inputs", doc.RootElement.GetProperty("preparation")[0].GetString());
        Assert.True(File.Exists(Path.Combine(outDir, "encoder.int8.vocab.txt")));
    }

    [Fact]
    public void BenchAndCheckGenerateTheSequenceLengthAndBadValuesAreUsageErrors()
    {
        var dir = TestPaths.TempDir();
        var model = Path.Combine(dir, "encoder.onnx");
        TinyEncoder.Create().Save(model);
        var bench = CliRunner.Run("bench", model, "--batch", "2", "--runs", "3", "--warmup", "1", "--seq-len", "12", "--json");
        Assert.True(bench.ExitCode == 0, bench.Error);
        using (var doc = JsonDocument.Parse(bench.Output)) Assert.Equal(12, doc.RootElement.GetProperty("sequenceLength").GetInt32());
        var check = CliRunner.Run("check", model, "--samples", "2", "--seq-len", "9", "--json");
        Assert.True(check.ExitCode == 0, check.Error);
        using (var doc = JsonDocument.Parse(check.Output)) Assert.Contains("sequence 9", doc.RootElement.GetProperty("inputs").GetString());
        var bad = CliRunner.Run("bench", model, "--seq-len", "0");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--seq-len", bad.Error);
        var smooth = CliRunner.Run("quantize", model, "--mode", "dynamic", "--smooth", "0.5", "-o", Path.Combine(dir, "q.onnx"));
        Assert.Equal(2, smooth.ExitCode);
        Assert.Contains("--smooth", smooth.Error);
    }
}
