using System.Text.Json;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Tests.Cli;

/// <summary>
/// Every verb on a model saved with ONNX external data (tests/fixtures/models/external, made by
/// make_external_data.py from the bundled classifier): it runs, and what it writes is
/// self-contained, so it still loads and runs once the input's folder (and its ext.data) is gone.
/// </summary>
[Collection(Whittle.Tests.Training.TorchCollection.Name)]
public sealed class ExternalDataCommandsTests
{
    private static readonly string[] Normalize = ["--normalize", "0.2860,0.3530"];

    /// <summary>A copy of the external-data fixture in a folder of its own (deleted by the tests), and an output folder beside it.</summary>
    internal static (string Input, string InputDir, string OutputDir) CopyFixture()
    {
        var root = TestPaths.TempDir();
        var inputDir = Path.Combine(root, "in");
        var outputDir = Path.Combine(root, "out");
        Directory.CreateDirectory(inputDir);
        Directory.CreateDirectory(outputDir);
        foreach (var file in Directory.GetFiles(Path.Combine(TestPaths.Fixtures, "models", "external")))
            File.Copy(file, Path.Combine(inputDir, Path.GetFileName(file)));
        return (Path.Combine(inputDir, "fmnist_classifier.onnx"), inputDir, outputDir);
    }

    [Theory]
    [InlineData("fold-bn")]
    [InlineData("quantize", "--mode", "dynamic")]
    [InlineData("quantize", "--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530", "--objective", "size")]
    [InlineData("prune", "--method", "magnitude", "--sparsity", "0.5")]
    [InlineData("prune", "--method", "channel", "--ratio", "0.25")]
    [InlineData("train", "--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530", "--epochs", "1", "--limit", "64")]
    public void EachVerbWritesASelfContainedModelThatOutlivesTheInputFolder(string verb, params string[] rest)
    {
        var (input, inputDir, outputDir) = CopyFixture();
        var output = Path.Combine(outputDir, "result.onnx");
        var r = CliRunner.Run([verb, input, .. rest, "-o", output]);
        Assert.True(r.ExitCode == 0, r.Error + r.Output);

        Directory.Delete(inputDir, recursive: true);
        var written = OnnxModel.Load(output);
        Assert.False(written.HasExternalData);
        Assert.Empty(written.ExternalDataFiles);
        Assert.All(written.Graph.Initializers, t => Assert.False(t.IsExternal, t.Name));
        Assert.DoesNotContain(Directory.GetFiles(outputDir), f => f.EndsWith(".data", StringComparison.Ordinal) || f.EndsWith(".tmp", StringComparison.Ordinal));

        // It runs in ORT from its own bytes, on the fixture's sample image.
        using var session = new OnnxRuntimeSession(written);
        var images = Whittle.Data.NpyFile.Read(TestPaths.FixtureModel("fmnist_classifier.input.npy"));
        var logits = session.Run(RuntimeTensor.FromFloats(images.ToFloat32(), [.. images.Shape.Select(d => (long)d)]));
        Assert.Equal([images.Shape[0], 10L], logits.Shape);
        Assert.All(logits.AsFloats(), v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [InlineData("fold-bn")]
    [InlineData("quantize", "--mode", "dynamic")]
    [InlineData("prune", "--method", "magnitude", "--sparsity", "0.5")]
    [InlineData("prune", "--method", "channel", "--ratio", "0.25")]
    public void ADeterministicVerbWritesTheSameBytesAsOnTheInlineModel(string verb, params string[] rest)
    {
        // Where the input's bytes are stored must not change the result at all.
        var (input, _, outputDir) = CopyFixture();
        var fromExternal = Path.Combine(outputDir, "external.onnx");
        var fromInline = Path.Combine(outputDir, "inline.onnx");
        Assert.Equal(0, CliRunner.Run([verb, input, .. rest, "-o", fromExternal]).ExitCode);
        Assert.Equal(0, CliRunner.Run([verb, TestPaths.FixtureModel("fmnist_classifier.onnx"), .. rest, "-o", fromInline]).ExitCode);
        Assert.Equal(File.ReadAllBytes(fromInline), File.ReadAllBytes(fromExternal));
    }

    [Fact]
    public void EvalGivesTheSameScoresAsOnTheInlineModel()
    {
        var (input, _, _) = CopyFixture();
        var external = CliRunner.Run(["eval", input, "--data", "fashion-mnist-mini", .. Normalize, "--json"]);
        var inline = CliRunner.Run(["eval", TestPaths.FixtureModel("fmnist_classifier.onnx"), "--data", "fashion-mnist-mini", .. Normalize, "--json"]);
        Assert.True(external.ExitCode == 0, external.Error);
        Assert.True(inline.ExitCode == 0, inline.Error);
        double Accuracy(string json) => JsonDocument.Parse(json).RootElement.GetProperty("accuracy").GetDouble();
        Assert.Equal(0.862, Accuracy(inline.Output), 3);
        Assert.Equal(Accuracy(inline.Output), Accuracy(external.Output));
    }

    [Fact]
    public void CheckTrainsTheExternalDataModelInTheEngine()
    {
        var (input, _, _) = CopyFixture();
        var r = CliRunner.Run(["check", input, "--data", "fashion-mnist-mini", .. Normalize, "--samples", "4"]);
        Assert.True(r.ExitCode == 0, r.Error + r.Output);
        Assert.Contains("The Engine matches ONNX Runtime", r.Output);
    }

    [Fact]
    public void AnOutputOntoTheInputsExternalDataFileOrAHardLinkToItIsRefusedAndTheDataSurvives()
    {
        var (input, inputDir, _) = CopyFixture();
        var data = Path.Combine(inputDir, "ext.data");
        var before = File.ReadAllBytes(data);
        var r = CliRunner.Run("fold-bn", input, "-o", data);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("never modifies an input file", r.Error);
        Assert.Equal(before, File.ReadAllBytes(data));

        if (!OperatingSystem.IsLinux()) return; // hard links are told apart by inode on Linux only
        var hard = Path.Combine(inputDir, "hard.data");
        OutputSafetyTests.HardLink(data, hard);
        r = CliRunner.Run("quantize", input, "--mode", "dynamic", "-o", hard);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("never modifies an input file", r.Error);
        Assert.Equal(before, File.ReadAllBytes(data));
    }
}
