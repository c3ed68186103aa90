using Whittle.Pruning;

namespace Whittle.Tests.Pruning;

// Expected values computed by hand from the formulas in the doc comments
// (AGP: s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3; counts: Python's round, ties to even).
public class SparsityTests
{
    [Theory]
    [InlineData(-3, 0, 10, 0.0, 0.9, 0.0)]       // before the start: s_i
    [InlineData(0, 0, 10, 0.0, 0.9, 0.0)]
    [InlineData(1, 0, 10, 0.0, 0.9, 0.2439)]     // 0.9 - 0.9 * 0.9^3
    [InlineData(5, 0, 10, 0.0, 0.9, 0.7875)]     // 0.9 - 0.9 * 0.5^3
    [InlineData(10, 0, 10, 0.0, 0.9, 0.9)]
    [InlineData(12, 0, 10, 0.0, 0.9, 0.9)]       // after the end: s_f
    [InlineData(2, 0, 4, 0.5, 0.8, 0.7625)]      // 0.8 - 0.3 * 0.5^3
    [InlineData(150, 100, 200, 0.0, 0.5, 0.4375)] // 0.5 - 0.5 * 0.5^3
    public void Agp_target_follows_the_cubic(double t, double t0, double end, double si, double sf, double expected)
    {
        Assert.Equal(expected, Sparsity.AgpTarget(t, t0, end, si, sf), 12);
    }

