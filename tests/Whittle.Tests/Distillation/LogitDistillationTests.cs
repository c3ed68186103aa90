using System.Text.Json;
using Whittle.Distillation;
using Whittle.Tests.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Tests.Distillation;

/// <summary>Exact values of the distillation loss against PyTorch (tests/fixtures/distillation_reference.py), in float64.</summary>
[Collection(TorchCollection.Name)]
public class LogitDistillationTests
{
    private static readonly JsonElement Reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixtures, "distillation_reference.json"))).RootElement;

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();

    private static Tensor Logits(string name) => tensor(Doubles(Reference.GetProperty(name)), [4, 5], ScalarType.Float64);

    private static Tensor Labels() => tensor(Reference.GetProperty("labels").EnumerateArray().Select(x => x.GetInt64()).ToArray());

    public static TheoryData<int> Cases() => new(Enumerable.Range(0, Reference.GetProperty("cases").GetArrayLength()));

    [Theory]
    [MemberData(nameof(Cases))]
    public void LossTermsAndGradientMatchPyTorch(int index)
    {
        var c = Reference.GetProperty("cases")[index];
        double t = c.GetProperty("temperature").GetDouble(), alpha = c.GetProperty("alpha").GetDouble();
        using var scope = NewDisposeScope();
        var student = Logits("student").requires_grad_(true);
        var teacher = Logits("teacher");
        Assert.Equal(c.GetProperty("soft").GetDouble(), LogitDistillation.SoftTerm(student, teacher, t).item<double>(), 1e-9);
        Assert.Equal(c.GetProperty("hard").GetDouble(), LogitDistillation.HardTerm(student, Labels()).item<double>(), 1e-9);
        var loss = LogitDistillation.Loss(student, teacher, Labels(), t, alpha);
        Assert.Equal(c.GetProperty("loss").GetDouble(), loss.item<double>(), 1e-9);
        loss.backward();
        var expected = Doubles(c.GetProperty("gradient"));
        var actual = student.grad!.data<double>().ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-9);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PerSampleWeightedLossMatchesPyTorch(int index)
    {
        var c = Reference.GetProperty("cases")[index];
        double t = c.GetProperty("temperature").GetDouble(), alpha = c.GetProperty("alpha").GetDouble();
        using var scope = NewDisposeScope();
        var student = Logits("student").requires_grad_(true);
        var weights = tensor(Doubles(Reference.GetProperty("weights")), ScalarType.Float64);
        var loss = LogitDistillation.WeightedLoss(student, Logits("teacher"), Labels(), weights, t, alpha);
        Assert.Equal(c.GetProperty("weighted_loss").GetDouble(), loss.item<double>(), 1e-9);
        loss.backward();
        var expected = Doubles(c.GetProperty("weighted_gradient"));
        var actual = student.grad!.data<double>().ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-9);
    }

    [Fact]
    public void AlphaZeroIsCrossEntropyAndAStudentEqualToItsTeacherHasNoSoftLoss()
    {
        using var scope = NewDisposeScope();
        var s = Logits("student");
        Assert.Equal(F.cross_entropy(s, Labels()).item<double>(), LogitDistillation.Loss(s, Logits("teacher"), Labels(), 1, 0).item<double>(), 12);
        Assert.Equal(0, LogitDistillation.SoftTerm(s, s.clone(), 4).item<double>(), 12);
        // The teacher gets no gradient.
        var teacher = Logits("teacher").requires_grad_(true);
        LogitDistillation.Loss(s.requires_grad_(true), teacher, Labels(), 2, 0.5).backward();
        Assert.True(teacher.grad is null || teacher.grad.abs().sum().item<double>() == 0);
    }

    [Fact]
    public void BadArgumentsAreRefusedWithTheReason()
    {
        using var scope = NewDisposeScope();
        var s = Logits("student");
        Assert.Contains("temperature", Assert.Throws<InvalidOptionException>(() => LogitDistillation.Loss(s, s, Labels(), 0, 0.5)).Message);
        Assert.Contains("alpha", Assert.Throws<InvalidOptionException>(() => LogitDistillation.Loss(s, s, Labels(), 1, 1.5)).Message);
        Assert.Contains("do not match", Assert.Throws<ArgumentException>(() => LogitDistillation.SoftTerm(s, zeros(4, 3, ScalarType.Float64), 1)).Message);
        Assert.Contains("labels", Assert.Throws<ArgumentException>(() => LogitDistillation.HardTerm(s, tensor(new long[] { 0, 1 }))).Message);
        Assert.Contains("[0, 1]", Assert.Throws<ArgumentException>(() =>
            LogitDistillation.WeightedLoss(s, s, Labels(), tensor(new double[] { 1, 2, 0, 0 }), 1, 0.5)).Message);
    }
}
