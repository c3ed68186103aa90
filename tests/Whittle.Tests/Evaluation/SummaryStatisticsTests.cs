using Whittle.Evaluation;

namespace Whittle.Tests.Evaluation;

public class SummaryStatisticsTests
{
    [Fact]
    public void Sample_standard_deviation_uses_n_minus_one()
    {
        // [2,4,4,4,5,5,7,9]: mean 40/8 = 5; squared deviations 9,1,1,1,0,0,4,16 sum to 32;
        // sample std sqrt(32/7) = 2.1380899352993950 (population std would be sqrt(32/8) = 2).
        var stats = new SummaryStatistics([2, 4, 4, 4, 5, 5, 7, 9]);

        Assert.Equal(8, stats.Count);
        Assert.Equal(5, stats.Mean, 1e-15);
        Assert.Equal(Math.Sqrt(32.0 / 7), stats.StandardDeviation, 1e-15);
        Assert.Equal(2, stats.Minimum);
        Assert.Equal(9, stats.Maximum);
    }

    [Fact]
    public void Single_value_has_zero_standard_deviation()
    {
        var stats = new SummaryStatistics([0.9123]);

        Assert.Equal(1, stats.Count);
        Assert.Equal(0.9123, stats.Mean);
        Assert.Equal(0, stats.StandardDeviation);
        Assert.Equal(0.9123, stats.Minimum);
        Assert.Equal(0.9123, stats.Maximum);
    }

    [Fact]
    public void Nearly_equal_runs_keep_their_small_spread()
    {
        // Deviations -1e-9, 0, +1e-9 around 0.9: sample std = sqrt(2e-18 / 2) = 1e-9.
        // The one-pass formula sum(x^2) - n*mean^2 loses this entirely in double precision.
        var stats = new SummaryStatistics([0.9 - 1e-9, 0.9, 0.9 + 1e-9]);

        Assert.Equal(1e-9, stats.StandardDeviation, 1e-15);
    }

    [Fact]
    public void Format_is_mean_plus_minus_std_in_invariant_culture()
    {
        var stats = new SummaryStatistics([2, 4, 4, 4, 5, 5, 7, 9]);

        Assert.Equal("5.0000 ± 2.1381", stats.Format());
        Assert.Equal("5.0000 ± 2.1381", stats.ToString());
        Assert.Equal("5.00 ± 2.14", stats.Format("F2"));
    }

    [Fact]
    public void Empty_and_NaN_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new SummaryStatistics([]));
        var nan = Assert.Throws<ArgumentException>(() => new SummaryStatistics([1, double.NaN]));
        Assert.Contains("values[1] is NaN", nan.Message);
    }
}
