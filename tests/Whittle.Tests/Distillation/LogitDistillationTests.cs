using System.Text.Json;
using Whittle.Distillation;
using Whittle.Training;
using static TorchSharp.torch;
using static Whittle.Tests.Distillation.DistillationReference;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Tests.Distillation;

public sealed class LogitDistillationTests
{
    public static TheoryData<string, double, double> ReferenceCases()
    {
        var data = new TheoryData<string, double, double>();
        foreach (var c in LogitCases)
            data.Add(c.GetProperty("set").GetString()!, c.GetProperty("temperature").GetDouble(), c.GetProperty("alpha").GetDouble());
        return data;
    }

    private static JsonElement Case(string set, double temperature, double alpha) =>
        LogitCases.Single(c => c.GetProperty("set").GetString() == set
            && c.GetProperty("temperature").GetDouble() == temperature && c.GetProperty("alpha").GetDouble() == alpha);

    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public void Loss_terms_and_student_gradient_equal_PyTorch(string set, double temperature, double alpha)
    {
        using var scope = NewDisposeScope();
        var expected = Case(set, temperature, alpha);
        var (student, teacher, labels) = LogitSet(set);
        student.requires_grad_(true);

        var terms = LogitDistillation.Terms(student, teacher, labels, temperature, alpha);
        Close(expected.GetProperty("loss").GetDouble(), terms.Loss.item<double>(), "loss");
        Close(expected.GetProperty("soft").GetDouble(), terms.Soft.item<double>(), "soft term");
        Close(expected.GetProperty("hard").GetDouble(), terms.Hard.item<double>(), "hard term");
        Close(Doubles(expected.GetProperty("per_sample_kl")), Values(LogitDistillation.PerSampleDivergence(student, teacher, temperature)), "per-sample KL");

        terms.Loss.backward();
        Close(Doubles(expected.GetProperty("loss_grad")), Values(student.grad!), "d loss / d student");

        // The one-tensor overload is the same computation.
        Close(expected.GetProperty("loss").GetDouble(), LogitDistillation.Loss(student, teacher, labels, temperature, alpha).item<double>(), "Loss()");
    }

    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public void Weighted_soft_term_and_its_gradient_equal_PyTorch(string set, double temperature, double alpha)
    {
        using var scope = NewDisposeScope();
        var expected = Case(set, temperature, alpha);
        var (student, teacher, labels) = LogitSet(set);
        var weights = SoftWeights(set);

        student.requires_grad_(true);
        var loss = LogitDistillation.Loss(student, teacher, labels, weights, temperature, alpha);
        Close(expected.GetProperty("weighted_loss").GetDouble(), loss.item<double>(), "weighted loss");
        loss.backward();
        Close(Doubles(expected.GetProperty("weighted_loss_grad")), Values(student.grad!), "d weighted loss / d student");

        var other = student.detach().clone().requires_grad_(true);
        var soft = LogitDistillation.SoftTerm(other, teacher, weights, temperature);
        Close(expected.GetProperty("weighted_soft").GetDouble(), soft.item<double>(), "weighted soft term");
        soft.backward();
        Close(Doubles(expected.GetProperty("weighted_soft_grad")), Values(other.grad!), "d weighted soft / d student");

        var unweighted = student.detach().clone().requires_grad_(true);
        var plainSoft = LogitDistillation.SoftTerm(unweighted, teacher, temperature);
        plainSoft.backward();
        Close(Doubles(expected.GetProperty("soft_grad")), Values(unweighted.grad!), "d soft / d student");

        var terms = LogitDistillation.Terms(student.detach(), teacher, labels, weights, temperature, alpha);
        Close(expected.GetProperty("weighted_soft").GetDouble(), terms.Soft.item<double>(), "Terms().Soft with weights");
        Close(expected.GetProperty("hard").GetDouble(), terms.Hard.item<double>(), "Terms().Hard with weights");
    }

    [Fact]
    public void Float32_logits_match_PyTorch_to_single_precision()
    {
        using var scope = NewDisposeScope();
        foreach (var expected in LogitCases)
        {
            var (student, teacher, labels) = LogitSet(expected.GetProperty("set").GetString()!, ScalarType.Float32);
            student.requires_grad_(true);
            var loss = LogitDistillation.Loss(student, teacher, labels, expected.GetProperty("temperature").GetDouble(), expected.GetProperty("alpha").GetDouble());
            Assert.Equal(ScalarType.Float32, loss.dtype);
            Close(expected.GetProperty("loss").GetDouble(), loss.item<float>(), "float32 loss", relative: 1e-5);
            loss.backward();
            Close(Doubles(expected.GetProperty("loss_grad")), Values(student.grad!), "float32 gradient", relative: 1e-5);
        }
    }

