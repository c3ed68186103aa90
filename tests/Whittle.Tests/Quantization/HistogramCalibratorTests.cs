using Whittle.Quantization;

namespace Whittle.Tests.Quantization;

// Expected numbers come from tests/fixtures/calibration_reference.py, an independent numpy/scipy
// implementation of the published algorithms (run it with /usr/bin/python3 to reprint them).
public class HistogramCalibratorTests
{
    // 16 bins of width 1 (range 16): bin k holds Counts16[k] values.
    private static readonly long[] Counts16 = [40, 30, 20, 12, 8, 6, 4, 3, 2, 2, 1, 1, 0, 0, 0, 1];

    // Values that land exactly in those bins of AbsoluteValueHistogram(16): k + 0.5 for bin k, and
    // 16 (the maximum, which sets the range and falls in the last, closed bin) for bin 15.
    private static float[] ValuesFor(long[] counts) =>
        counts.SelectMany((n, k) => Enumerable.Repeat(k == counts.Length - 1 ? (float)counts.Length : k + 0.5f, (int)n)).ToArray();

    [Theory]
    [InlineData(4, 0.12789153339051518)]
    [InlineData(7, 0.024231528781740952)]
    [InlineData(8, 0.043904638336400396)]
    [InlineData(11, 0.019293091193511802)]
    [InlineData(12, 0.03943438184882002)]
    [InlineData(16, 0.0824888874766144)]
    public void KlDivergenceMatchesTheReferenceScript(int candidate, double expected)
    {
        Assert.Equal(expected, EntropyCalibrator.Divergence(Counts16, candidate, quantizedBins: 4), 12);
    }

    [Fact]
    public void KlDivergenceOfAnUnclippedSingleBinIsZero()
    {
        // P = [0, 0, 0, 5] and Q = the same after merging into 2 groups of 2 and expanding over P's
        // nonzero bin: identical distributions, so KL = 0 whatever the smoothing.
        Assert.Equal(0.0, EntropyCalibrator.Divergence([0, 0, 0, 5], 4, 2), 15);
        // Clipping after 2 bins: P = [0, 5], Q has no mass (the first two bins are empty): +inf.
        Assert.Equal(double.PositiveInfinity, EntropyCalibrator.Divergence([0, 0, 0, 5], 2, 2));
    }

    [Fact]
    public void EntropyThresholdIsTheCandidateWithTheSmallestDivergence()
    {
        // Reference: minimum KL 0.01929... at i = 11, so t = 11 bins x width 1.
        Assert.Equal(11, EntropyCalibrator.OptimalBinCount(Counts16, 4));
        var c = new EntropyCalibrator(quantizedBins: 4, bins: 16);
        c.Add(ValuesFor(Counts16));
        Assert.Equal(16.0, c.Histogram.Range);
        Assert.Equal(Counts16, c.Histogram.Counts);
        Assert.Equal(11.0, c.Threshold, 12);
        // Values are all positive: the range is [min, t] = [0.5, 11].
        Assert.Equal(new CalibratedRange(0.5f, 11f), c.Range);
    }

    [Theory]
    [InlineData(1, 1262.5680272108843)]   // by hand: 40/588 + 30*0.5^2 + 20*1.5^2 + ... + 1*14.5^2
    [InlineData(7, 132.5)]
    [InlineData(13, 43.32653061224489)]
    [InlineData(16, 56.598639455782305)]
    public void MseErrorMatchesTheReferenceScript(int edge, double expected)
    {
        Assert.Equal(expected, MseCalibrator.ExpectedSquaredError(Counts16, 1.0, edge, levels: 7), 9);
    }

    [Fact]
    public void MseThresholdIsTheEdgeWithTheSmallestError()
    {
        Assert.Equal(13.0, MseCalibrator.OptimalClip(Counts16, 1.0, 7));     // reference: min 43.33 at t = 13
        Assert.Equal(16.0, MseCalibrator.OptimalClip(Counts16, 1.0, 127));   // reference: fine steps keep everything
        var c = new MseCalibrator(levels: 7, bins: 16);
        c.Add(ValuesFor(Counts16).Select(v => -v).ToArray());
        Assert.Equal(13.0, c.Threshold, 12);
        Assert.Equal(new CalibratedRange(-13f, -0.5f), c.Range);             // all negative: [-t, max]
    }

    [Fact]
    public void LevelsComeFromTheTargetRange()
    {
        Assert.Equal(127, MseCalibrator.LevelsFor(QuantizationType.Int8, symmetric: true));
        Assert.Equal(255, MseCalibrator.LevelsFor(QuantizationType.UInt8, symmetric: false));
        Assert.Equal(MseCalibrator.DefaultLevels, new MseCalibrator().Levels);
    }

    [Fact]
    public void EdgeCasesAllZerosSingleValueAndNothing()
    {
        foreach (var make in new Func<ITensorCalibrator>[] { () => new EntropyCalibrator(), () => new MseCalibrator() })
        {
            var empty = make();
            Assert.Equal(default, empty.Range);
            var zeros = make();
            zeros.Add(new float[100]);
            Assert.Equal(new CalibratedRange(0f, 0f), zeros.Range);
            // Values beyond -t on one side clamp to -t rather than giving min > max.
            var negative = make();
            negative.Add([-2f, -2f, float.NaN]);
            var t = (float)(negative is EntropyCalibrator e ? e.Threshold : ((MseCalibrator)negative).Threshold);
            Assert.Equal(new CalibratedRange(-t, -t), negative.Range);
        }
    }

