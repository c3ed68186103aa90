using System.Text.Json;

namespace Whittle.Tests.Cli;

public class BenchCommandTests
{
    [Fact]
    public void TwoModelsGiveBothMediansAndTheirRatio()
    {
        var a = TestPaths.FixtureModel("pytorch_cnn_opset13.onnx");
        var b = TestPaths.FixtureModel("pytorch_resnet_opset13.onnx");
        var r = CliRunner.Run("bench", a, b, "--batch", "1,4", "--runs", "5", "--warmup", "1", "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var json = JsonDocument.Parse(r.Output).RootElement;
        Assert.True(json.GetProperty("interleaved").GetBoolean());
        var results = json.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(4, results.Count); // 2 models x 2 batch sizes
        var ratios = json.GetProperty("ratios").EnumerateArray().ToList();
        Assert.Equal(2, ratios.Count);
        // Results name their model by its index in "models".
        Assert.Equal([a, b], json.GetProperty("models").EnumerateArray().Select(m => m.GetString()));
        foreach (var ratio in ratios)
        {
            int batch = ratio.GetProperty("batchSize").GetInt32();
            var pa = results.Single(x => x.GetProperty("model").GetInt32() == 0 && x.GetProperty("batchSize").GetInt32() == batch).GetProperty("p50Ms").GetDouble();
            var pb = results.Single(x => x.GetProperty("model").GetInt32() == 1 && x.GetProperty("batchSize").GetInt32() == batch).GetProperty("p50Ms").GetDouble();
            Assert.Equal(pb / pa, ratio.GetProperty("medianRatio").GetDouble(), 12);
        }
        Assert.True(json.GetProperty("peakResidentBytes").GetInt64() > 0);

        var table = CliRunner.Run("bench", a, b, "--batch", "2", "--runs", "3", "--warmup", "0");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("median ratio", table.Output);
    }

    [Fact]
    public void ProfileListsEveryModelsKernelsAfterTheTiming()
    {
        var a = TestPaths.FixtureModel("pytorch_cnn_opset13.onnx");
        var r = CliRunner.Run("bench", a, "--batch", "4", "--runs", "3", "--warmup", "1", "--profile", "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var profile = JsonDocument.Parse(r.Output).RootElement.GetProperty("profiles").EnumerateArray().Single();
        Assert.Equal(4, profile.GetProperty("batchSize").GetInt32());
        var kernels = profile.GetProperty("kernels").EnumerateArray().ToList();
        // The fixture's two convolutions run as ORT kernels (fused or not), and the total is the sum of the medians.
        Assert.True(kernels.Count(k => k.GetProperty("opType").GetString()!.Contains("Conv", StringComparison.Ordinal)) >= 2);
        Assert.Equal(kernels.Sum(k => k.GetProperty("medianMs").GetDouble()), profile.GetProperty("totalKernelMs").GetDouble(), 9);
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(CliRunner.Run("bench", a, "--batch", "1", "--runs", "2", "--json").Output).RootElement.GetProperty("profiles").ValueKind);
    }

    [Fact]
    public void AFixedBatchModelExplainsWhichBatchItTakes()
    {
        var r = CliRunner.Run("bench", TestPaths.FixtureModel("cntk_style_ir3_opset8.onnx"), "--batch", "8", "--runs", "2");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("fixed batch dimension of 1", r.Error);
        Assert.Equal(0, CliRunner.Run("bench", TestPaths.FixtureModel("cntk_style_ir3_opset8.onnx"), "--batch", "1", "--runs", "2").ExitCode);
    }
}
