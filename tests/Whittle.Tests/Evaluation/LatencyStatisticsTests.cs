using Whittle.Evaluation;

namespace Whittle.Tests.Evaluation;

/// <summary>
/// Percentiles by linear interpolation between closest ranks (numpy.percentile's default):
/// h = p/100 * (n - 1), result = x[floor h] + (h - floor h) * (x[floor h + 1] - x[floor h]).
/// Every expected value below was computed by hand with that formula and agrees with
/// NumPy 1.24's np.percentile.
/// </summary>
public class LatencyStatisticsTests
{
    private const double Tolerance = 1e-12;

    private static readonly double[] OneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

    [Theory]
    // n = 10, so h = 9p/100.
    [InlineData(0, 1.0)]     // h = 0    -> x0 = 1
    [InlineData(25, 3.25)]   // h = 2.25 -> 3 + 0.25 * (4 - 3)
    [InlineData(50, 5.5)]    // h = 4.5  -> 5 + 0.5 * (6 - 5)
    [InlineData(90, 9.1)]    // h = 8.1  -> 9 + 0.1 * (10 - 9)
    [InlineData(99, 9.91)]   // h = 8.91 -> 9 + 0.91 * (10 - 9)
    [InlineData(100, 10.0)]  // h = 9    -> x9 = 10
    public void Percentiles_of_one_to_ten(double percent, double expected)
    {
        Assert.Equal(expected, LatencyStatistics.Percentile(OneToTen, percent), Tolerance);
    }

    [Theory]
    // [3, 1, 2, 10] sorts to [1, 2, 3, 10]; n = 4, so h = 3p/100.
    [InlineData(50, 2.5)]    // h = 1.5  -> 2 + 0.5 * (3 - 2)
    [InlineData(75, 4.75)]   // h = 2.25 -> 3 + 0.25 * (10 - 3)
    [InlineData(99, 9.79)]   // h = 2.97 -> 3 + 0.97 * (10 - 3)
    public void Percentiles_sort_unordered_input(double percent, double expected)
    {
        Assert.Equal(expected, LatencyStatistics.Percentile([3, 1, 2, 10], percent), Tolerance);
    }

    [Fact]
    public void Percentiles_of_two_and_one_values()
    {
        // [10, 20], p90: h = 0.9 -> 10 + 0.9 * 10 = 19. One value: every percentile is that value.
        Assert.Equal(19, LatencyStatistics.Percentile([10, 20], 90), Tolerance);
        Assert.Equal(7, LatencyStatistics.Percentile([7], 0));
        Assert.Equal(7, LatencyStatistics.Percentile([7], 99));
    }

    [Fact]
    public void Statistics_of_one_to_ten_ms_with_batch_eight()
    {
        // total 55 ms, mean 5.5 ms; throughput = 8 samples * 10 runs / 0.055 s = 16000/11
        // = 1454.5454... samples/s (= 8 / 0.0055 s, batch over mean latency).
        // sample std: squared deviations from 5.5 sum to 82.5; sqrt(82.5 / 9) = 3.0276503540974917.
        var stats = new LatencyStatistics(OneToTen.Reverse(), batchSize: 8);

        Assert.Equal(10, stats.Runs);
        Assert.Equal(8, stats.BatchSize);
        Assert.Equal(55, stats.TotalMilliseconds, Tolerance);
        Assert.Equal(5.5, stats.MeanMilliseconds, Tolerance);
        Assert.Equal(Math.Sqrt(82.5 / 9), stats.StandardDeviationMilliseconds, Tolerance);
        Assert.Equal(1, stats.MinimumMilliseconds);
        Assert.Equal(10, stats.MaximumMilliseconds);
        Assert.Equal(5.5, stats.P50Milliseconds, Tolerance);
        Assert.Equal(9.1, stats.P90Milliseconds, Tolerance);
        Assert.Equal(9.91, stats.P99Milliseconds, Tolerance);
        Assert.Equal(3.25, stats.Percentile(25), Tolerance);
        Assert.Equal(16000.0 / 11, stats.SamplesPerSecond, 1e-9);
    }

    [Fact]
    public void From_durations_converts_timespans_to_milliseconds()
    {
        var stats = LatencyStatistics.FromDurations(
            [TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(4), TimeSpan.FromMicroseconds(3000)]);

        Assert.Equal(3, stats.MeanMilliseconds, Tolerance);
        Assert.Equal(3, stats.P50Milliseconds, Tolerance);
        Assert.Equal(1, stats.BatchSize);
        Assert.Equal(1000.0 / 3, stats.SamplesPerSecond, 1e-9);
    }

    [Fact]
    public void All_zero_durations_give_infinite_throughput()
    {
        var stats = new LatencyStatistics([0, 0], batchSize: 4);

        Assert.Equal(double.PositiveInfinity, stats.SamplesPerSecond);
    }

    [Fact]
    public void ToString_uses_invariant_culture()
    {
        var stats = new LatencyStatistics(OneToTen, batchSize: 8);

        Assert.Equal(
            "10 runs x batch 8: mean 5.500 ms, p50 5.500 ms, p90 9.100 ms, p99 9.910 ms, 1454.5 samples/s",
            stats.ToString());
    }

    [Fact]
    public void Invalid_input_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => new LatencyStatistics([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LatencyStatistics([1], batchSize: 0));
        var negative = Assert.Throws<ArgumentException>(() => new LatencyStatistics([1, 2, -3]));
        Assert.Contains("milliseconds[2] = -3", negative.Message);
        Assert.Throws<ArgumentException>(() => new LatencyStatistics([1, double.NaN]));
        Assert.Throws<ArgumentException>(() => new LatencyStatistics([double.PositiveInfinity]));
        Assert.Throws<ArgumentOutOfRangeException>(() => LatencyStatistics.Percentile(OneToTen, 101));
        Assert.Throws<ArgumentOutOfRangeException>(() => LatencyStatistics.Percentile(OneToTen, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => LatencyStatistics.Percentile(OneToTen, double.NaN));
        Assert.Throws<ArgumentException>(() => LatencyStatistics.Percentile([], 50));
        Assert.Throws<ArgumentException>(() => LatencyStatistics.Percentile([1, double.NaN], 50));
    }
}
