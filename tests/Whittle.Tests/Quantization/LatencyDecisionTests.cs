using Whittle.Quantization;

namespace Whittle.Tests.Quantization;

/// <summary>The placement and "never slower" rule on injected round times: exact medians, quartiles and choices.</summary>
public class LatencyDecisionTests
{
    private static readonly double[] Float10 = [10, 10, 10, 10, 10];
    private static readonly double[] Float9 = [10, 10, 10, 10, 10, 10, 10, 10, 10];

    private static CandidateRounds Candidate(string name, int floatNodes, params double[][] roundsPerBatch) =>
        new(name, Enumerable.Range(0, floatNodes).Select(i => $"n{i}").ToList(), roundsPerBatch);

    [Theory]
    // rounds -> rank k of the median's 95 % interval [x(k), x(n+1-k)]
    [InlineData(1, 1)]
    [InlineData(5, 1)]
    [InlineData(8, 1)]
    [InlineData(9, 2)]
    [InlineData(10, 2)]
    [InlineData(17, 5)]
    [InlineData(21, 6)]
    [InlineData(2000, 956)]
    public void TheConfidenceRankIsTheBinomialOne(int rounds, int rank)
    {
        Assert.Equal(rank, RatioSpread.ConfidenceRank(rounds));
    }

    [Theory]
    // values, median, lower and upper 95 % confidence bound of the median (order statistics)
    [InlineData(new[] { 1.0, 2, 3, 4, 5 }, 3.0, 1.0, 5.0)]
    [InlineData(new[] { 1.40, 0.70, 0.72, 0.75, 0.78, 0.80, 0.81, 0.83, 0.90 }, 0.80, 0.72, 0.90)]
    [InlineData(new[] { 0.5 }, 0.5, 0.5, 0.5)]
    [InlineData(new[] { 2.1, 2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4, 1.3, 1.2, 1.1, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1 }, 1.1, 0.6, 1.6)]
    public void RatioSpreadIsTheMedianAndItsConfidenceInterval(double[] values, double median, double low, double high)
    {
        var s = RatioSpread.Of(values);
        Assert.Equal(median, s.Median, 12);
        Assert.Equal(low, s.Low, 12);
        Assert.Equal(high, s.High, 12);
        Assert.Equal(high - low, s.Spread, 12);
        Assert.Equal(high < 1, s.Below1);
    }

    [Fact]
    public void ABatchComparisonTakesRatiosRoundByRound()
    {
        // Nine rounds, ratios 0.8, 0.9, 0.7, 0.8, 1.2, 0.8, 0.75, 0.85, 0.8: one slow round does not decide.
        var b = LatencyDecision.Compare(64, Float9, [8, 9, 7, 8, 12, 8, 7.5, 8.5, 8]);
        Assert.Equal(new BatchLatency(64, 9, 10, 8, 0.8, 0.75, 0.9), b with { Ratio = Math.Round(b.Ratio, 12), RatioLow = Math.Round(b.RatioLow, 12), RatioHigh = Math.Round(b.RatioHigh, 12) });
        Assert.True(b.Faster);
        // A drift that slows both models in the same rounds cancels: 20 vs 16 in round 3 is still 0.8.
        var drift = LatencyDecision.Compare(1, [10, 10, 20, 10, 10], [8, 8, 16, 8, 8]);
        Assert.Equal(0.8, drift.Ratio, 12);
        Assert.Equal(0.8, drift.RatioHigh, 12);
    }

    [Fact]
    public void NotFasterWhenTheUpperBoundReachesOne()
    {
        // Median 0.95, interval 0.92-1.01: inside the noise.
        var b = LatencyDecision.Compare(64, Float9, [9, 9.5, 9.5, 10.1, 10.3, 9.2, 9.4, 9.6, 9.8]);
        Assert.Equal(0.95, b.Ratio, 12);
        Assert.Equal(0.92, b.RatioLow, 12);
        Assert.Equal(1.01, b.RatioHigh, 12);
        Assert.False(b.Faster);
        Assert.False(LatencyDecision.IsFaster([b]));
        Assert.False(LatencyDecision.IsFaster([]));
    }

    [Fact]
    public void FewerFloatNodesAreKeptWhenTheFasterCandidateIsWithinTheNoise()
    {
        // all-int8 0.80 every round; the placed candidate's median is 0.79, but per round placed / all-int8 is
        // 0.9625, 0.975, 0.9875, 1.0125, 1.025: the upper bound (five rounds: the maximum) is not below 1.
        var choice = LatencyDecision.Choose([64], [Float10],
        [
            Candidate("all-int8", 0, [8, 8, 8, 8, 8]),
            Candidate("float: conv1", 2, [7.8, 8.1, 7.9, 8.2, 7.7]),
        ]);
        Assert.Equal(1, choice.Fastest);
        Assert.Equal(0, choice.Chosen);
        Assert.True(choice.Candidates[0].Chosen);
        Assert.False(choice.Candidates[1].Chosen);
        Assert.Equal(0.8, choice.Candidates[0].Ratio, 12);
        Assert.Equal(0.79, choice.Candidates[1].Ratio, 12);
        Assert.Equal(0.77, choice.Candidates[1].RatioLow, 12);
        Assert.Equal(0.82, choice.Candidates[1].RatioHigh, 12);
        Assert.True(choice.Faster);
    }

