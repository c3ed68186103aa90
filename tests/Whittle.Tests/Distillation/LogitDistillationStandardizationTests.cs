using System.Text.Json;
using Whittle.Distillation;
using static TorchSharp.torch;
using static Whittle.Tests.Distillation.DistillationReference;

namespace Whittle.Tests.Distillation;

/// <summary>Logit standardization (Sun et al., CVPR 2024) against PyTorch (tests/fixtures/distillation_reference.py, float64).</summary>
public sealed class LogitDistillationStandardizationTests
{
    public static TheoryData<string, double, double> Cases()
    {
        var data = new TheoryData<string, double, double>();
        foreach (var c in StandardizedCases)
            data.Add(c.GetProperty("set").GetString()!, c.GetProperty("temperature").GetDouble(), c.GetProperty("alpha").GetDouble());
        return data;
    }

    private static JsonElement Case(string set, double temperature, double alpha) =>
        StandardizedCases.Single(c => c.GetProperty("set").GetString() == set
            && c.GetProperty("temperature").GetDouble() == temperature && c.GetProperty("alpha").GetDouble() == alpha);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Standardized_loss_terms_and_gradient_equal_PyTorch(string set, double temperature, double alpha)
    {
        using var scope = NewDisposeScope();
        var expected = Case(set, temperature, alpha);
        var (student, teacher, labels) = LogitSet(set);
        Close(Doubles(expected.GetProperty("standardized_student")), Values(LogitDistillation.Standardize(student)), "Z(student)");

        student.requires_grad_(true);
        var terms = LogitDistillation.StandardizedTerms(student, teacher, labels, temperature, alpha);
        Close(expected.GetProperty("loss").GetDouble(), terms.Loss.item<double>(), "loss");
        Close(expected.GetProperty("soft").GetDouble(), terms.Soft.item<double>(), "soft term");
        terms.Loss.backward();
        Close(Doubles(expected.GetProperty("loss_grad")), Values(student.grad!), "d loss / d student");

        var other = student.detach().clone().requires_grad_(true);
        var loss = LogitDistillation.StandardizedLoss(other, teacher, labels, temperature, alpha);
        Close(expected.GetProperty("loss").GetDouble(), loss.item<double>(), "StandardizedLoss()");
        if (alpha == 1)
        {
            loss.backward();
            Close(Doubles(expected.GetProperty("soft_grad")), Values(other.grad!), "d soft / d student");
        }
    }

    [Fact]
    public void Standardized_soft_term_ignores_the_students_logit_scale_and_shift()
    {
        using var scope = NewDisposeScope();
        var (student, teacher, labels) = LogitSet("b4c5");
        double soft = LogitDistillation.StandardizedTerms(student, teacher, labels, 2, 1).Soft.item<double>();
        // An affine change of the student's logits (positive scale) leaves the standardized logits, and so the soft term, as they are.
        double rescaled = LogitDistillation.StandardizedTerms(student.mul(7.5).add(3), teacher, labels, 2, 1).Soft.item<double>();
        Close(soft, rescaled, "soft term of 7.5·s + 3", relative: 1e-6);
        Assert.True(soft > 0, "the student differs from the teacher, so the divergence is positive");
        // The arg-max survives standardization.
        Assert.Equal(Longs(student.argmax(1)), Longs(LogitDistillation.Standardize(student).argmax(1)));
    }

    [Fact]
    public void Standardize_rejects_a_single_class()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => LogitDistillation.Standardize(ones(4, 1)));
        Assert.Contains("at least two classes", e.Message);
    }

    private static long[] Longs(Tensor t) => t.data<long>().ToArray();
}
