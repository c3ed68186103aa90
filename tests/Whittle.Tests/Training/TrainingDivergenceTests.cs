using Whittle.Training;

namespace Whittle.Tests.Training;

/// <summary>Exact verdicts of the divergence guard on hand-made histories.</summary>
public sealed class TrainingDivergenceTests
{
    private static EpochRecord Epoch(int n, double loss, double? accuracy) => new(n, loss, null, accuracy, null, 1e-3, 1, 10, 100);

    [Fact]
    public void AHealthyRunIsFine() =>
        Assert.Equal(DivergenceVerdict.Fine, TrainingDivergence.Diagnose([Epoch(1, 0.9, 0.7), Epoch(2, 0.5, 0.8)], 2, 10, 1e-3));

    [Fact]
    public void ChanceLevelFailsAndNamesTheEpochAndALearningRate()
    {
        var v = TrainingDivergence.Diagnose([Epoch(1, 2.3e14, 0.101), Epoch(2, 2.1e14, 0.111)], 2, 10, 1000);
        Assert.True(v.Failed);
        Assert.Equal("training ended at chance level: the best epoch (2) has validation accuracy 11.10% with 10 classes (chance 10.00%); "
            + "loss 2.3E+14 in epoch 1, 2.1E+14 in epoch 2; the learning rate 1E+03 is likely too high, try 100", v.Message);
    }

    [Fact]
    public void ChanceLevelWithAnOrdinaryLossIsAWarningNotAFailure()
    {
        // ln(2) = 0.69: a two-class model that has not learned yet, not one blown up.
        var v = TrainingDivergence.Diagnose([Epoch(1, 0.721, 0.3333)], 1, 2, 1e-3);
        Assert.False(v.Failed);
        Assert.Equal("the model is at chance level: the best epoch (1) has validation accuracy 33.33% with 2 classes (chance 50.00%); loss 0.721 in epoch 1, "
            + "0.721 in epoch 1; it may need more epochs, more data or another learning rate", v.Message);
    }

    [Fact]
    public void AnExplodedLossFailsOnlyWhenItsWeightsAreKept()
    {
        var history = new[] { Epoch(1, 0.5, 0.8), Epoch(2, 60, 0.5) };
        var kept = TrainingDivergence.Diagnose(history, 2, 10, 0.1);
        Assert.True(kept.Failed);
        Assert.Equal("training diverged: the loss grew from 0.5 to 60 (epoch 2), and those are the weights kept; the learning rate 0.1 is likely too high, try 0.01", kept.Message);
        var restored = TrainingDivergence.Diagnose(history, 1, 10, 0.1);
        Assert.False(restored.Failed);
        Assert.Equal("the loss grew from 0.5 to 60 by epoch 2; the model keeps epoch 1's weights; the learning rate 0.1 is likely too high, try 0.01", restored.Message);
        // 99x is still growth a run can recover from.
        Assert.Equal(DivergenceVerdict.Fine, TrainingDivergence.Diagnose([Epoch(1, 0.5, 0.8), Epoch(2, 49.5, 0.7)], 2, 10, 0.1));
    }

    [Fact]
    public void RankingHasNoAccuracyToJudge() =>
        Assert.Equal(DivergenceVerdict.Fine, TrainingDivergence.Diagnose([Epoch(1, 0.7, 0.5), Epoch(2, 0.6, 0.5)], 2, null, null));
}
