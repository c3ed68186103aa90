using Whittle.Distillation;
using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Tests.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Tests.Distillation;

[Collection(TorchCollection.Name)]
public sealed class HintLayersTests
{
    [Fact]
    public void The_hint_loss_is_beta_times_the_mean_relative_mse_of_the_projected_captures()
    {
        using var scope = NewDisposeScope();
        var model = OnnxModel.Load(TestPaths.FixtureModel("pytorch_cnn_opset13.onnx"));
        var pairs = FeatureLayerPairing.ByStage(model, model);
        Assert.True(pairs.Count >= 2, $"{pairs.Count} pairs");
        var hints = new HintLayers(pairs, weight: 0.5);
        using var student = new FeatureInputModule(new OnnxModule(model));
        int before = student.parameters().Count();
        random.manual_seed(3);
        hints.Attach(student);
        // The projections train with the student: their parameters are the module's now.
        Assert.Equal(before + 2 * pairs.Count, student.parameters().Count());
        Assert.Equal(pairs.Select(p => p.StudentValue), student.Model.CapturedValueNames);

        student.train();
        var x = randn(4, 1, 28, 28);
        student.forward(x);
        var captured = student.Model.Captured;
        // Teacher values of a different scale than the student's: the relative loss does not care.
        var teacher = captured.Select((c, i) => c.detach().mul(10.0 * (i + 1)).add(1.0)).ToArray();
        var loss = hints.Loss(teacher);

        double expected = 0;
        for (int i = 0; i < pairs.Count; i++)
        {
            var projected = hints.Projections[i].forward(captured[i]);
            expected += F.mse_loss(projected, teacher[i]).item<float>() / teacher[i].square().mean().item<float>();
        }
        expected *= 0.5 / pairs.Count;
        Assert.Equal(expected, loss.item<float>(), 4);
        loss.backward();
        Assert.All(hints.Projections, p => Assert.Contains(p.parameters(), q => q.grad is { } g && g.abs().sum().item<float>() > 0));
    }

    [Fact]
    public void Hints_refuse_an_empty_pairing_and_a_loss_before_a_student_is_attached()
    {
        Assert.Throws<InvalidOptionException>(() => new HintLayers([], 1));
        var model = OnnxModel.Load(TestPaths.FixtureModel("pytorch_cnn_opset13.onnx"));
        var hints = new HintLayers(FeatureLayerPairing.ByStage(model, model), 1);
        Assert.Throws<InvalidOperationException>(() => hints.Loss([]));
    }
}
