using Whittle.Quantization;

namespace Whittle.Tests.Quantization;

public class CalibrationTests
{
    [Fact]
    public void MinMaxKeepsTheExtremesOfEveryBatch()
    {
        var c = new MinMaxCalibrator();
        Assert.Equal(default, c.Range);
        c.Add([1f, -2f, 0.5f]);
        c.Add([3f, float.NaN, -1f]);
        c.Add([]);
        Assert.Equal(new CalibratedRange(-2f, 3f), c.Range);
    }

    [Fact]
    public void MovingAverageFollowsEachBatchByTheConstant()
    {
        // First batch sets [-1, 1]; then min <- -1 + 0.5*(-3 - -1) = -2, max <- 1 + 0.5*(2 - 1) = 1.5.
        var c = new MinMaxCalibrator(0.5);
        c.Add([-1f, 1f]);
        c.Add([-3f, 2f]);
        Assert.Equal(new CalibratedRange(-2f, 1.5f), c.Range);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MinMaxCalibrator(0));
    }

    [Fact]
    public void HistogramWidensByMergingBinsAndCountsEveryValue()
    {
        var h = new AbsoluteValueHistogram(bins: 4);
        h.Add([0f, 0.5f, -1f]);            // range 1: bins [0,.25) [.25,.5) [.5,.75) [.75,1]: 0 -> 0, .5 -> 2, 1 -> 3
        Assert.Equal(1.0, h.Range);
        Assert.Equal(new long[] { 1, 0, 1, 1 }, h.Counts);
        h.Add([3f]);                       // range doubles twice to 4; bins of width 1: old counts merge to bin 0 (twice halved)
        Assert.Equal(4.0, h.Range);
        Assert.Equal(new long[] { 3, 0, 0, 1 }, h.Counts);
        Assert.Equal(4, h.Count);
    }

    [Fact]
    public void PercentileIsTheLeftEdgeOfTheBinWhereTheShareIsReached()
    {
        // 100 values 0.5, 1.5, ..., 99.5 in 100 bins over [0, 100): the first 99 bins hold 99%.
        var h = new AbsoluteValueHistogram(bins: 128);
        var values = Enumerable.Range(0, 100).Select(i => i + 0.5f).ToArray();
        h.Add(values);
        // Range is 99.5; bin width 99.5/128. 99% = 99 values; the 99th value (98.5) is in bin floor(98.5/99.5*128) = 126.
        Assert.Equal(126 * 99.5 / 128, h.Percentile(99), 9);
        // 100%: the largest value sits in the last bin (127); ORT's rule returns that bin's left edge.
        Assert.Equal(127 * 99.5 / 128, h.Percentile(100), 9);
        var p = new PercentileCalibrator(99, bins: 128);
        p.Add(values);
        // Every value is positive, so the lower end is the observed minimum, not -t.
        Assert.Equal(new CalibratedRange(0.5f, (float)(126 * 99.5 / 128)), p.Range);
        var signed = new PercentileCalibrator(99, bins: 128);
        signed.Add(values.Select(v => -v).Concat(values).ToArray());
        // 200 values, 99% = 198: |x| ≤ 98.5 for 198 of them, in bin 126 again.
        Assert.Equal(new CalibratedRange((float)(-126 * 99.5 / 128), (float)(126 * 99.5 / 128)), signed.Range);
    }

    [Fact]
    public void PercentileClipsARareOutlier()
    {
        var p = new PercentileCalibrator(99.9, bins: 2048);
        var values = Enumerable.Range(0, 10_000).Select(i => (float)Math.Sin(i) * 1f).Append(1000f).ToArray();
        p.Add(values);
        Assert.True(p.Range.Max < 2f, $"the outlier at 1000 set the range to {p.Range.Max}");
        Assert.True(p.Range.Max > 0.9f);
    }
}