    [Fact]
    public void AFasterCandidateBeyondTheNoiseIsChosen()
    {
        var choice = LatencyDecision.Choose([64], [Float10],
        [
            Candidate("all-int8", 0, [8, 8, 8, 8, 8]),
            Candidate("float: conv1", 2, [6, 6.2, 5.9, 6.1, 6]),
        ]);
        Assert.Equal(1, choice.Chosen);
        Assert.Equal(0.6, choice.Candidates[1].Ratio, 12);
        Assert.Equal(0.59, choice.Candidates[1].Batches[0].RatioLow, 12);
        Assert.Equal(0.62, choice.Candidates[1].Batches[0].RatioHigh, 12);
    }

    [Fact]
    public void PreferenceIsByFloatNodeCountThenByTheOrderGiven()
    {
        // Three candidates that time alike: the one with the fewest float nodes wins, wherever it is listed;
        // between equal counts, the first listed.
        double[] same = [8, 8, 8, 8, 8];
        var choice = LatencyDecision.Choose([64], [Float10],
            [Candidate("three", 3, same), Candidate("one b", 1, same), Candidate("one a", 1, same)]);
        Assert.Equal("one b", choice.Candidates[choice.Chosen].Candidate);
        Assert.Equal(1, choice.Fastest);
    }

    [Fact]
    public void TheBestCandidateIsChosenEvenWhenNoneBeatsFloat()
    {
        var choice = LatencyDecision.Choose([64], [Float10],
        [
            Candidate("all-int8", 0, [12, 11, 13, 12, 12]),
            Candidate("float: conv1", 2, [10.5, 9.5, 11, 10, 10.2]),
        ]);
        // Placed / all-int8 per round: 0.875, 0.864, 0.846, 0.833, 0.85: faster beyond the noise.
        Assert.Equal(1, choice.Chosen);
        Assert.Equal(1.02, choice.Candidates[1].Ratio, 12);
        Assert.Equal(0.95, choice.Candidates[1].RatioLow, 12);
        Assert.Equal(1.1, choice.Candidates[1].RatioHigh, 12);
        Assert.False(choice.Faster);
    }

    [Fact]
    public void OverASetOfBatchesTheGeometricMeanRanksAndEveryBatchMustBeFaster()
    {
        double[] float1 = [1, 1, 1, 1, 1];
        // Twice as fast at batch 1, 1.2x slower at batch 64.
        var choice = LatencyDecision.Choose([1, 64], [float1, Float10],
            [Candidate("all-int8", 0, [0.5, 0.5, 0.5, 0.5, 0.5], [12, 12, 12, 12, 12])]);
        var c = choice.Candidates[0];
        Assert.Equal(Math.Sqrt(0.6), c.Ratio, 12);
        Assert.Equal([1, 64], c.Batches.Select(b => b.Batch));
        Assert.Equal([0.5, 1.2], c.Batches.Select(b => Math.Round(b.Ratio, 12)));
        Assert.True(c.Batches[0].Faster);
        Assert.False(c.Batches[1].Faster);
        // Better than float over the set, but slower at one deployed batch: not faster.
        Assert.False(choice.Faster);
    }

    [Fact]
    public void CombiningUsesTheRoundsEveryBatchHas()
    {
        var s = LatencyDecision.Combine([[2, 2, 2], [8, 8, 8, 8, 100]], [[4, 4, 4], [4, 4, 4, 4, 4]]);
        // Per round sqrt(0.5 * 2) = 1 for the first three rounds; rounds 4 and 5 of batch 2 have no partner.
        Assert.Equal(new RatioSpread(1, 1, 1), s with { Median = Math.Round(s.Median, 12), Low = Math.Round(s.Low, 12), High = Math.Round(s.High, 12) });
    }

    [Fact]
    public void MismatchedOrBadTimingsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => LatencyDecision.Compare(64, [10, 10], [8]));
        Assert.Throws<ArgumentException>(() => LatencyDecision.Compare(64, [10, 0], [8, 8]));
        Assert.Throws<ArgumentException>(() => LatencyDecision.Compare(64, [], []));
        Assert.Throws<ArgumentException>(() => LatencyDecision.Choose([64], [Float10], []));
        Assert.Throws<ArgumentException>(() => LatencyDecision.Choose([1, 64], [Float10], [Candidate("a", 0, [8, 8, 8, 8, 8])]));
        Assert.Throws<ArgumentException>(() => RatioSpread.Of([double.NaN]));
    }
}
