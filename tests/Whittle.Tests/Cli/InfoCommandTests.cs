using System.Text.Json;

namespace Whittle.Tests.Cli;

public class InfoCommandTests
{
    private static readonly JsonElement Expected =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixtures, "models", "expected.json"))).RootElement.GetProperty("models");

    [Theory]
    [InlineData("pytorch_cnn_opset13.onnx")]
    [InlineData("cntk_style_ir3_opset8.onnx")]
    [InlineData("pytorch_resnet_opset13.onnx")]
    [InlineData("pytorch_transformer_opset17.onnx")]
    public void InfoMatchesCountsComputedByTheFixtureScript(string model)
    {
        // expected.json was written by tests/fixtures/make_fixtures.py from PyTorch and the onnx package.
        var expected = Expected.GetProperty(model);
        var r = CliRunner.Run("info", TestPaths.FixtureModel(model), "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var info = JsonDocument.Parse(r.Output).RootElement;
        Assert.Equal(expected.GetProperty("ir_version").GetInt64(), info.GetProperty("irVersion").GetInt64());
        Assert.Equal(expected.GetProperty("opset_import").GetProperty("ai.onnx").GetInt64(), info.GetProperty("opsets").GetProperty("").GetInt64());
        Assert.Equal(expected.GetProperty("producer_name").GetString(), info.GetProperty("producer").GetString());
        Assert.Equal(expected.GetProperty("param_count").GetInt64(), info.GetProperty("parameters").GetInt64());
        Assert.Equal(expected.GetProperty("node_count").GetInt32(), info.GetProperty("nodes").GetInt32());
        var ops = expected.GetProperty("op_histogram").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        var actual = info.GetProperty("operators").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(ops, actual);
        // Only real inputs are listed: IR-3 models also declare every initializer as an input.
        var inputs = expected.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("name").GetString()).ToArray();
        Assert.Equal(inputs, info.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("name").GetString()).ToArray());
        Assert.Equal(expected.GetProperty("size_bytes").GetInt64(), info.GetProperty("fileBytes").GetInt64());
        Assert.Empty(info.GetProperty("validationErrors").EnumerateArray());
    }

    [Fact]
    public void InfoPrintsTablesForHumans()
    {
        var r = CliRunner.Run("info", TestPaths.FixtureModel("pytorch_cnn_opset13.onnx"));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("BatchNormalization", r.Output);
        Assert.Contains("26,794", r.Output);
        Assert.Contains("float32[batch,1,28,28]", r.Output);
    }

    [Fact]
    public void BadFilesGiveOneLineErrorsAndExitCode1()
    {
        var dir = TestPaths.TempDir();
        var truncated = Path.Combine(dir, "truncated.onnx");
        var bytes = File.ReadAllBytes(TestPaths.FixtureModel("pytorch_cnn_opset13.onnx"));
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var text = Path.Combine(dir, "notes.onnx");
        File.WriteAllText(text, "hello, I am not a model");
        foreach (var (file, problem) in new[] { (truncated, "truncated"), (text, "not"), (Path.Combine(dir, "missing.onnx"), "file not found") })
        {
            var r = CliRunner.Run("info", file);
            Assert.Equal(1, r.ExitCode);
            var lines = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            Assert.StartsWith($"error: {file}:", lines[0]);
            Assert.Contains(problem, lines[0]);
            Assert.DoesNotContain("   at ", r.Error);
        }
        // --verbose adds the stack trace.
        var verbose = CliRunner.Run("info", truncated, "--verbose");
        Assert.Equal(1, verbose.ExitCode);
        Assert.Contains("   at ", verbose.Error);
    }

    [Theory]
    [InlineData("info")]
    [InlineData("info", "a.onnx", "--no-such-option")]
    [InlineData("frobnicate")]
    [InlineData("bench", "a.onnx", "--threads", "many")]
    public void UsageErrorsExitWith2(params string[] args)
    {
        var r = CliRunner.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--help", r.Error);
    }

    [Fact]
    public void HelpNamesTheToolCommandNotTheAssembly()
    {
        // In-process the running file is the test host; installed, it is Whittle.Cli.dll: the
        // usage line must say whittle either way.
        var r = CliRunner.Run("--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Usage:\n  whittle [command] [options]", r.Output.ReplaceLineEndings("\n"));
        Assert.Contains("whittle info <MODEL>", CliRunner.Run("info", "--help").Output);
    }

    [Fact]
    public void VersionIsPrinted()
    {
        var r = CliRunner.Run("--version");
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", r.Output.Trim());
    }

    [Theory]
    [InlineData("info")]
    [InlineData("bench")]
    public void EveryVerbHasHelp(string verb)
    {
        var r = CliRunner.Run(verb, "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Usage:", r.Output);
    }
}

public class InfoOnTf2OnnxStyleModelTests
{
    [Fact]
    public void LoadsATf2OnnxStyleKerasModelWithConstantNodesAndScopedNames()
    {
        // Hand-built to mimic tf2onnx (TensorFlow is not installable here): tests/fixtures/make_tf2onnx_style.py.
        var expected = JsonDocument.Parse(File.ReadAllText(TestPaths.FixtureModel("tf2onnx_style_keras.json"))).RootElement;
        var r = CliRunner.Run("info", TestPaths.FixtureModel("tf2onnx_style_keras.onnx"), "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var info = JsonDocument.Parse(r.Output).RootElement;
        Assert.Equal(expected.GetProperty("param_count").GetInt64(), info.GetProperty("parameters").GetInt64());
        Assert.Equal(expected.GetProperty("op_histogram").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32()),
            info.GetProperty("operators").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32()));
        Assert.Equal(["unk__21", "28", "28", "1"], info.GetProperty("inputs")[0].GetProperty("shape").EnumerateArray().Select(e => e.GetString()));
        var bench = CliRunner.Run("bench", TestPaths.FixtureModel("tf2onnx_style_keras.onnx"), "--batch", "3", "--runs", "2", "--warmup", "0");
        Assert.True(bench.ExitCode == 0, bench.Error);
    }
}
