using Whittle.Evaluation;

namespace Whittle.Tests.Evaluation;

/// <summary>Exact values of the one output comparison, NaN and infinity included.</summary>
public sealed class OutputComparerTests
{
    [Fact]
    public void ClassScoresGiveExactDifferencesCosineSqnrAndTop1()
    {
        var c = new OutputComparer("logits");
        // Two samples of three classes: the first agrees on the arg-max, the second does not.
        c.Add([1f, 2f, 3f, 4f, 0f, 0f], [1f, 2f, 4f, 0f, 1f, 0f], [2, 3]);
        var r = c.Result();
        Assert.Equal(6, r.Values);
        Assert.Equal(4.0, r.MaxAbsDifference);
        Assert.Equal(1e12, r.MaxRelativeDifference, 1); // |0 - 1| / max(0, 1e-12)
        double cos1 = (1 + 4 + 12) / (Math.Sqrt(14) * Math.Sqrt(21));
        Assert.Equal((cos1 + 0) / 2, r.Cosine, 12);
        Assert.Equal(0.0, r.MinCosine, 12);
        Assert.Equal(10 * Math.Log10(30.0 / 18.0), r.SqnrDb, 12);
        Assert.Equal(0.5, r.Top1Agreement);
        Assert.Equal(0, r.NonFiniteMismatches);
        Assert.Equal("[2,3]", r.ShapeText);
    }

    [Fact]
    public void NaNsInTheSamePlaceAgreeAndAloneAreInfinite()
    {
        var same = new OutputComparer("o");
        same.Add([float.NaN, 1f, float.PositiveInfinity], [float.NaN, 1f, float.PositiveInfinity]);
        Assert.Equal(0.0, same.Result().MaxAbsDifference);
        Assert.Equal(0, same.Result().NonFiniteMismatches);

        var lone = new OutputComparer("o");
        lone.Add([float.NaN, 1f, 2f], [0f, 1f, float.NegativeInfinity]);
        Assert.Equal(double.PositiveInfinity, lone.Result().MaxAbsDifference);
        Assert.Equal(2, lone.Result().NonFiniteMismatches);
    }

    [Fact]
    public void IdenticalOutputsHaveInfiniteSqnrAndNoTop1ForOneScore()
    {
        var c = new OutputComparer("score");
        c.Add([0.5f, -1f], [0.5f, -1f], [2, 1]);
        var r = c.Result();
        Assert.Equal(double.PositiveInfinity, r.SqnrDb);
        Assert.Null(r.Top1Agreement);
        Assert.Equal(1.0, r.Cosine);
    }

    [Fact]
    public void DifferentLengthsAreAnError() =>
        Assert.Throws<WhittleException>(() => new OutputComparer("o").Add([1f], [1f, 2f]));
}
