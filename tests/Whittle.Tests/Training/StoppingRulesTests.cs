using Whittle.Training;

namespace Whittle.Tests.Training;

public sealed class StoppingRulesTests
{
    /// <summary>The first epoch (1-based) after which <paramref name="rule"/> says stop, or null.</summary>
    private static int? StopEpoch(EarlyStopping rule, double[] metrics, MetricMode mode)
    {
        for (int n = 1; n <= metrics.Length; n++)
            if (rule.ShouldStop(metrics[..n], mode)) return n;
        return null;
    }

    [Fact]
    public void Early_stopping_stops_after_patience_epochs_without_improvement()
    {
        // Best 0.80 at epoch 3; epochs 4 and 5 do not beat it, so patience 2 stops after epoch 5.
        Assert.Equal(5, StopEpoch(new EarlyStopping(patience: 2), [1.0, 0.9, 0.8, 0.85, 0.81, 0.7], MetricMode.Min));
        // An improvement resets the count: 0.79 at epoch 5 is new best, then 6 and 7 are worse.
        Assert.Equal(7, StopEpoch(new EarlyStopping(patience: 2), [1.0, 0.9, 0.8, 0.85, 0.79, 0.8, 0.8], MetricMode.Min));
        // With min delta 0.05, 0.79 is not enough of an improvement on 0.8.
        Assert.Equal(5, StopEpoch(new EarlyStopping(patience: 2, minDelta: 0.05), [1.0, 0.9, 0.8, 0.85, 0.79, 0.8], MetricMode.Min));
        // Max mode: accuracy rising then flat.
        Assert.Equal(6, StopEpoch(new EarlyStopping(patience: 3), [0.5, 0.7, 0.9, 0.9, 0.85, 0.9], MetricMode.Max));
        Assert.Null(StopEpoch(new EarlyStopping(patience: 3), [0.5, 0.7, 0.9, 0.91], MetricMode.Max));
    }

    [Fact]
    public void Plateau_multiplier_matches_PyTorch_ReduceLROnPlateau()
    {
        // PyTorch 1.13.1: ReduceLROnPlateau(SGD(lr=0.1), 'min', factor=0.5, patience=1, cooldown=1, min_lr=0.02),
        // rate before each epoch with these metrics reported after each epoch.
        double[] metrics = [1.0, 0.9, 0.9, 0.9, 0.95, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9];
        double[] expected = [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02];
        var plateau = new ReduceOnPlateau(factor: 0.5, patience: 1, cooldown: 1, minimumLearningRate: 0.02);
        for (int e = 0; e < expected.Length; e++)
            Assert.Equal(expected[e], 0.1 * plateau.MultiplierAfter(metrics[..e], MetricMode.Min, 0.1), 15);

        // PyTorch: ReduceLROnPlateau('max', factor=0.1, patience=2, threshold=0.05, threshold_mode='abs').
        double[] accuracy = [0.5, 0.6, 0.6, 0.6, 0.61, 0.605, 0.7, 0.7, 0.7, 0.7];
        double[] expectedMax = [0.1, 0.1, 0.1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002];
        var plateauMax = new ReduceOnPlateau(factor: 0.1, patience: 2, threshold: 0.05, thresholdMode: ThresholdMode.Absolute);
        for (int e = 0; e < expectedMax.Length; e++)
            Assert.Equal(expectedMax[e], 0.1 * plateauMax.MultiplierAfter(accuracy[..e], MetricMode.Max, 0.1), 15);
    }

    [Fact]
    public void Invalid_settings_are_rejected()
    {
        Assert.Throws<InvalidOptionException>(() => new EarlyStopping(patience: 0));
        Assert.Throws<InvalidOptionException>(() => new EarlyStopping(minDelta: -1));
        Assert.Equal("MinDelta", Assert.Throws<InvalidOptionException>(() => new EarlyStopping(minDelta: double.NaN)).Option);
        Assert.Throws<InvalidOptionException>(() => new ReduceOnPlateau(factor: 1));
        Assert.Throws<InvalidOptionException>(() => new ReduceOnPlateau(thresholdMode: (ThresholdMode)9));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping().ShouldStop([1.0], (MetricMode)5));
    }
}
