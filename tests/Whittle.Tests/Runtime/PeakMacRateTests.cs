using Whittle.Runtime;

namespace Whittle.Tests.Runtime;

public class PeakMacRateTests
{
    [Fact]
    public void TheInt8KernelComputesTheIntegerProduct()
    {
        // a [2x3] uint8 times b [3x4] int8: check ORT's result against the product computed here, so
        // the kernel timed is the MatMul it claims to be.
        var model = PeakMacRate.Int8MatMul(2, 3, 4);
        var b = model.Graph.FindInitializer("b")!;
        var weights = b.ToRawBytes().Select(x => (int)(sbyte)x).ToArray();
        byte[] a = [0, 1, 255, 7, 128, 3];
        using var session = new OnnxRuntimeSession(model);
        var y = (int[])session.Run(new Dictionary<string, RuntimeTensor> { ["a"] = RuntimeTensor.FromBytes(a, 2, 3) })["y"].Data;
        var expected = new int[8];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 3; k++) expected[i * 4 + j] += a[i * 3 + k] * weights[k * 4 + j];
        Assert.Equal(expected, y);
    }

    [Fact]
    public void TheFloatKernelComputesTheProduct()
    {
        var model = PeakMacRate.Float32MatMul(2, 3, 4);
        var w = model.Graph.FindInitializer("b")!.ToFloatArray();
        float[] a = [1, -2, 0.5f, 0, 3, -1];
        using var session = new OnnxRuntimeSession(model);
        var y = session.Run(new Dictionary<string, RuntimeTensor> { ["a"] = RuntimeTensor.FromFloats(a, 2, 3) })["y"].AsFloats();
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 4; j++)
                Assert.Equal(a[i * 3] * w[j] + a[i * 3 + 1] * w[4 + j] + a[i * 3 + 2] * w[8 + j], y[i * 4 + j], 5);
    }

    [Fact]
    public void AMeasurementReportsBothRatesOnTheThreadsAsked()
    {
        var options = new PeakMacRateOptions(rows: 16, depth: 64, columns: 32, new LatencyRoundsOptions(minRounds: 3, maxRounds: 3, runsPerRound: 1, warmupRuns: 1, budgetSeconds: 0.1));
        var peaks = PeakMacRate.Measure(RuntimeOptions.ForComparison(1), options);
        Assert.Equal(1, peaks.IntraOpThreads);
        Assert.Equal(3, peaks.Rounds);
        Assert.Equal(16 * 64 * 32, peaks.Float32.MacsPerRun);
        Assert.Equal(16 * 64 * 32, peaks.Int8.MacsPerRun);
        Assert.StartsWith("MatMul fp32 [16x64]x[64x32]", peaks.Float32.Kernel);
        Assert.StartsWith("MatMulInteger", peaks.Int8.Kernel);
        Assert.All(new[] { peaks.Float32, peaks.Int8 }, r =>
        {
            Assert.InRange(r.BestMs, double.Epsilon, r.MedianMs);
            Assert.True(r.MacsPerSecond >= r.MedianMacsPerSecond);
        });
    }

    [Fact]
    public void BadSizesAreRefused()
    {
        Assert.Throws<InvalidOptionException>(() => new PeakMacRateOptions(rows: 0));
        Assert.Throws<InvalidOptionException>(() => new PeakMacRateOptions(depth: -1));
        Assert.Equal(128L * 512 * 512, PeakMacRateOptions.Default.MacsPerRun);
    }

    [Fact]
    public void EverySessionNeedsItsOwnInputsWhenTheyDiffer()
    {
        using var session = new OnnxRuntimeSession(PeakMacRate.Float32MatMul(1, 2, 2));
        Assert.Throws<ArgumentException>(() => InterleavedRounds.Measure([session], Array.Empty<IReadOnlyDictionary<string, RuntimeTensor>>()));
    }
}
