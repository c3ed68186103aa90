using Whittle.Runtime;

namespace Whittle.Tests.Runtime;

public class RooflineTests
{
    [Theory]
    // macs, ms -> MAC/s
    [InlineData(2e9, 4.0, 5e11)]
    [InlineData(1048576.0, 0.5, 2097152000.0)]
    [InlineData(268435456.0, 1.0, 268435456000.0)]
    public void TheRateIsMacsPerSecond(double macs, double ms, double rate)
    {
        Assert.Equal(rate, Roofline.MacsPerSecond(macs, ms));
    }

    [Theory]
    // macs, MAC/s -> ms
    [InlineData(1e9, 2e11, 5.0)]
    [InlineData(67108864.0, 68719476736.0, 0.9765625)]
    public void TheLimitIsMacsAtThePeak(double macs, double rate, double ms)
    {
        Assert.Equal(ms, Roofline.Milliseconds(macs, rate));
    }

    [Fact]
    public void AnEstimateComparesTheMeasuredTimeWithTheLimit()
    {
        // 2^20 MACs per sample x 64 = 2^26 MACs at 2^36 MAC/s: 2^-10 s; measured 4x that.
        var e = Roofline.Estimate(macsPerSample: 1 << 20, batchSize: 64, peakMacsPerSecond: 68719476736.0, measuredMs: 3.90625);
        Assert.Equal(67108864.0, e.Macs);
        Assert.Equal(0.9765625, e.LimitMs);
        Assert.Equal(4.0, e.TimesLimit);
        Assert.Equal(0.25, e.Efficiency);
        Assert.Equal(17179869184.0, e.AchievedMacsPerSecond);
    }

    [Theory]
    [InlineData(0L, 1, 1.0, 1.0)]
    [InlineData(1L, 0, 1.0, 1.0)]
    [InlineData(1L, 1, 0.0, 1.0)]
    [InlineData(1L, 1, double.NaN, 1.0)]
    [InlineData(1L, 1, 1.0, -1.0)]
    [InlineData(1L, 1, 1.0, double.PositiveInfinity)]
    public void NonPositiveNumbersAreRefused(long macs, int batch, double peak, double ms)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Roofline.Estimate(macs, batch, peak, ms));
    }

    [Fact]
    public void AKernelRateIsItsMacsOverItsMedianAndBestRounds()
    {
        var rate = new KernelRate("k", MacsPerRun: 1L << 30, MedianMs: 8.0, BestMs: 4.0);
        Assert.Equal(134217728000.0, rate.MacsPerSecond);
        Assert.Equal(268435456000.0, rate.BestMacsPerSecond);
        var peaks = new MachinePeaks(2, 9, new KernelRate("f", 1L << 30, 8.0, 8.0), new KernelRate("i", 1L << 30, 2.0, 2.0));
        Assert.Equal(4.0, peaks.Int8OverFloat32);
    }
}
