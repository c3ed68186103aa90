using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Training;
using Whittle.Zoo;

namespace Whittle.Tests.Training;

public sealed class TemperatureScalingTests
{
    [Fact]
    public void Fit_finds_the_closed_form_minimum()
    {
        // Four rows with logits (1, 0), three labelled 0 and one 1: the NLL is
        // [3·log(1 + e^-c) + log(1 + e^c)] / 4, minimal where sigmoid(c) = 3/4, i.e. c = ln 3.
        float[] logits = [1, 0, 1, 0, 1, 0, 1, 0];
        int[] labels = [0, 0, 0, 1];
        Assert.Equal(Math.Log(3), TemperatureScaling.Fit(logits, 2, labels), 10);
        // And log(1 + e^-c) at c = 1: the value of the NLL is the formula's.
        double expected = (3 * Math.Log(1 + Math.Exp(-1.0)) + Math.Log(1 + Math.E)) / 4;
        Assert.Equal(expected, TemperatureScaling.MeanNll(logits, 2, labels, 1), 12);
    }

    [Fact]
    public void Fit_is_the_minimum_of_a_fine_grid_and_shrinks_overconfident_logits()
    {
        var random = new Random(5);
        int rows = 400, classes = 5;
        var logits = new float[rows * classes];
        var labels = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            labels[i] = random.Next(classes);
            // The right class leads by 2 on average, with noise; scaled by 6 the logits are far too confident.
            int predicted = random.NextDouble() < 0.7 ? labels[i] : random.Next(classes);
            for (int c = 0; c < classes; c++) logits[i * classes + c] = (float)(6 * ((c == predicted ? 2 : 0) + random.NextDouble() - 0.5));
        }
        double fitted = TemperatureScaling.Fit(logits, classes, labels);
        double best = double.PositiveInfinity, argBest = 0;
        for (double c = 0.001; c < 3; c += 0.001)
        {
            double nll = TemperatureScaling.MeanNll(logits, classes, labels, c);
            if (nll < best) (best, argBest) = (nll, c);
        }
        Assert.InRange(fitted, argBest - 0.001, argBest + 0.001);
        Assert.True(fitted < 1, $"overconfident logits get a factor below 1, got {fitted}");
        Assert.True(TemperatureScaling.MeanNll(logits, classes, labels, fitted) <= best + 1e-9);
    }

    [Fact]
    public void Separable_logits_get_a_large_bounded_factor()
    {
        // Every row right: the NLL falls towards 0 as c grows; the fit stops where its slope is below 1e-12 (or at MaxScale).
        float[] logits = [1, 0, 0, 1];
        double c = TemperatureScaling.Fit(logits, 2, [0, 1]);
        Assert.InRange(c, 27, TemperatureScaling.MaxScale);
        Assert.True(TemperatureScaling.MeanNll(logits, 2, [0, 1], c) < 1e-12);
    }

    [Fact]
    public void Bad_sizes_and_labels_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => TemperatureScaling.Fit([1, 0, 1], 2, [0, 1]));
        Assert.Throws<ArgumentException>(() => TemperatureScaling.Fit([1, 0], 2, [2]));
        Assert.Throws<ArgumentException>(() => TemperatureScaling.Fit([1], 1, [0]));
    }

    [Fact]
    public void A_final_Gemm_takes_the_factor_into_its_weights_and_the_outputs_scale()
    {
        var source = ModelZoo.Create("mlp");
        var before = source.ToBytes();
        var (scaled, how) = TemperatureScaling.Apply(source, 0.25);
        Assert.Equal(before, source.ToBytes());
        Assert.StartsWith("folded into Gemm", how);
        Assert.Equal(source.Graph.OpHistogram(), scaled.Graph.OpHistogram());
        AssertOutputsScaled(source, scaled, 0.25);
    }

    [Fact]
    public void A_MatMul_and_bias_take_the_factor_and_any_other_output_gets_a_Mul()
    {
        static OnnxModel Build(bool relu)
        {
            var model = OnnxModel.Create("head", 17);
            model.Graph.AddInput(TestGraphs.Float("x", 3, 4));
            model.Graph.AddInitializer(OnnxTensor.FromFloats("w", [4, 3], [0.5f, -1, 2, 0.1f, 0.3f, -0.7f, 1.5f, 0, 0.2f, -0.4f, 0.9f, 1.1f]));
            model.Graph.AddInitializer(OnnxTensor.FromFloats("b", [3], [0.1f, -0.2f, 0.3f]));
            model.Graph.AddNode(new OnnxNode("MatMul", ["x", "w"], ["m"], "mm"));
            model.Graph.AddNode(new OnnxNode("Add", ["m", "b"], [relu ? "a" : "y"], "bias"));
            if (relu) model.Graph.AddNode(new OnnxNode("Relu", ["a"], ["y"], "relu"));
            model.Graph.AddOutput(new OnnxValueInfo("y", OnnxDataType.Float, null));
            return model;
        }
        var (matmul, how) = TemperatureScaling.Apply(Build(false), 3);
        Assert.StartsWith("folded into MatMul", how);
        Assert.False(matmul.Graph.OpHistogram().ContainsKey("Mul"));
        AssertOutputsScaled(Build(false), matmul, 3);

        var (relu, appended) = TemperatureScaling.Apply(Build(true), 3);
        Assert.StartsWith("a Mul", appended);
        Assert.Equal(1, relu.Graph.OpHistogram()["Mul"]);
        Assert.Equal("y", relu.Graph.Outputs[0].Name);
        AssertOutputsScaled(Build(true), relu, 3);
    }

    private static void AssertOutputsScaled(OnnxModel source, OnnxModel scaled, double factor)
    {
        Dictionary<string, RuntimeTensor> inputs;
        float[] expected, actual;
        using (var s = new OnnxRuntimeSession(source))
        {
            inputs = new(s.SampleInputs(s.Inputs[0].FixedBatchSize ?? 3, seed: 1));
            expected = s.Run(inputs).Values.First().AsFloats();
        }
        using (var s = new OnnxRuntimeSession(scaled)) actual = s.Run(inputs).Values.First().AsFloats();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] * factor - actual[i]) <= 1e-5 * (1 + Math.Abs(expected[i] * factor)), $"[{i}]: {expected[i]} × {factor} vs {actual[i]}");
    }
}