    [Fact]
    public void Agp_rejects_bad_arguments()
    {
        Assert.Throws<ArgumentException>(() => Sparsity.AgpTarget(1, 5, 5, 0, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sparsity.AgpTarget(1, 0, 5, 0, 1.5));
    }

    [Theory]
    [InlineData(5, 0.5, 2)]   // round(2.5) = 2 (ties to even, as Python)
    [InlineData(7, 0.5, 4)]   // round(3.5) = 4
    [InlineData(3, 0.5, 2)]   // round(1.5) = 2
    [InlineData(10, 0.9, 9)]
    [InlineData(0, 0.9, 0)]
    public void Pruned_count_rounds_like_pytorch(long n, double s, long expected) => Assert.Equal(expected, Sparsity.PrunedCount(n, s));

    [Fact]
    public void Layer_magnitude_mask_removes_smallest_and_breaks_ties_by_position()
    {
        // k = round(0.6 * 5) = 3; |w| ascending: 0.0 (4), 0.1 (1), 0.3 (2), 0.3 (3): the earlier 0.3 goes.
        var mask = Sparsity.MagnitudeMask([0.5f, -0.1f, 0.3f, -0.3f, 0.0f], 0.6);
        Assert.Equal([true, false, false, true, false], mask);
    }

    [Fact]
    public void Global_magnitude_uses_one_threshold_and_respects_caps()
    {
        float[][] tensors = [[1f, -2f, 0.5f], [0.1f, 3f, -0.5f]];
        // k = 3: 0.1 (B0), 0.5 (A2, first tensor wins the tie), 0.5 (B2).
        var masks = Sparsity.GlobalMagnitudeMasks(tensors, 0.5);
        Assert.Equal([true, true, false], masks[0]);
        Assert.Equal([false, true, false], masks[1]);
        // B may lose at most floor(1/3 * 3) = 1 weight: B0, then A2, B2 is skipped, A0 next.
        var capped = Sparsity.GlobalMagnitudeMasks(tensors, 0.5, [1.0, 1.0 / 3]);
        Assert.Equal([false, true, false], capped[0]);
        Assert.Equal([false, true, true], capped[1]);
    }

    [Fact]
    public void Nm_mask_keeps_n_largest_in_each_group_along_the_axis()
    {
        // 2:4 along axis 1 of [2,4]: row 0 keeps -3 and 2; row 1 keeps 0.2 and the first 0.1.
        Assert.Equal([false, true, true, false, true, false, false, true],
            Sparsity.NmMask([1f, -3f, 2f, 0.5f, 0.1f, 0.1f, 0.1f, 0.2f], [2, 4], axis: 1, n: 2, m: 4));
        // 2:4 along axis 0 of [4,2] (a MatMul weight [K,N]): column 0 = 1,2,3,4 keeps rows 2,3; column 1 = 9,8,7,6 keeps rows 0,1.
        Assert.Equal([false, true, false, true, true, false, true, false],
            Sparsity.NmMask([1f, 9f, 2f, 8f, 3f, 7f, 4f, 6f], [4, 2], axis: 0, n: 2, m: 4));
        // 1:2: a tie keeps the earlier element.
        Assert.Equal([true, false, false, true], Sparsity.NmMask([-1f, 1f, 2f, -3f], [1, 4], axis: 1, n: 1, m: 2));
        // Conv weight [O=1, I=4, 1, 2] along I: for each (kh, kw) the 4 input channels form one group.
        // kw=0 reads 5,1,2,4 (positions 0,2,4,6): keeps 5 and 4; kw=1 reads 0,0,3,1 (1,3,5,7): keeps 3 and 1.
        Assert.Equal([true, false, false, false, false, true, true, true],
            Sparsity.NmMask([5f, 0f, 1f, 0f, 2f, 3f, 4f, 1f], [1, 4, 1, 2], axis: 1, n: 2, m: 4));
    }

    [Fact]
    public void Nm_mask_rejects_an_axis_that_is_not_a_multiple_of_m()
    {
        var e = Assert.Throws<ArgumentException>(() => Sparsity.NmMask(new float[6], [2, 3], 1, 2, 4));
        Assert.Contains("not a multiple of 4", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Sparsity.NmMask(new float[8], [2, 4], 1, 5, 4));
    }

    [Theory]
    [InlineData(16, 0.5, 1, 8)]
    [InlineData(20, 0.5, 8, 8)]    // keep 10 -> 10/8 = 1.25 -> 8
    [InlineData(24, 0.5, 8, 16)]   // keep 12 -> 1.5 -> 2 (away from zero) -> 16
    [InlineData(10, 0.5, 8, 8)]    // keep 5 -> 0.625 -> 8
    [InlineData(6, 0.5, 8, 6)]     // fewer channels than one multiple: all kept
    [InlineData(16, 0.99, 1, 1)]   // never the whole layer
    [InlineData(3, 0.5, 1, 2)]     // 1.5 -> 2
    public void Kept_channels_round_and_never_empty_a_layer(int channels, double ratio, int roundTo, int expected) =>
        Assert.Equal(expected, Sparsity.KeptChannels(channels, ratio, roundTo));

    [Theory]
    [InlineData(16, 0.3, 8, 16, 16)]  // keep 11.2 -> 8, raised to the floor
    [InlineData(32, 0.5, 8, 16, 16)]  // keep 16: at the floor already
    [InlineData(32, 0.3, 8, 16, 24)]  // keep 22.4 -> 24: above the floor
    [InlineData(64, 0.3, 8, 16, 48)]
    [InlineData(8, 0.5, 1, 16, 8)]    // fewer channels than the floor: all kept
    [InlineData(128, 0.99, 1, 16, 16)]
    public void Kept_channels_never_go_below_the_floor(int channels, double ratio, int roundTo, int minChannels, int expected) =>
        Assert.Equal(expected, Sparsity.KeptChannels(channels, ratio, roundTo, minChannels));
}

public class ChannelImportanceTests
{
    [Fact]
    public void Norms_and_taylor_per_channel()
    {
        float[] w = [1f, -2f, 3f, 4f];
        long[] shape = [2, 2, 1, 1];
        Assert.Equal([3.0, 7.0], ChannelImportance.L1(w, shape, 0));
        Assert.Equal([4.0, 6.0], ChannelImportance.L1(w, shape, 1));
        var l2 = ChannelImportance.L2(w, shape, 0);
        Assert.Equal(Math.Sqrt(5), l2[0], 12);
        Assert.Equal(5.0, l2[1], 12);
        // |1*1| + |-2*1| = 3; |3*-1| + |4*0.5| = 5
        Assert.Equal([3.0, 5.0], ChannelImportance.Taylor(w, [1f, 1f, -1f, 0.5f], shape, 0));
        Assert.Equal([0.5, 2.0], ChannelImportance.BatchNormScale([-0.5f, 2f]));
        Assert.Equal([0.5, 1.5], ChannelImportance.NormalizeByMean([1.0, 3.0]));
        Assert.Equal([0.0, 0.0], ChannelImportance.NormalizeByMean([0.0, 0.0]));
    }
}
