using System.Text.Json;
using Whittle.Onnx;
using Whittle.Tests.Training;

namespace Whittle.Tests.Cli;

public class PruneCommandTests
{
    private static string Fixture(string name) => TestPaths.FixtureModel(name);

    [Fact]
    public void Channel_pruning_writes_a_smaller_model_that_ort_runs()
    {
        var output = Path.Combine(TestPaths.TempDir(), "pruned.onnx");
        var r = CliRunner.Run("prune", Fixture("pytorch_resnet_opset13.onnx"), "--method", "channel", "--ratio", "0.5", "--round-to", "2", "-o", output, "--json");
        Assert.True(r.ExitCode == 0, r.Error + r.Output);
        var json = JsonDocument.Parse(r.Output).RootElement;
        Assert.True(json.GetProperty("parametersAfter").GetInt64() < json.GetProperty("parametersBefore").GetInt64() / 2);
        Assert.True(json.GetProperty("bytesAfter").GetInt64() < json.GetProperty("bytesBefore").GetInt64());
        Assert.True(json.GetProperty("macsAfter").GetInt64() < json.GetProperty("macsBefore").GetInt64());
        Assert.Contains(json.GetProperty("leftUnpruned").EnumerateArray(), u => u.GetProperty("reason").GetString()!.Contains("graph output"));
        Assert.Equal(json.GetProperty("parametersAfter").GetInt64(), Whittle.Evaluation.ModelSizeReport.Measure(OnnxModel.Load(output)).Parameters);
    }

    [Fact]
    public void Plan_only_prints_the_plan_and_writes_nothing()
    {
        var r = CliRunner.Run("prune", Fixture("pytorch_cnn_opset13.onnx"), "--method", "channel", "--ratio", "0.25", "--plan-only");
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("Channel pruning plan", r.Output);
        Assert.Contains("unpruned: /fc2/Gemm (Gemm) output features", r.Output);
        Assert.Contains("nothing written", r.Output);
    }

    [SkippableFact]
    public void Plan_says_which_kept_widths_onnx_runtime_pads_to_its_channel_block()
    {
        Skip.If(Whittle.Runtime.OnnxRuntimeCpu.NchwcBlockSize is null, "this CPU has no known NCHWc block (needs AVX2 or AVX-512)");
        int block = Whittle.Runtime.OnnxRuntimeCpu.NchwcBlockSize!.Value;
        // The fixture's convolutions have 8 and 16 output channels: half of each is below any block.
        var r = CliRunner.Run("prune", Fixture("pytorch_cnn_opset13.onnx"), "--method", "channel", "--ratio", "0.5", "--plan-only", "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var note = JsonDocument.Parse(r.Output).RootElement.GetProperty("runtimeNote").GetString();
        Assert.NotNull(note);
        Assert.Contains($"blocks of {block} channels", note);
        Assert.Contains($"--round-to {block}", note);
        // Rounding to the block leaves no misfit, so no note.
        var rounded = CliRunner.Run("prune", Fixture("pytorch_cnn_opset13.onnx"), "--method", "channel", "--ratio", "0.5", "--round-to", block.ToString(), "--plan-only", "--json");
        Assert.True(rounded.ExitCode == 0, rounded.Error);
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(rounded.Output).RootElement.GetProperty("runtimeNote").ValueKind);
    }

