using Whittle.Data;
using Whittle.Evaluation;

namespace Whittle.Tests.Evaluation;

public sealed class RankingMetricsTests
{
    [Fact]
    public void HitRateNdcgAndMrrOfKnownRanks()
    {
        // Ranks 1, 2, 5, 11 with K = 10:
        //   HR@10   = 3/4                                         = 0.75
        //   NDCG@10 = (1/log2 2 + 1/log2 3 + 1/log2 6 + 0) / 4
        //           = (1 + 0.6309297535714575 + 0.38685280723454163) / 4 = 0.5044456402014998
        //   MRR     = (1 + 1/2 + 1/5 + 1/11) / 4                  = 0.44772727272727275
        var report = RankingMetrics.Report([1, 2, 5, 11], k: 10);
        Assert.Equal(4, report.Lists);
        Assert.Equal(0.75, report.HitRate, 1e-15);
        Assert.Equal(0.5044456402014998, report.Ndcg, 1e-15);
        Assert.Equal(0.44772727272727275, report.Mrr, 1e-15);

        // K = 1: only the first list hits; NDCG@1 = HR@1 = 1/4.
        var top1 = RankingMetrics.Report([1, 2, 5, 11], k: 1);
        Assert.Equal(0.25, top1.HitRate, 1e-15);
        Assert.Equal(0.25, top1.Ndcg, 1e-15);
        Assert.Equal(report.Mrr, top1.Mrr, 1e-15);
    }

    [Fact]
    public void RanksCountTheCandidatesScoredAboveThePositive()
    {
        float[] scores =
        [
            0.9f, 0.1f, 0.2f, 0.3f, // positive highest: rank 1
            0.2f, 0.5f, 0.1f, 0.4f, // two above: rank 3
            -1f, 0f, 2f, 1f,        // all above: rank 4
        ];
        Assert.Equal([1, 3, 4], RankingMetrics.Ranks(scores, listLength: 4));
        var report = RankingMetrics.FromScores(scores, 4, k: 3);
        Assert.Equal(2.0 / 3, report.HitRate, 1e-15);
        Assert.Equal((1 + 1 / Math.Log2(4)) / 3, report.Ndcg, 1e-15);
        Assert.Equal((1 + 1.0 / 3 + 0.25) / 3, report.Mrr, 1e-15);
    }

    [Fact]
    public void TiesAreBrokenUniformlyAndReproduciblyNotInThePositivesFavour()
    {
        // A constant scorer over lists of 5: the positive's rank is uniform on 1..5, mean 3.
        var constant = new float[5 * 20_000];
        var ranks = RankingMetrics.Ranks(constant, 5, tieSeed: 1);
        Assert.Equal(ranks, RankingMetrics.Ranks(constant, 5, tieSeed: 1));
        Assert.All(ranks, r => Assert.InRange(r, 1, 5));
        Assert.InRange(ranks.Average(), 2.95, 3.05);
        for (int r = 1; r <= 5; r++) Assert.InRange(ranks.Count(x => x == r) / 20_000.0, 0.18, 0.22);
        // A tie with one of four others, one above: rank 2 or 3.
        Assert.All(RankingMetrics.Ranks([1f, 1f, 2f, 0f, 0f], 5, tieSeed: 4), r => Assert.InRange(r, 2, 3));
    }

    [Fact]
    public void BadInputIsRejected()
    {
        Assert.Throws<ArgumentException>(() => RankingMetrics.Report([], 10));
        Assert.Throws<ArgumentException>(() => RankingMetrics.Report([0], 10));
        Assert.Throws<ArgumentException>(() => RankingMetrics.Ranks(new float[7], 4));
        Assert.Throws<ArgumentException>(() => RankingMetrics.Ranks([float.NaN, 1f], 2));
    }

    [Fact]
    public void BaselinesScoreTheSameCandidatesByPopularityAndAtRandom()
    {
        var all = new InteractionData(
        [
            new(0, 0), new(1, 0), new(2, 0), new(1, 1), new(2, 1), new(0, 2), new(2, 3),
            new(0, 4), new(1, 5),
        ], 3, 8, "x", "x");
        var (train, test) = InteractionSplit.Split(all.WithInteractions(all.Interactions.Select((x, i) => x with { Timestamp = i }).ToArray()));
        // Latest per user: user 0 item 4, user 1 item 5, user 2 item 3.
        Assert.Equal([3, 4, 5], test.Interactions.Select(x => x.Item)); // in file order
        var candidates = RankingCandidates.Sample(test, all, negatives: 3, seed: 0);
        var popularity = RankingBaselines.Popularity(candidates, train);
        var counts = train.CountPerItem(); // item 0: 3, item 1: 2, item 2: 1, others 0
        Assert.Equal([3, 2, 1, 0, 0, 0, 0, 0], counts);
        for (int i = 0; i < candidates.Count; i++)
            for (int j = 0; j < 4; j++)
                Assert.Equal(counts[candidates.ItemsOf(i)[j]], popularity[i * 4 + j]);
        var random = RankingBaselines.Random(candidates, seed: 5);
        Assert.Equal(random, RankingBaselines.Random(candidates, seed: 5));
        Assert.All(random, v => Assert.InRange(v, 0f, 1f));
    }
}
