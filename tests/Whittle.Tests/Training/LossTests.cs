using TorchSharp;
using Whittle.Training;
using static TorchSharp.torch;

namespace Whittle.Tests.Training;

[Collection(TorchCollection.Name)]
public sealed class LossTests
{
    private static readonly double[] Logits = [2.0, 0.5, -1.0, 0.1, 0.2, 0.3];

    private static double Value(TrainingLoss loss, double[] outputs, long[] shape, long[] labels)
    {
        using var scope = NewDisposeScope();
        var output = tensor(outputs, shape, dtype: ScalarType.Float64);
        var target = tensor(labels);
        return loss.Compute(output, output, target).ToDouble();
    }

    /// <summary>
    /// PyTorch's label-smoothed cross-entropy is (1 − ε)·NLL(target) + ε·mean over classes of
    /// −log p; F.cross_entropy(logits, [0, 2], label_smoothing=0.1) in PyTorch 1.13.1 prints
    /// 0.7016270724432006.
    /// </summary>
    [Fact]
    public void Label_smoothing_equals_the_PyTorch_formula_on_a_hand_example()
    {
        double byFormula = 0;
        long[] labels = [0, 2];
        for (int row = 0; row < 2; row++)
        {
            double[] z = Logits[(row * 3)..(row * 3 + 3)];
            double logSumExp = Math.Log(z.Sum(Math.Exp));
            double[] negLogP = z.Select(v => logSumExp - v).ToArray();
            byFormula += (1 - 0.1) * negLogP[labels[row]] + 0.1 * negLogP.Average();
        }
        byFormula /= 2;

        double value = Value(new CrossEntropy(labelSmoothing: 0.1), Logits, [2, 3], labels);

        Assert.Equal(0.7016270724432006, byFormula, 14);
        Assert.Equal(0.7016270724432006, value, 14);
    }

    [Fact]
    public void Class_weights_and_smoothing_match_PyTorch()
    {
        // F.cross_entropy(logits, [0, 2], weight=[1, 2, 0.5], label_smoothing=0.1) in PyTorch 1.13.1.
        double value = Value(new CrossEntropy(labelSmoothing: 0.1, classWeights: [1f, 2f, 0.5f]), Logits, [2, 3], [0, 2]);
        Assert.Equal(0.6509560659542319, value, 14);
        Assert.Equal("ClassWeights has 2 weights for a dataset of 3 classes",
            Assert.Throws<InvalidOptionException>(() => new CrossEntropy(classWeights: [1f, 2f]).CheckClassCount(3)).Message);
        Assert.Equal("ClassWeights must be positive and finite, got -2 for class 1", Assert.Throws<InvalidOptionException>(() => new CrossEntropy(classWeights: [1f, -2f])).Message);
        Assert.Throws<InvalidOptionException>(() => new CrossEntropy(labelSmoothing: 1));
    }

    [Fact]
    public void Binary_cross_entropy_with_logits_takes_the_label_as_target_for_one_output()
    {
        // F.binary_cross_entropy_with_logits([0.3, -1.2], [1, 0]) in PyTorch 1.13.1.
        Assert.Equal(0.40881885590327915, Value(new BinaryCrossEntropyWithLogits(), [0.3, -1.2], [2, 1], [1, 0]), 14);
        double byHand = (Math.Log(1 + Math.Exp(-0.3)) + Math.Log(1 + Math.Exp(-1.2))) / 2;
        Assert.Equal(byHand, Value(new BinaryCrossEntropyWithLogits(), [0.3, -1.2], [2], [1, 0]), 14);
    }

    [Fact]
    public void Mean_squared_error_uses_one_hot_targets_for_class_scores()
    {
        // Targets [1,0,0] and [0,0,1]: squared errors 1 + .25 + 1 + .01 + .04 + .49 = 2.79 over 6 elements.
        Assert.Equal(2.79 / 6, Value(new MeanSquaredError(), Logits, [2, 3], [0, 2]), 14);
    }

    [Fact]
    public void Predictions_are_argmax_or_thresholds()
    {
        using var scope = NewDisposeScope();
        var scores = tensor(Logits, [2, 3]);
        Assert.Equal([0L, 2L], new CrossEntropy().PredictClasses(scores).data<long>().ToArray());
        var single = tensor(new[] { 0.3, -0.1, 0.7 }, [3, 1]);
        Assert.Equal([1L, 0L, 1L], new BinaryCrossEntropyWithLogits().PredictClasses(single).data<long>().ToArray());
        Assert.Equal([0L, 0L, 1L], new MeanSquaredError().PredictClasses(single).data<long>().ToArray());
    }

    [Fact]
    public void Gradient_clipping_by_norm_and_by_value()
    {
        using var scope = NewDisposeScope();
        var a = new TorchSharp.Modules.Parameter(tensor(new float[] { 3, 0 }));
        var b = new TorchSharp.Modules.Parameter(tensor(new float[] { 0, 4 }));
        // d/dx of sum(x^2)/2 is x, so the gradients are [3, 0] and [0, 4]: total 2-norm 5.
        ((a * a).sum() / 2 + (b * b).sum() / 2).backward();
        GradientClipping.ByNorm(1).Apply([a, b]);
        Assert.Equal([0.6f, 0f], a.grad!.data<float>().ToArray().Select(v => MathF.Round(v, 5)));
        Assert.Equal([0f, 0.8f], b.grad!.data<float>().ToArray().Select(v => MathF.Round(v, 5)));

        GradientClipping.ByValue(0.7).Apply([a, b]);
        Assert.Equal([0f, 0.7f], b.grad!.data<float>().ToArray().Select(v => MathF.Round(v, 5)));
        Assert.Throws<InvalidOptionException>(() => GradientClipping.ByNorm(0));
        Assert.Throws<InvalidOptionException>(() => new GradientClipping((GradientClippingMode)4));
    }
}