    [Fact]
    public void At_temperature_1_and_alpha_0_it_is_plain_cross_entropy()
    {
        using var scope = NewDisposeScope();
        foreach (var set in new[] { "b4c3", "b4c5" })
        {
            var (student, teacher, labels) = LogitSet(set);
            double kd = LogitDistillation.Loss(student, teacher, labels, temperature: 1, alpha: 0).item<double>();
            Assert.Equal(F.cross_entropy(student, labels).item<double>(), kd);
            Assert.Equal(new CrossEntropy().Compute(student, student, labels).item<double>(), kd);
            Assert.Equal(LogitDistillation.HardTerm(student, labels).item<double>(), kd);
        }
    }

    [Fact]
    public void Alpha_1_is_the_soft_term_alone()
    {
        using var scope = NewDisposeScope();
        var (student, teacher, labels) = LogitSet("b4c5");
        var terms = LogitDistillation.Terms(student, teacher, labels, temperature: 4, alpha: 1);
        Assert.Equal(terms.Soft.item<double>(), terms.Loss.item<double>());
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.0)]
    [InlineData(8.0)]
    public void Identical_student_and_teacher_give_a_zero_soft_term_and_gradient(double temperature)
    {
        using var scope = NewDisposeScope();
        var (student, _, _) = LogitSet("b4c5");
        student.requires_grad_(true);
        var soft = LogitDistillation.SoftTerm(student, student.detach().clone(), temperature);
        Assert.Equal(0, soft.item<double>(), 14);
        soft.backward();
        Assert.All(Values(student.grad!), g => Assert.Equal(0, g, 14));
        Assert.All(Values(LogitDistillation.PerSampleDivergence(student, student, temperature)), kl => Assert.Equal(0, kl, 14));
    }

    [Fact]
    public void All_ones_weights_give_the_unweighted_soft_term()
    {
        using var scope = NewDisposeScope();
        var (student, teacher, _) = LogitSet("b4c3");
        Assert.Equal(LogitDistillation.SoftTerm(student, teacher, 2).item<double>(),
            LogitDistillation.SoftTerm(student, teacher, ones(4, dtype: ScalarType.Float64), 2).item<double>(), 15);
        Assert.Equal(0, LogitDistillation.SoftTerm(student, teacher, zeros(4, dtype: ScalarType.Float32), 2).item<double>());
    }

    [Fact]
    public void No_gradient_reaches_the_teacher()
    {
        using var scope = NewDisposeScope();
        var (student, teacher, labels) = LogitSet("b4c3");
        student.requires_grad_(true);
        teacher.requires_grad_(true);
        LogitDistillation.Loss(student, teacher, labels, 2, 0.5).backward();
        Assert.Null(teacher.grad);
        Assert.NotNull(student.grad);
    }

    [Theory]
    [InlineData(0.0, "Temperature must be positive and finite, got 0")]
    [InlineData(-2.0, "Temperature must be positive and finite, got -2")]
    [InlineData(double.NaN, "Temperature must be positive and finite, got NaN")]
    [InlineData(double.PositiveInfinity, "Temperature must be positive and finite, got Infinity")]
    public void A_bad_temperature_is_an_option_error(double temperature, string message)
    {
        using var scope = NewDisposeScope();
        var (student, teacher, labels) = LogitSet("b4c3");
        foreach (var call in new Action[]
        {
            () => LogitDistillation.Loss(student, teacher, labels, temperature, 0.5),
            () => LogitDistillation.SoftTerm(student, teacher, temperature),
            () => LogitDistillation.SoftTerm(student, teacher, SoftWeights("b4c3"), temperature),
            () => LogitDistillation.PerSampleDivergence(student, teacher, temperature),
        })
        {
            var e = Assert.Throws<InvalidOptionException>(call);
            Assert.Equal("Temperature", e.Option);
            Assert.Equal(message, e.Message);
        }
    }

    [Theory]
    [InlineData(-0.1, "Alpha must be in [0, 1], got -0.1")]
    [InlineData(1.5, "Alpha must be in [0, 1], got 1.5")]
    [InlineData(double.NaN, "Alpha must be in [0, 1], got NaN")]
    public void A_bad_alpha_is_an_option_error(double alpha, string message)
    {
        using var scope = NewDisposeScope();
        var (student, teacher, labels) = LogitSet("b4c3");
        var e = Assert.Throws<InvalidOptionException>(() => LogitDistillation.Loss(student, teacher, labels, 2, alpha));
        Assert.Equal("Alpha", e.Option);
        Assert.Equal(message, e.Message);
        Assert.Equal(message, Assert.Throws<InvalidOptionException>(() => LogitDistillation.Terms(student, teacher, labels, SoftWeights("b4c3"), 2, alpha)).Message);
    }

    [Fact]
    public void Shapes_dtypes_labels_and_weights_that_do_not_fit_are_argument_errors()
    {
        using var scope = NewDisposeScope();
        var (student, teacher, labels) = LogitSet("b4c3");
        var (wide, _, _) = LogitSet("b4c5");

        void Fails(Action call, string parameter, string start)
        {
            var e = Assert.Throws<ArgumentException>(call);
            Assert.Equal(parameter, e.ParamName);
            Assert.StartsWith(start, e.Message);
        }

        Fails(() => LogitDistillation.Loss(student, wide, labels, 2, 0.5), "teacherLogits",
            "The teacher's logits have shape [4, 5], the student's [4, 3]; distillation needs the same [batch, classes].");
        Fails(() => LogitDistillation.Loss(student.reshape(12), teacher.reshape(12), labels, 2, 0.5), "studentLogits",
            "Distillation expects the student's logits as [batch, classes], got [12].");
        Fails(() => LogitDistillation.Loss(student.to(ScalarType.Int64), teacher, labels, 2, 0.5), "studentLogits",
            "The student's logits must be floating point, got Int64.");
        Fails(() => LogitDistillation.Loss(student, teacher, labels[..3], 2, 0.5), "labels",
            "Labels must be int64 [4] (one class per sample), got Int64 [3].");
        Fails(() => LogitDistillation.Loss(student, teacher, labels.to(ScalarType.Int32), 2, 0.5), "labels",
            "Labels must be int64 [4] (one class per sample), got Int32 [4].");
        Fails(() => LogitDistillation.HardTerm(student, tensor(new long[] { 0, 3, 1, 2 })), "labels",
            "Labels must be in [0, 3) for 3 classes, got 3.");
        Fails(() => LogitDistillation.HardTerm(student, tensor(new long[] { 0, -1, 1, 2 })), "labels",
            "Labels must be in [0, 3) for 3 classes, got -1.");
        Fails(() => LogitDistillation.SoftTerm(student, teacher, ones(3, dtype: ScalarType.Float64), 2), "softWeights",
            "Soft weights must be floating point [4] (one per sample), got Float64 [3].");
        Fails(() => LogitDistillation.SoftTerm(student, teacher, tensor(new[] { 1.0, 0, 1.5, 1 }), 2), "softWeights",
            "Soft weights must be in [0, 1] (and not NaN).");
        Fails(() => LogitDistillation.Loss(student, teacher, labels, tensor(new[] { 1.0, -0.1, 1, 1 }), 2, 0.5), "softWeights",
            "Soft weights must be in [0, 1] (and not NaN).");
        Fails(() => LogitDistillation.SoftTerm(student, teacher, tensor(new[] { 1.0, double.NaN, 1, 1 }), 2), "softWeights",
            "Soft weights must be in [0, 1] (and not NaN).");
        Assert.Throws<ArgumentNullException>(() => LogitDistillation.Loss(student, null!, labels, 2, 0.5));
    }

    [Fact]
    public void Intermediate_tensors_are_released_as_soon_as_the_loss_is_made()
    {
        // Only the handles a call returns stay alive; the rest is disposed inside the call, so a
        // training loop holds no more per step than its own results even before its scope ends.
        var (student, teacher, labels) = LogitSet("b4c5");
        student.requires_grad_(true);
        using var weights = SoftWeights("b4c5");
        using var scope = NewDisposeScope();
        long Live() => TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        long before = Live();
        var loss = LogitDistillation.Loss(student, teacher, labels, weights, 4, 0.9);
        Assert.Equal(before + 1, Live());
        var terms = LogitDistillation.Terms(student, teacher, labels, 4, 0.9);
        Assert.Equal(before + 4, Live());
        terms.Dispose();
        loss.Dispose();
        Assert.Equal(before, Live());
        var hard = LogitDistillation.HardTerm(student, labels);
        var divergence = LogitDistillation.PerSampleDivergence(student, teacher, 2);
        Assert.Equal(before + 2, Live());
    }

    [Fact]
    public void A_distillation_loss_is_validated_on_the_labels_alone()
    {
        using var scope = NewDisposeScope();
        using var teacher = new Teacher(Whittle.Onnx.OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx")));
        var loss = new DistillationLoss(teacher, 4, 0.9);
        var logits = tensor(new float[] { 2f, 0.5f, -1f, 0.1f, 0.2f, 0.3f }, [2, 3]);
        var labels = tensor(new long[] { 0, 2 });
        Assert.IsType<CrossEntropy>(loss.ValidationLoss);
        Assert.Equal(F.cross_entropy(logits, labels).item<float>(), loss.ValidationLoss.Compute(zeros(2, 1, 28, 28), logits, labels).item<float>(), 6);
    }
}
