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
    public void AKernelsPeakIsItsFastestRunAndItsLoadedRateItsMedianRound()
    {
        var rate = new KernelRate("k", MacsPerRun: 1L << 30, MedianMs: 8.0, BestMs: 4.0);
        Assert.Equal(268435456000.0, rate.MacsPerSecond);
        Assert.Equal(134217728000.0, rate.MedianMacsPerSecond);
        var peaks = new MachinePeaks(2, 9, new KernelRate("f", 1L << 30, 8.0, 8.0), new KernelRate("i", 1L << 30, 8.0, 2.0));
        Assert.Equal(4.0, peaks.Int8OverFloat32);
    }

    [Theory]
    [InlineData(new[] { 3.0 }, 3.0)]
    [InlineData(new[] { 5.0, 1.0, 3.0 }, 3.0)]
    [InlineData(new[] { 4.0, 1.0, 2.0, 8.0 }, 3.0)]
    public void TheMedianIsTheMiddleValue(double[] values, double median)
    {
        Assert.Equal(median, Roofline.Median(values));
    }

    [Fact]
    public void RooflineTimingsComeFromTheSameRounds()
    {
        var f32 = new PeakKernel("f", PeakMacRate.Float32MatMul(1, 1, 1), new Dictionary<string, RuntimeTensor>(), 128);
        var i8 = new PeakKernel("i", PeakMacRate.Int8MatMul(1, 1, 1), new Dictionary<string, RuntimeTensor>(), 128);
        // fp32 kernel: fastest run 2 ms (64,000 MAC/s); int8 kernel: fastest run 0.5 ms (256,000 MAC/s), median round 1 ms.
        RoundTimes Times(double[] rounds, double[] runs) => new("", 4, rounds, runs);
        var t = RooflineTiming.FromTimes([("a", 16), ("b", 32)], 4, [Times([1, 3, 2], [1, 3, 2, 0.5]), Times([2, 2, 2], [2, 2, 2])],
            2, f32, Times([4, 2, 3], [4, 2, 3]), i8, Times([0.5, 1, 1], [0.5, 1, 1]));
        Assert.Equal(4.0, t.Peaks.Int8OverFloat32);
        Assert.Equal((2, 3), (t.Peaks.IntraOpThreads, t.Peaks.Rounds));
        Assert.Equal((1.0, 0.5), (t.Peaks.Int8.MedianMs, t.Peaks.Int8.BestMs));
        Assert.Equal((3.0, 2.0), (t.Peaks.Float32.MedianMs, t.Peaks.Float32.BestMs));
        var a = t.Models[0];
        // a: 16 x 4 = 64 MACs: 1 ms at the fp32 peak, 0.25 ms at int8's; median 2 ms, fastest 0.5 ms.
        Assert.Equal(("a", 16L, 4, 2.0, 0.5), (a.Name, a.MacsPerSample, a.BatchSize, a.MedianMs, a.BestMs));
        Assert.Equal(1.0, a.Float32LimitMs, 12);
        Assert.Equal(0.25, a.Int8LimitMs, 12);
        Assert.Equal(2.0, a.TimesFloat32Limit, 12);
        Assert.Equal(8.0, a.TimesInt8Limit, 12);
        Assert.Equal(0.5, a.BestTimesFloat32Limit, 12);
        Assert.Equal(2.0, a.BestTimesInt8Limit, 12);
        var b = t.Models[1];
        Assert.Equal(2.0, b.Float32LimitMs, 12);
        Assert.Equal(0.5, b.Int8LimitMs, 12);
        Assert.Equal(1.0, b.TimesFloat32Limit, 12);
        Assert.Equal(4.0, b.TimesInt8Limit, 12);
        // An earlier measurement whose fp32 kernel ran faster (1 ms) sets the fp32 peak; its slower int8 kernel does not.
        var earlier = new MachinePeaks(2, 5, new KernelRate("f", 128, 1.0, 1.0), new KernelRate("i", 128, 1.0, 1.0));
        var withEarlier = RooflineTiming.FromTimes([("a", 16)], 4, [Times([1, 3, 2], [1, 3, 2, 0.5])], 2, f32, Times([4, 2, 3], [4, 2, 3]), i8, Times([0.5, 1, 1], [0.5, 1, 1]), earlier);
        Assert.Equal((8, 1.0, 0.5), (withEarlier.Peaks.Rounds, withEarlier.Peaks.Float32.BestMs, withEarlier.Peaks.Int8.BestMs));
        Assert.Equal(0.5, withEarlier.Models[0].Float32LimitMs, 12);
        Assert.Equal(0.25, withEarlier.Models[0].Int8LimitMs, 12);
        Assert.Throws<ArgumentException>(() => MachinePeaks.Best(earlier, new MachinePeaks(1, 5, earlier.Float32, earlier.Int8)));
        Assert.Throws<ArgumentException>(() => RooflineTiming.FromTimes([("a", 16)], 4, [], 2, f32, Times([1], [1]), i8, Times([1], [1])));
        Assert.Throws<ArgumentException>(() => PeakMacRate.FromTimes(2, f32, Times([1, 2], [1, 2]), i8, Times([1], [1])));
    }

    [Fact]
    public void ModelsAreTimedTogetherWithThePeakKernels()
    {
        var model = Whittle.Onnx.OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx"));
        Dictionary<string, RuntimeTensor> inputs;
        using (var s = new OnnxRuntimeSession(model)) inputs = s.SampleInputs(2);
        var options = new PeakMacRateOptions(rows: 8, depth: 32, columns: 16, new LatencyRoundsOptions(minRounds: 3, maxRounds: 3, runsPerRound: 1, warmupRuns: 1, budgetSeconds: 0.1));
        var t = RooflineTiming.Measure([new RooflineModel("float", model, 1_000_000), new RooflineModel("again", model, 1_000_000)], inputs, RuntimeOptions.ForComparison(1), options);
        Assert.Equal(3, t.Peaks.Rounds);
        Assert.Equal(["float", "again"], t.Models.Select(m => m.Name));
        Assert.All(t.Models, m =>
        {
            Assert.Equal(2, m.BatchSize);
            // The limits are the same MACs at two rates, so their ratio is the peaks' ratio.
            Assert.Equal(t.Peaks.Int8OverFloat32, m.Float32LimitMs / m.Int8LimitMs, 9);
        });
    }
}
