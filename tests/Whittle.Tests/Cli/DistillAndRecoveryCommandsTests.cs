using System.Text.Json;
using Whittle.Onnx;
using Whittle.Quantization;

namespace Whittle.Tests.Cli;

/// <summary>
/// <c>whittle distill</c> and the recovery options of <c>prune</c>, on a deploy-form (BatchNorm-folded)
/// copy of the trained Fashion-MNIST fixture and the bundled Fashion-MNIST subset.
/// </summary>
[Collection(Whittle.Tests.Training.TorchCollection.Name)]
public sealed class DistillAndRecoveryCommandsTests
{
    private static readonly string[] Data = ["--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530", "--threads", "1"];

    private static JsonElement Json(CliRunner.Result r)
    {
        Assert.True(r.ExitCode == 0, r.Error + r.Output);
        return JsonDocument.Parse(r.Output).RootElement;
    }

    /// <summary>The trained Fashion-MNIST fixture (86.2 % on the bundled data) with its BatchNorms folded, as torch.onnx.export writes it by default.</summary>
    private static string FoldedTeacher(string dir)
    {
        var path = Path.Combine(dir, "teacher.onnx");
        GraphPreparation.FoldBatchNorms(OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx"))).Model.Save(path);
        return path;
    }

    [Fact]
    public void DistillTrainsAStudentFromATeacherAndReportsTheTeacherAndAlpha()
    {
        var dir = TestPaths.TempDir();
        var teacher = FoldedTeacher(dir);
        var student = Path.Combine(dir, "student.onnx");
        Assert.Equal(0, CliRunner.Run("zoo", "create", "mlp", "--width", "0.25", "-o", student).ExitCode);
        var output = Path.Combine(dir, "distilled.onnx");
        var before = File.ReadAllBytes(student);
        var r = Json(CliRunner.Run(["distill", student, "--teacher", teacher, .. Data, "--limit", "1000", "--epochs", "2", "--alpha-policy", "fixed", "--alpha", "0.7",
            "-T", "2", "-o", output, "--json"]));
        Assert.Equal(before, File.ReadAllBytes(student)); // the input is not touched
        Assert.True(File.Exists(output));
        Assert.Equal(2.0, r.GetProperty("temperature").GetDouble());
        Assert.Equal(new[] { 0.7, 0.7 }, r.GetProperty("alphaByEpoch").EnumerateArray().Select(a => a.GetDouble()));
        Assert.InRange(r.GetProperty("teacherValidationAccuracy").GetDouble(), 0.5, 1.0);
        var run = r.GetProperty("training").GetProperty("runs")[0];
        Assert.Equal(2, run.GetProperty("epochs").GetInt32());
        Assert.InRange(run.GetProperty("testAccuracy").GetDouble(), 0.15, 1.0); // above chance (0.1) after 2 short epochs
        // The written student is the student's graph, evaluated the same way.
        var eval = Json(CliRunner.Run(["eval", output, .. Data[..4], "--json"]));
        Assert.Equal(run.GetProperty("testAccuracy").GetDouble(), eval.GetProperty("accuracy").GetDouble(), 9);
    }

    [Fact]
    public void HintLayersPairTheStagesTrainProjectionsAndLeaveThemOutOfTheWrittenStudent()
    {
        var dir = TestPaths.TempDir();
        var teacher = FoldedTeacher(dir);
        var student = Path.Combine(dir, "student.onnx");
        Assert.Equal(0, CliRunner.Run("zoo", "create", "convnet", "--width", "0.25", "-o", student).ExitCode);
        var output = Path.Combine(dir, "distilled.onnx");
        var r = Json(CliRunner.Run(["distill", student, "--teacher", teacher, .. Data, "--limit", "600", "--epochs", "1", "--feature-layers", "auto",
            "--feature-weight", "0.5", "-o", output, "--json"]));
        var hints = r.GetProperty("notes").EnumerateArray().Select(n => n.GetString()!).Single(n => n.StartsWith("hint layers", StringComparison.Ordinal));
        Assert.Contains("β 0.5", hints);
        Assert.Contains("->", hints);
        // The projections trained with the student are not in it: the same operators as the student.
        Assert.Equal(OnnxModel.Load(student).Graph.OpHistogram(), OnnxModel.Load(output).Graph.OpHistogram());
        Assert.InRange(r.GetProperty("training").GetProperty("runs")[0].GetProperty("testAccuracy").GetDouble(), 0.15, 1.0);
    }

    [Fact]
    public void HintLayerPairsNamingUnknownValuesAreRefusedBeforeTraining()
    {
        var dir = TestPaths.TempDir();
        var teacher = FoldedTeacher(dir);
        var student = Path.Combine(dir, "student.onnx");
        Assert.Equal(0, CliRunner.Run("zoo", "create", "convnet", "--width", "0.25", "-o", student).ExitCode);
        var r = CliRunner.Run(["distill", student, "--teacher", teacher, .. Data, "--limit", "600", "--epochs", "1", "--feature-layers", "nosuch=alsonot",
            "-o", Path.Combine(dir, "out.onnx")]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("nosuch", r.Error + r.Output);
        Assert.False(File.Exists(Path.Combine(dir, "out.onnx")));
    }

    [Fact]
    public void EarlyStopPolicyHandsTheLastEpochsToTheLabelsAndSaysSo()
    {
        var dir = TestPaths.TempDir();
        var teacher = FoldedTeacher(dir);
        var student = Path.Combine(dir, "student.onnx");
        Assert.Equal(0, CliRunner.Run("zoo", "create", "mlp", "--width", "0.25", "-o", student).ExitCode);
        var r = Json(CliRunner.Run(["distill", student, "--teacher", teacher, .. Data, "--limit", "400", "--epochs", "3", "--alpha-policy", "earlystop",
            "--distill-fraction", "0.34", "-o", Path.Combine(dir, "d.onnx"), "--json"]));
        Assert.Equal(new[] { 0.5, 0.0, 0.0 }, r.GetProperty("alphaByEpoch").EnumerateArray().Select(a => a.GetDouble()));
        Assert.Contains(r.GetProperty("notes").EnumerateArray(), n => n.GetString()!.Contains("labels only"));
    }

    [Fact]
    public void StandardizedLogitsAreTheDefaultAndCalibrateTheWrittenOutputScale()
    {
        var dir = TestPaths.TempDir();
        var teacher = FoldedTeacher(dir);
        var student = Path.Combine(dir, "student.onnx");
        Assert.Equal(0, CliRunner.Run("zoo", "create", "mlp", "--width", "0.25", "-o", student).ExitCode);
        var output = Path.Combine(dir, "d.onnx");
        var r = Json(CliRunner.Run(["distill", student, "--teacher", teacher, .. Data, "--limit", "600", "--epochs", "1", "-o", output, "--json"]));
        Assert.True(r.GetProperty("standardizedLogits").GetBoolean());
        Assert.InRange(r.GetProperty("outputScale").GetDouble(), 1e-3, TemperatureScalingMax);
        var note = r.GetProperty("notes").EnumerateArray().Select(n => n.GetString()!).Single(n => n.Contains("temperature scaling", StringComparison.Ordinal));
        Assert.Contains("folded into Gemm", note);
        // The factor went into the last Gemm: the same operators as the student, and the same accuracy as eval measures.
        Assert.Equal(OnnxModel.Load(student).Graph.OpHistogram(), OnnxModel.Load(output).Graph.OpHistogram());
        var eval = Json(CliRunner.Run(["eval", output, .. Data[..4], "--json"]));
        Assert.Equal(r.GetProperty("training").GetProperty("runs")[0].GetProperty("testAccuracy").GetDouble(), eval.GetProperty("accuracy").GetDouble(), 9);

        var raw = Json(CliRunner.Run(["distill", student, "--teacher", teacher, .. Data, "--limit", "600", "--epochs", "1",
            "--standardize-logits", "false", "-o", Path.Combine(dir, "raw.onnx"), "--json"]));
        Assert.False(raw.GetProperty("standardizedLogits").GetBoolean());
        Assert.Equal(0.5, raw.GetProperty("alpha").GetDouble());
        Assert.Equal(JsonValueKind.Null, raw.GetProperty("outputScale").ValueKind);
    }

    private const double TemperatureScalingMax = Whittle.Training.TemperatureScaling.MaxScale;

    [Fact]
    public void ATeacherThatDoesNotFitIsRefusedUpFrontWithEveryMismatch()
    {
        var dir = TestPaths.TempDir();
        var student = Path.Combine(dir, "student.onnx");
        Assert.Equal(0, CliRunner.Run("zoo", "create", "mlp", "--width", "0.25", "-o", student).ExitCode);
        // A 4-class teacher for 10-class data.
        var teacher = Path.Combine(dir, "teacher4.onnx");
        Assert.Equal(0, CliRunner.Run("zoo", "create", "mlp", "--width", "0.25", "--classes", "4", "-o", teacher).ExitCode);
        var output = Path.Combine(dir, "d.onnx");
        var r = CliRunner.Run(["distill", student, "--teacher", teacher, .. Data, "--limit", "200", "--epochs", "1", "-o", output]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("scores 4 classes, the data has 10", r.Error);
        Assert.False(File.Exists(output));
        Assert.Contains("does not exist", CliRunner.Run(["distill", student, "--teacher", Path.Combine(dir, "missing.onnx"), .. Data, "-o", output]).Error);
    }

    [Fact]
    public void PruningADeployFormModelTrainsWithReinsertedBatchNormsAndWritesTheSameOperators()
    {
        var dir = TestPaths.TempDir();
        var teacher = FoldedTeacher(dir);
        var pruned = Path.Combine(dir, "pruned.onnx");
        var r = Json(CliRunner.Run(["prune", teacher, .. Data, "--limit", "600", "--sparsity", "0.8", "--global", "--schedule", "agp", "--finetune-epochs", "1",
            "-o", pruned, "--json"]));
        Assert.Equal(OnnxModel.Load(teacher).Graph.OpHistogram(), OnnxModel.Load(pruned).Graph.OpHistogram());
        Assert.Equal(1, r.GetProperty("fineTuning").GetArrayLength());
        // LAMP (the default global ranking) leaves no layer empty.
        Assert.All(r.GetProperty("layers").EnumerateArray(), l => Assert.True(l.GetProperty("zeros").GetInt64() < l.GetProperty("weights").GetInt64()));
        // The same with the teacher off and without re-insertion also works, and other flags are refused clearly.
        Json(CliRunner.Run(["prune", teacher, .. Data, "--limit", "300", "--sparsity", "0.5", "--finetune-epochs", "1", "--teacher", "none", "--no-reinsert-bn",
            "-o", Path.Combine(dir, "p2.onnx"), "--json"]));
        var bad = CliRunner.Run(["prune", teacher, .. Data, "--sparsity", "0.5", "--finetune-epochs", "1", "--alpha", "1.5", "-o", Path.Combine(dir, "p3.onnx")]);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--alpha", bad.Error);
    }
}
