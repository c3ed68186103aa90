namespace Whittle.Tests.Cli;

/// <summary>train refuses what it cannot stand behind: a diverged run, a resume on other data; a failed run leaves nothing behind.</summary>
[Collection(Whittle.Tests.Training.TorchCollection.Name)]
public sealed class TrainingReliabilityTests
{
    private static readonly string Model = TestPaths.FixtureModel("fmnist_classifier.onnx");

    [Fact]
    public void ADivergedRunIsNotWrittenUnlessAllowed()
    {
        var dir = TestPaths.TempDir();
        var output = Path.Combine(dir, "t.onnx");
        // RMSprop at 1e3: every loss stays finite (2e14, then 1e3), the accuracy falls to chance.
        string[] args = ["train", Model, "--data", "fashion-mnist-mini", "--limit", "2000", "--epochs", "2", "--optimizer", "rmsprop", "--lr", "1e3", "-o", output];
        var r = CliRunner.Run(args);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("training ended at chance level", r.Error);
        Assert.Contains("try 100", r.Error);
        Assert.Contains("--allow-diverged", r.Error);
        Assert.False(File.Exists(output));

        var allowed = CliRunner.Run([.. args, "--allow-diverged"]);
        Assert.True(allowed.ExitCode == 0, allowed.Error);
        Assert.Contains("warning:", allowed.Output);
        Assert.True(File.Exists(output));
    }

    [Fact]
    public void ResumeOnOtherDataIsRefused()
    {
        var dir = TestPaths.TempDir();
        var output = Path.Combine(dir, "t.onnx");
        var first = CliRunner.Run("train", Model, "--data", "fashion-mnist-mini", "--limit", "300", "--epochs", "1", "--lr", "1e-4", "-o", output);
        Assert.True(first.ExitCode == 0, first.Error);
        var limit = CliRunner.Run("train", Model, "--data", "fashion-mnist-mini", "--limit", "200", "--epochs", "1", "--lr", "1e-4", "-o", output, "--resume");
        Assert.Equal(1, limit.ExitCode);
        Assert.Contains("other options or data", limit.Error);
        Assert.Contains("data.train: checkpoint 270 x [1,28,28]", limit.Error);
        var normalize = CliRunner.Run("train", Model, "--data", "fashion-mnist-mini", "--limit", "300", "--epochs", "1", "--lr", "1e-4", "-o", output, "--resume",
            "--normalize", "0.5,0.5");
        Assert.Equal(1, normalize.ExitCode);
        Assert.Contains("data.train", normalize.Error);
    }

    [Fact]
    public void AFailedRunLeavesNoEmptyRunDirectory()
    {
        var dir = TestPaths.TempDir();
        var output = Path.Combine(dir, "t.onnx");
        var r = CliRunner.Run("train", Model, "--data", "fashion-mnist-mini", "--limit", "400", "--epochs", "1", "--optimizer", "sgd", "--lr", "1e30", "-o", output);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("became NaN", r.Error);
        Assert.False(Directory.Exists(Path.Combine(dir, "t.run")), r.Error);
    }
}
