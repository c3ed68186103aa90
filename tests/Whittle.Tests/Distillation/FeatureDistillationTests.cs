using TorchSharp;
using Whittle.Distillation;
using static TorchSharp.torch;
using static Whittle.Tests.Distillation.DistillationReference;

namespace Whittle.Tests.Distillation;

public sealed class FeatureDistillationTests
{
    private static FeatureProjection ReferenceProjection(System.Text.Json.JsonElement c)
    {
        var studentShape = Longs(c.GetProperty("student_shape"));
        var teacherShape = Longs(c.GetProperty("teacher_shape"));
        var projection = new FeatureProjection(studentShape[1..], teacherShape[1..]);
        projection.to(ScalarType.Float64);
        var parameters = projection.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(["projection.bias", "projection.weight"], parameters.Keys.Order());
        using (no_grad())
        {
            var weight = parameters["projection.weight"];
            Assert.Equal(Longs(c.GetProperty("weight_shape")), weight.shape);
            weight.copy_(tensor(Doubles(c.GetProperty("weight")), weight.shape, dtype: ScalarType.Float64));
            parameters["projection.bias"].copy_(tensor(Doubles(c.GetProperty("bias")), dtype: ScalarType.Float64));
        }
        return projection;
    }

    [Theory]
    [InlineData("conv_same_size", false)]
    [InlineData("conv_pooled", true)]
    [InlineData("conv_pooled_uneven", true)]
    [InlineData("linear", false)]
    public void Hint_loss_projection_and_gradients_equal_PyTorch(string name, bool pools)
    {
        using var scope = NewDisposeScope();
        var c = FeatureCase(name);
        using var projection = ReferenceProjection(c);
        Assert.Equal(pools, projection.Pools);
        var student = tensor(Doubles(c.GetProperty("student")), Longs(c.GetProperty("student_shape")), dtype: ScalarType.Float64).requires_grad_(true);
        var teacher = tensor(Doubles(c.GetProperty("teacher")), Longs(c.GetProperty("teacher_shape")), dtype: ScalarType.Float64).requires_grad_(true);

        var projected = projection.forward(student);
        Assert.Equal(teacher.shape, projected.shape);
        Close(Doubles(c.GetProperty("projected")), Values(projected), "projection");

        var loss = FeatureDistillation.Loss(projection, student, teacher);
        Close(c.GetProperty("loss").GetDouble(), loss.item<double>(), "hint loss");
        loss.backward();
        var parameters = projection.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Close(Doubles(c.GetProperty("student_grad")), Values(student.grad!), "d loss / d student");
        Close(Doubles(c.GetProperty("weight_grad")), Values(parameters["projection.weight"].grad!), "d loss / d weight");
        Close(Doubles(c.GetProperty("bias_grad")), Values(parameters["projection.bias"].grad!), "d loss / d bias");
        Assert.Null(teacher.grad); // the teacher is detached
    }

    [Fact]
    public void A_projection_is_a_1x1_convolution_or_a_linear_layer_with_bias()
    {
        using var map = new FeatureProjection([8, 14, 14], [16, 7, 7]);
        Assert.Equal(8 * 16 + 16, map.parameters().Sum(p => p.numel()));
        Assert.True(map.Pools);
        Assert.Equal([8L, 14, 14], map.StudentShape);
        Assert.Equal([16L, 7, 7], map.TeacherShape);
        using var flat = new FeatureProjection(new FeatureLayerPair("s", "t", [32], [64]));
        Assert.Equal(32 * 64 + 64, flat.parameters().Sum(p => p.numel()));
        Assert.False(flat.Pools);

        using var scope = NewDisposeScope();
        Assert.Equal([5L, 16, 7, 7], map.forward(randn(5, 8, 14, 14)).shape);
        Assert.Equal([3L, 64], flat.forward(randn(3, 32)).shape);
        // A smaller student map is spread over the teacher's positions.
        using var up = new FeatureProjection([4, 2, 2], [4, 4, 4]);
        Assert.Equal([1L, 4, 4, 4], up.forward(randn(1, 4, 2, 2)).shape);
    }

    [Fact]
    public void Identical_projected_and_teacher_features_give_zero()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 4, 4);
        Assert.Equal(0f, FeatureDistillation.Loss(x, x.clone()).item<float>());
    }

    [Fact]
    public void Shapes_that_do_not_fit_are_argument_errors()
    {
        using var scope = NewDisposeScope();
        void Fails(Action call, string parameter, string message)
        {
            var e = Assert.Throws<ArgumentException>(call);
            Assert.Equal(parameter, e.ParamName);
            Assert.StartsWith(message, e.Message);
        }

        Fails(() => new FeatureProjection([8, 14], [16, 14]), "studentShape",
            "A feature shape without the batch axis must be [channels] or [channels, height, width] of positive sizes, got [8, 14].");
        Fails(() => new FeatureProjection([8, 14, 14], [0, 14, 14]), "teacherShape",
            "A feature shape without the batch axis must be [channels] or [channels, height, width] of positive sizes, got [0, 14, 14].");
        Fails(() => new FeatureProjection([8, 14, 14], [16]), "teacherShape",
            "A student feature [8, 14, 14] and a teacher feature [16] differ in rank; pair flat features with flat features and maps with maps.");
        Fails(() => new FeatureLayerPair("s", "t", [8], [16, 2, 2]), "teacherShape", "'s' [8] and 't' [16, 2, 2] differ in rank.");

        using var projection = new FeatureProjection([3, 4, 4], [5, 2, 2]);
        Fails(() => projection.forward(randn(2, 4, 4, 4)), "student", "The projection was made for student features [batch, 3, 4, 4], got [2, 4, 4, 4].");
        Fails(() => projection.forward(randn(2, 3, 4)), "student", "The projection was made for student features [batch, 3, 4, 4], got [2, 3, 4].");
        Fails(() => FeatureDistillation.Loss(projection, randn(2, 3, 4, 4), randn(2, 5, 4, 4)), "teacherFeature",
            "The projection was made for teacher features [batch, 5, 2, 2], got [2, 5, 4, 4].");
        Fails(() => FeatureDistillation.Loss(projection, randn(2, 3, 4, 4), randn(3, 5, 2, 2)), "teacherFeature",
            "The student's batch has 2 samples, the teacher's 3.");
        Fails(() => FeatureDistillation.Loss(randn(2, 5), randn(2, 6)), "teacherFeature",
            "The projected student feature has shape [2, 5], the teacher's [2, 6]; they must be equal.");
        Fails(() => FeatureDistillation.Loss(randn(2, 5), zeros(2, 5, dtype: ScalarType.Int64)), "teacherFeature",
            "Features must be floating point, got Float32 (student) and Int64 (teacher).");
    }
}