    [Fact]
    public void Magnitude_and_nm_report_sparsity_and_compressed_size()
    {
        var output = Path.Combine(TestPaths.TempDir(), "sparse.onnx");
        var r = CliRunner.Run("prune", Fixture("pytorch_cnn_opset13.onnx"), "--method", "magnitude", "--sparsity", "0.8", "--global", "--exclude-first", "-o", output, "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var json = JsonDocument.Parse(r.Output).RootElement;
        Assert.True(json.GetProperty("gzipAfter").GetInt64() < json.GetProperty("gzipBefore").GetInt64() * 0.5);
        Assert.Equal("first layer", json.GetProperty("layers")[0].GetProperty("skipReason").GetString());
        var nm = CliRunner.Run("prune", Fixture("pytorch_cnn_opset13.onnx"), "--method", "nm", "--nm", "2:4", "-o", output, "--json");
        Assert.True(nm.ExitCode == 0, nm.Error);
        Assert.Contains("not a multiple of 4", nm.Output);
    }

    [Theory]
    [InlineData("a magnitude run without sparsity", "--method", "magnitude", "-o", "x.onnx", "--method magnitude needs --sparsity")]
    [InlineData("ratio with magnitude", "--sparsity", "0.5", "--ratio", "0.5", "-o", "x.onnx", "--ratio is for --method channel")]
    [InlineData("sparsity out of range", "--sparsity", "1.5", "-o", "x.onnx", "--sparsity must be in [0, 1)")]
    [InlineData("agp for channels without fine-tuning", "--method", "channel", "--ratio", "0.5", "--schedule", "agp", "-o", "x.onnx", "give --finetune-epochs and --data")]
    [InlineData("taylor without data", "--method", "channel", "--ratio", "0.5", "--importance", "taylor", "-o", "x.onnx", "--importance taylor needs --data")]
    [InlineData("agp without fine-tuning", "--sparsity", "0.5", "--schedule", "agp", "-o", "x.onnx", "give --finetune-epochs and --data")]
    [InlineData("no output", "--sparsity", "0.5", "--global", "--output is required")]
    [InlineData("bad nm", "--method", "nm", "--nm", "4:2", "-o", "x.onnx", "--nm must be N:M")]
    [InlineData("clip norm not positive", "--sparsity", "0.5", "--clip-norm", "0", "-o", "x.onnx", "--clip-norm must be positive")]
    public void Bad_options_give_one_clear_error(string why, params string[] argsAndMessage)
    {
        var args = new List<string> { "prune", Fixture("pytorch_cnn_opset13.onnx") };
        args.AddRange(argsAndMessage[..^1].Select(a => a == "x.onnx" ? Path.Combine(TestPaths.TempDir(), a) : a));
        var r = CliRunner.Run(args.ToArray());
        Assert.True(r.ExitCode == 2, $"{why}: {r.ExitCode} {r.Error}");
        Assert.Contains(argsAndMessage[^1], r.Error);
    }

    [Fact]
    public void An_exclusion_that_matches_nothing_is_an_error()
    {
        var r = CliRunner.Run("prune", Fixture("pytorch_cnn_opset13.onnx"), "--method", "channel", "--ratio", "0.5", "--exclude", "/nope/Conv", "--plan-only");
        // An option value that fits nothing in the model is a usage error.
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("node '/nope/Conv' matches no prunable layer", r.Error);
    }
}

[Collection(TorchCollection.Name)]
public class PruneFineTuneCommandTests
{
    [Fact]
    public void Channel_pruning_with_fine_tuning_and_sensitivity_run_on_real_data()
    {
        var output = Path.Combine(TestPaths.TempDir(), "ft.onnx");
        var r = CliRunner.Run("prune", TestPaths.FixtureModel("fmnist_classifier.onnx"), "--method", "channel", "--ratio", "0.5", "--importance", "taylor",
            "--finetune-epochs", "1", "--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530", "--limit", "600", "--batch", "64", "--json");
        Assert.Equal(2, r.ExitCode); // no -o
        r = CliRunner.Run("prune", TestPaths.FixtureModel("fmnist_classifier.onnx"), "--method", "channel", "--ratio", "0.5", "--importance", "taylor",
            "--finetune-epochs", "1", "--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530", "--limit", "600", "--batch", "64", "--clip-norm", "2", "-o", output, "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var json = JsonDocument.Parse(r.Output).RootElement;
        Assert.Equal(1, json.GetProperty("fineTuning").GetArrayLength());
        Assert.InRange(json.GetProperty("accuracyAfter").GetDouble(), 0.3, 1.0);

        var s = CliRunner.Run("sensitivity", TestPaths.FixtureModel("fmnist_classifier.onnx"), "--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530",
            "--limit", "300", "--sparsities", "0.5,0.9", "--json");
        Assert.True(s.ExitCode == 0, s.Error);
        var report = JsonDocument.Parse(s.Output).RootElement;
        var layers = report.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(4, layers.Count);
        // Worst first.
        for (int i = 1; i < layers.Count; i++) Assert.True(layers[i - 1].GetProperty("worstDrop").GetDouble() >= layers[i].GetProperty("worstDrop").GetDouble());
    }
}
