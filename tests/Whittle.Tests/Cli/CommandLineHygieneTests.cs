using Whittle.Onnx;

namespace Whittle.Tests.Cli;

/// <summary>Small things a careful user trips over: unknown flags, models ONNX Runtime cannot load, control characters from corrupt files.</summary>
public sealed class CommandLineHygieneTests
{
    private static readonly string Fixture = TestPaths.FixtureModel("fmnist_classifier.onnx");

    [Fact]
    public void AnUnknownFlagIsAUsageErrorNotAModelPath()
    {
        var r = CliRunner.Run("bench", Fixture, "--bogus-flag");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("unknown option '--bogus-flag'", r.Error);
        // Negative numbers are still values.
        Assert.Equal(2, CliRunner.Run("train", Fixture, "--lr", "-1", "-o", Path.Combine(TestPaths.TempDir(), "x.onnx")).ExitCode);
    }

    [Fact]
    public void InfoFailsOnAnOperatorOrOpsetOnnxRuntimeDoesNotKnow()
    {
        var dir = TestPaths.TempDir();
        var unknownOp = OnnxModel.Load(Fixture);
        unknownOp.Proto.Graph.Node[0].OpType = "Frobnicate";
        var a = Path.Combine(dir, "op.onnx");
        unknownOp.Save(a);
        var r = CliRunner.Run("info", a);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("ONNX Runtime cannot load it", r.Output);

        var future = OnnxModel.Load(Fixture);
        foreach (var o in future.Proto.OpsetImport.Where(o => o.Domain.Length == 0)) o.Version = 68;
        var b = Path.Combine(dir, "opset.onnx");
        future.Save(b);
        Assert.Equal(1, CliRunner.Run("info", b).ExitCode);
    }

    [Fact]
    public void ControlCharactersInErrorsArePrintedEscaped()
    {
        Assert.Equal("bad \\u001b[31mname\\u0007", Whittle.Cli.WhittleCli.Printable("bad \u001b[31mname\u0007"));
        var dir = TestPaths.TempDir();
        var r = CliRunner.Run("eval", Path.Combine(dir, "no\u001bsuch.onnx"));
        Assert.DoesNotContain("\u001b", r.Error);
        Assert.Contains("\\u001b", r.Error);
    }
}
