namespace Whittle.Tests.Cli;

/// <summary>No verb overwrites its input, also not through a symbolic link to it (every verb goes through the one verified writer).</summary>
[Collection(Whittle.Tests.Training.TorchCollection.Name)]
public sealed class OutputSafetyTests
{
    [Theory]
    [InlineData("fold-bn")]
    [InlineData("quantize", "--mode", "dynamic")]
    [InlineData("prune", "--method", "magnitude", "--sparsity", "0.5")]
    [InlineData("train", "--data", "fashion-mnist-mini", "--epochs", "1", "--limit", "64")]
    public void AnOutputThatIsTheInputThroughALinkIsRefusedAndTheInputSurvives(string verb, params string[] rest)
    {
        var dir = TestPaths.TempDir();
        var input = Path.Combine(dir, "m.onnx");
        File.Copy(TestPaths.FixtureModel("fmnist_classifier.onnx"), input);
        var link = Path.Combine(dir, "link.onnx");
        File.CreateSymbolicLink(link, input);
        var before = File.ReadAllBytes(input);
        var r = CliRunner.Run([verb, link, .. rest, "-o", input]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("never modifies an input file", r.Error);
        Assert.Equal(before, File.ReadAllBytes(input));
    }
}