    [Fact]
    public void SingleRepeatedValue()
    {
        // All 50 values in the last of 2048 bins of width 3/2048. Entropy: only i = 2048 keeps any
        // mass in Q (KL 0), so t = 3. MSE: the values count at the bin centre 2047.5·w = 2.99927;
        // clipping at the edge 2047·w = 2.99854 costs 50·(0.5·w)² = 2.7e-5, keeping t = 3 costs
        // 50·(3/127)²/12 = 2.3e-3 of rounding, so MSE clips by half a bin.
        var entropy = new EntropyCalibrator();
        entropy.Add(Enumerable.Repeat(3f, 50).ToArray());
        Assert.Equal(new CalibratedRange(3f, 3f), entropy.Range);
        var mse = new MseCalibrator();
        mse.Add(Enumerable.Repeat(3f, 50).ToArray());
        Assert.Equal(2047 * 3.0 / 2048, mse.Threshold, 12);
        Assert.Equal(new CalibratedRange((float)(2047 * 3.0 / 2048), (float)(2047 * 3.0 / 2048)), mse.Range);
    }

    private static float[] Normal(int n, int seed)
    {
        var rng = new Random(seed);
        var values = new float[n];
        for (int i = 0; i < n; i++)
        {
            // Box-Muller.
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            values[i] = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return values;
    }

    [Fact]
    public void EntropyClipsAnOutlierThatMinMaxKeeps()
    {
        var values = Normal(10_000, seed: 1).Append(1000f).ToArray();
        var minMax = new MinMaxCalibrator();
        var entropy = new EntropyCalibrator();
        minMax.Add(values);
        entropy.Add(values);
        Assert.Equal(1000f, minMax.Range.Max);
        // Bins of 1000/2048 = 0.49: all N(0,1) values sit in the first ~9 bins. Every candidate up to
        // 255 bins (124.5) keeps one bin per quantized level for them and clips only the outlier;
        // beyond that bins merge in pairs and the divergence rises. The smallest candidate is 128 bins (62.5).
        Assert.InRange(entropy.Range.Max, 62.4f, 124.6f);
        Assert.Equal(values.Min(), entropy.Range.Min);   // the negative side is not clipped
    }

    [Fact]
    public void MseClipsAnOutlierOnlyAsFarAsItOutweighsTheRoundingOfEveryOtherValue()
    {
        // One outlier at 1000 among N values of N(0,1), 127 levels. Keeping it (t = 1000) costs
        // N·(1000/127)²/12 ≈ 5.17·N; clipping at t costs ≈ (999.76 − t)² + N·(t/127)²/12.
        // The minimum of (999.76 − t)² + t²·N/193,548 is t = 999.76 / (1 + N/193,548) (the outlier sits
        // at its bin centre 999.76; bin edges are 0.49 apart; N(0,1) values are far inside t).
        // N = 10,000: t = 950.6, barely clipped: one outlier outweighs the rounding of 10,000 values.
        var few = new MseCalibrator();
        few.Add(Normal(10_000, seed: 1).Append(1000f).ToArray());
        Assert.InRange(few.Threshold, 950.1, 951.1);
        // N = 1,000,000: t = 162.1.
        var many = new MseCalibrator();
        many.Add(Normal(1_000_000, seed: 2).Append(1000f).ToArray());
        Assert.InRange(many.Threshold, 161.1, 163.1);
    }

    [Fact]
    public void FactoryBuildsEachMethodAndRejectsSettingsItWouldIgnore()
    {
        Assert.IsType<MinMaxCalibrator>(TensorCalibrators.Create(CalibrationMethod.MinMax));
        Assert.Equal(0.5, ((MinMaxCalibrator)TensorCalibrators.Create(CalibrationMethod.MinMax, movingAverageConstant: 0.5)).MovingAverageConstant);
        Assert.Equal(99.999, ((PercentileCalibrator)TensorCalibrators.Create(CalibrationMethod.Percentile)).Percentile);
        Assert.Equal(99.0, ((PercentileCalibrator)TensorCalibrators.Create(CalibrationMethod.Percentile, percentile: 99, bins: 64)).Percentile);
        var entropy = Assert.IsType<EntropyCalibrator>(TensorCalibrators.Create(CalibrationMethod.Entropy));
        Assert.Equal(EntropyCalibrator.DefaultQuantizedBins, entropy.QuantizedBins);
        Assert.Equal(2048, entropy.Histogram.Counts.Count);
        Assert.Equal(16, ((EntropyCalibrator)TensorCalibrators.Create(CalibrationMethod.Entropy, bins: 64, quantizedBins: 16)).QuantizedBins);
        Assert.Equal(255, ((MseCalibrator)TensorCalibrators.Create(CalibrationMethod.Mse, mseLevels: 255)).Levels);
        var e = Assert.Throws<ArgumentException>(() => TensorCalibrators.Create(CalibrationMethod.MinMax, percentile: 99));
        Assert.Contains("percentile does not apply to MinMax", e.Message);
        Assert.Throws<ArgumentException>(() => TensorCalibrators.Create(CalibrationMethod.Entropy, mseLevels: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EntropyCalibrator(quantizedBins: 4096));
    }
}
