using System.Globalization;
using System.Text;

namespace Whittle.Tests.Cli;

/// <summary>Data that does not fit the model is refused by every verb before any work, in one line.</summary>
[Collection(Whittle.Tests.Training.TorchCollection.Name)]
public sealed class DataValidationTests
{
    /// <summary>A 4-feature, 3-class MLP and a CSV of <paramref name="rows"/> rows (label last) written by <paramref name="row"/>.</summary>
    private static (string Model, string Csv) Setup(string dir, int rows, Func<int, string> row, string? header = null)
    {
        var model = Path.Combine(dir, "mlp.onnx");
        var created = CliRunner.Run("zoo", "create", "mlp", "-o", model, "--input-shape", "4", "--classes", "3");
        Assert.True(created.ExitCode == 0, created.Error);
        var csv = new StringBuilder();
        if (header is not null) csv.AppendLine(header);
        for (int i = 0; i < rows; i++) csv.AppendLine(row(i));
        var path = Path.Combine(dir, "data.csv");
        File.WriteAllText(path, csv.ToString());
        return (model, "csv:" + path);
    }

    private static string Row(int i, int label) =>
        string.Join(",", Enumerable.Range(0, 4).Select(k => ((i * 7 + k * 3) % 10 / 10.0).ToString(CultureInfo.InvariantCulture))) + "," + label;

    [Theory]
    [InlineData("train", "--epochs", "1", "-o", "OUT")]
    [InlineData("prune", "--method", "magnitude", "--sparsity", "0.5", "--finetune-epochs", "1", "-o", "OUT")]
    [InlineData("quantize", "--mode", "static", "-o", "OUT")]
    [InlineData("sensitivity")]
    [InlineData("eval")]
    [InlineData("check")]
    public void ALabelBeyondTheModelsClassesIsAClearErrorInEveryVerb(string verb, params string[] rest)
    {
        var dir = TestPaths.TempDir();
        var (model, data) = Setup(dir, 40, i => Row(i, i == 17 ? 42 : i % 3));
        var output = Path.Combine(dir, "out.onnx");
        var r = CliRunner.Run([verb, model, "--data", data, .. rest.Select(a => a == "OUT" ? output : a)]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("sample 17 has label 42", r.Error);
        Assert.Contains("scores 3 classes (labels 0..2)", r.Error);
        Assert.DoesNotContain("internal error", r.Error);
        Assert.False(File.Exists(output));
    }

    [Theory]
    [InlineData("eval")]
    [InlineData("sensitivity")]
    [InlineData("prune", "--method", "channel", "--ratio", "0.5", "--importance", "taylor", "-o", "OUT")]
    public void NonFiniteFeaturesAreRefusedBeforeAnyWork(string verb, params string[] rest)
    {
        var dir = TestPaths.TempDir();
        var (model, _) = Setup(dir, 1, i => Row(i, 0));
        var features = Enumerable.Range(0, 20 * 4).Select(i => (i % 10) / 10f).ToArray();
        features[5 * 4 + 1] = float.NaN;
        var x = Path.Combine(dir, "x.npy");
        var y = Path.Combine(dir, "y.npy");
        Whittle.Data.NpyFile.Write(x, features, [20, 4]);
        Whittle.Data.NpyFile.Write(y, Enumerable.Range(0, 20).Select(i => (long)(i % 3)).ToArray(), [20]);
        var output = Path.Combine(dir, "out.onnx");
        var r = CliRunner.Run([verb, model, "--data", $"npy:{x},{y}", .. rest.Select(a => a == "OUT" ? output : a)]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("sample 5 holds NaN at feature 1", r.Error);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void AFirstRowWithOneTextCellIsNeitherSilentlyAHeaderNorData()
    {
        var dir = TestPaths.TempDir();
        var (model, data) = Setup(dir, 30, i => i == 0 ? "0.1,oops,0.2,0.3,1" : Row(i, i % 3));
        var r = CliRunner.Run("eval", model, "--data", data);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("line 1: the first row mixes numbers and text (column 1 is 'oops')", r.Error);

        // A real header (no number in it) is detected, and the rows read are counted.
        var (_, withHeader) = Setup(Path.Combine(dir, "h") is var h && Directory.CreateDirectory(h) is not null ? h : h, 30, i => Row(i, i % 3), "a,b,c,d,label");
        var ok = CliRunner.Run("eval", model, "--data", withHeader);
        Assert.True(ok.ExitCode == 0, ok.Error);
        Assert.Contains("(30 rows)", ok.Output);
        Assert.Contains("30 samples", ok.Output);

        // Said explicitly, a header row is skipped even when it looks like data.
        var (_, numericHeader) = Setup(Path.Combine(dir, "n") is var n && Directory.CreateDirectory(n) is not null ? n : n, 30, i => Row(i, i % 3), "1,2,3,4,0");
        var present = CliRunner.Run("eval", model, "--data", numericHeader, "--csv-header", "present", "--json");
        Assert.True(present.ExitCode == 0, present.Error);
        Assert.Contains("\"samples\": 30", present.Output);
    }
}
