using Whittle.Evaluation;

namespace Whittle.Tests.Evaluation;

/// <summary>Exact values of mean pooling, embedding cosine and nearest-neighbour overlap.</summary>
public sealed class EmbeddingAgreementTests
{
    private static float[] At(double degrees) => [(float)Math.Cos(degrees * Math.PI / 180), (float)Math.Sin(degrees * Math.PI / 180)];

    [Fact]
    public void MeanPoolingWeighsTokensByTheMaskAndSkipsPadding()
    {
        // Two texts of three positions, width 2: the first has its last position padded, the second is all padding.
        float[] hidden = [1, 2, 3, 4, 50, 60, /* text 2 */ 7, 8, 9, 10, 11, 12];
        long[] mask = [1, 1, 0, 0, 0, 0];
        var pooled = EmbeddingAgreement.MeanPool(hidden, mask, batch: 2, sequence: 3);
        Assert.Equal([2f, 3f], pooled[0]);
        Assert.Equal([0f, 0f], pooled[1]);
        // No mask: every position counts.
        var plain = EmbeddingAgreement.MeanPool(hidden, [], batch: 2, sequence: 3);
        Assert.Equal([18f, 22f], plain[0]);
        Assert.Equal([9f, 10f], plain[1]);
    }

    [Fact]
    public void MeanPoolingRefusesSizesThatDoNotAgree()
    {
        Assert.Throws<ArgumentException>(() => EmbeddingAgreement.MeanPool(new float[7], [], 2, 3));
        Assert.Throws<ArgumentException>(() => EmbeddingAgreement.MeanPool(new float[12], new long[5], 2, 3));
    }

    [Fact]
    public void NeighboursAreByCosineHighestFirst()
    {
        // Unit vectors at 0°, 10°, 25°, 90°: cosine falls with the angle between them.
        var e = new[] { At(0), At(10), At(25), At(90) };
        var n = EmbeddingAgreement.Neighbours(e, 2);
        Assert.Equal([1, 2], n[0]);
        Assert.Equal([0, 2], n[1]);
        Assert.Equal([1, 0], n[2]);
        Assert.Equal([2, 1], n[3]);
        Assert.Throws<ArgumentException>(() => EmbeddingAgreement.Neighbours(e, 4));
    }

    [Fact]
    public void OverlapCountsTheSharedNeighbours()
    {
        var reference = new[] { At(0), At(10), At(25), At(90) };
        // The third text moves from 25° to 80°.
        var candidate = new[] { At(0), At(10), At(80), At(90) };
        // k = 1: reference 0→1, 1→0, 2→1, 3→2; candidate 0→1, 1→0, 2→3, 3→2: three of four kept.
        Assert.Equal(0.75, EmbeddingAgreement.NeighbourOverlapOf(reference, candidate, 1), 12);
        // k = 2: {1,2} {0,2} {1,0} {2,1} against {1,2} {0,2} {3,1} {2,1}: (1 + 1 + 1/2 + 1) / 4.
        Assert.Equal(0.875, EmbeddingAgreement.NeighbourOverlapOf(reference, candidate, 2), 12);
        Assert.Equal(1.0, EmbeddingAgreement.NeighbourOverlapOf(reference, reference, 3), 12);
    }

    [Fact]
    public void CompareGivesCosineStatisticsAndTheOverlap()
    {
        var reference = new[] { At(0), At(10), At(25), At(90) };
        var candidate = new[] { At(0), At(10), At(80), At(90) };
        var a = EmbeddingAgreement.Compare(reference, candidate, "mean", k: 2);
        double moved = Math.Cos(55 * Math.PI / 180);
        Assert.Equal(4, a.Texts);
        Assert.Equal((3 + moved) / 4, a.MeanCosine, 6);
        Assert.Equal(moved, a.MinCosine, 6);
        Assert.Equal(2, a.K);
        Assert.Equal(0.875, a.NeighbourOverlap!.Value, 12);
        // Not more texts than K, or generated inputs: no overlap.
        Assert.Null(EmbeddingAgreement.Compare(reference, candidate, "mean", k: 4).NeighbourOverlap);
        Assert.Null(EmbeddingAgreement.Compare(reference, candidate, "mean", k: 2, neighbours: false).NeighbourOverlap);
        Assert.Throws<ArgumentException>(() => EmbeddingAgreement.Compare(reference, candidate[..3], "mean"));
        Assert.Throws<ArgumentException>(() => EmbeddingAgreement.Compare([], [], "mean"));
    }
}
