namespace Whittle.Tests.Cli;

/// <summary>No verb overwrites its input, also not through a symbolic or hard link to it (every verb goes through the one verified writer).</summary>
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

    [SkippableTheory]
    [InlineData("prune", "--method", "magnitude", "--sparsity", "0.5")]
    [InlineData("fold-bn")]
    public void AnOutputThatIsAHardLinkToTheInputIsRefusedAndTheInputSurvives(string verb, params string[] rest)
    {
        // A hard link is the same file under a second name: no path comparison can see it, the
        // (device, inode) pair does. ln input.onnx hard.onnx; whittle prune input.onnx ... -o hard.onnx
        Skip.IfNot(OperatingSystem.IsLinux(), "hard links are told apart by inode on Linux only");
        var dir = TestPaths.TempDir();
        var input = Path.Combine(dir, "input.onnx");
        File.Copy(TestPaths.FixtureModel("fmnist_classifier.onnx"), input);
        var hard = Path.Combine(dir, "hard.onnx");
        HardLink(input, hard);
        var before = File.ReadAllBytes(input);
        var r = CliRunner.Run([verb, input, .. rest, "-o", hard]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("never modifies an input file", r.Error);
        Assert.Equal(before, File.ReadAllBytes(input));
        Assert.Equal(["hard.onnx", "input.onnx"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());
    }

    internal static void HardLink(string existing, string link)
    {
        using var ln = System.Diagnostics.Process.Start("ln", [existing, link]);
        ln.WaitForExit();
        Assert.Equal(0, ln.ExitCode);
    }
}
