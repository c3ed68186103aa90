using Whittle.Data;
using Whittle.Engine;
using Whittle.Training;
using Whittle.Zoo;
using static TorchSharp.torch;

namespace Whittle.Tests.Training;

/// <summary>
/// The range test's pure parts against hand-made curves (the valley expectations are what
/// fastai 2.7's <c>valley</c>, <c>steep</c> and <c>minimum</c> return on the same lists), and
/// one run on a real model that must leave it exactly as it was.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class LearningRateFinderTests
{
    [Fact]
    public void Learning_rate_grows_exponentially_from_min_to_max()
    {
        Assert.Equal(1e-4, LearningRateFinder.LearningRateAt(0, 5, 1e-4, 1));
        Assert.Equal(1e-3, LearningRateFinder.LearningRateAt(1, 5, 1e-4, 1), 15);
        Assert.Equal(1e-2, LearningRateFinder.LearningRateAt(2, 5, 1e-4, 1), 15);
        Assert.Equal(1e-1, LearningRateFinder.LearningRateAt(3, 5, 1e-4, 1), 15);
        Assert.Equal(1.0, LearningRateFinder.LearningRateAt(4, 5, 1e-4, 1));
        // The default range: 100 steps from 1e-7 to 10, each ×10^(8/99).
        Assert.Equal(1e-7 * Math.Pow(1e8, 50.0 / 99), LearningRateFinder.LearningRateAt(50, 100, 1e-7, 10));
        Assert.Equal(10.0, LearningRateFinder.LearningRateAt(99, 100, 1e-7, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateFinder.LearningRateAt(5, 5, 1e-4, 1));
    }

    [Fact]
    public void Smoothing_is_the_debiased_moving_average()
    {
        // β = 0.5: a = 2, 2, 2 → / (1 − 0.5), (1 − 0.25), (1 − 0.125).
        Assert.Equal([4.0, 8.0 / 3, 16.0 / 7], LearningRateFinder.Smooth([4, 2, 2], 0.5));
        // β = 0.98 (fastai's): the first value is the first loss, a constant stays constant.
        var constant = LearningRateFinder.Smooth([3, 3, 3, 3], 0.98);
        Assert.Equal(3.0, constant[0]);
        Assert.All(constant, v => Assert.Equal(3.0, v, 12));
        Assert.Equal([1.0, 5.0, 2.0], LearningRateFinder.Smooth([1, 5, 2], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateFinder.Smooth([1], 1));
    }

    private static double[] Rates(int n) => Enumerable.Range(0, n).Select(i => Math.Pow(10, i - 4)).ToArray();

    [Fact]
    public void Valley_is_about_half_way_along_the_longest_fall()
    {
        // Flat, then falling over 5 points (indices 2..6), then diverging. The longest strictly decreasing
        // subsequence ends at 6 with length 5; fastai: start 6 − 5 = 1, sections 5/3, index 1 + 1 + 0 = 2.
        double[] losses = [5, 5, 5, 4, 3, 2, 1, 8];
        var s = LearningRateFinder.Suggest(Rates(8), losses, LearningRateRule.Valley, skipStart: 0)!;
        Assert.Equal(2, s.Index);
        Assert.Equal(1e-2, s.LearningRate);
        Assert.StartsWith("valley: the smoothed loss falls over 5 points up to lr 100", s.Reason);

        // A long fall of 10 points (indices 1..10): start 0, sections 10/3, index 0 + 3 + 1 = 4.
        double[] longer = [9, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0.5, 30];
        Assert.Equal(4, LearningRateFinder.Suggest(Rates(12), longer, LearningRateRule.Valley, 0)!.Index);
        // A noisy bump does not end the valley: the subsequence steps over it.
        double[] bumpy = [9, 9, 8, 7, 7.5, 6, 5, 4, 3, 2, 1, 0.5, 30];
        Assert.Equal(5, LearningRateFinder.Suggest(Rates(13), bumpy, LearningRateRule.Valley, 0)!.Index);
    }

    [Fact]
    public void Steepest_is_the_most_negative_slope_against_log_learning_rate()
    {
        // Rates e^0 .. e^4: every ln step is 1, so the slopes are the differences: −0.1, −0.9, −0.5, +2.5.
        double[] rates = Enumerable.Range(0, 5).Select(i => Math.Exp(i)).ToArray();
        var s = LearningRateFinder.Suggest(rates, [3, 2.9, 2.0, 1.5, 4], LearningRateRule.Steepest, 0)!;
        Assert.Equal(1, s.Index);
        Assert.Equal(Math.Exp(1), s.LearningRate);
        Assert.Contains("-0.9 per unit of ln lr", s.Reason);
    }

    [Fact]
    public void Minimum_over_ten_is_a_tenth_of_the_rate_of_the_lowest_loss()
    {
        var s = LearningRateFinder.Suggest(Rates(6), [3, 2.5, 2, 1, 1.5, 9], LearningRateRule.MinimumOverTen, 0)!;
        Assert.Equal(3, s.Index);
        Assert.Equal(0.1 / 10, s.LearningRate);
    }

    [Fact]
    public void Skipped_start_and_points_after_a_non_finite_loss_are_not_considered()
    {
        // The dip at index 1 is inside the skipped start; after it the lowest loss is at index 4.
        double[] losses = [3, 0.1, 3, 2, 1, 2, 9];
        var s = LearningRateFinder.Suggest(Rates(7), losses, LearningRateRule.MinimumOverTen, skipStart: 2)!;
        Assert.Equal(4, s.Index);
        Assert.Equal(1.0 / 10, s.LearningRate, 15);
        // Nothing after the NaN counts, not even the lower loss there.
        double[] cut = [3, 2, 1.5, double.NaN, 0.1];
        Assert.Equal(2, LearningRateFinder.Suggest(Rates(5), cut, LearningRateRule.MinimumOverTen, 0)!.Index);
        Assert.Equal(10, LearningRateFinder.SkipStart(100));
    }

    [Theory]
    [InlineData(LearningRateRule.Valley)]
    [InlineData(LearningRateRule.Steepest)]
    [InlineData(LearningRateRule.MinimumOverTen)]
    public void A_loss_that_never_falls_suggests_nothing(LearningRateRule rule)
    {
        Assert.Null(LearningRateFinder.Suggest(Rates(5), [1, 2, 3, 4, 5], rule, 0));
        Assert.Null(LearningRateFinder.Suggest(Rates(1), [1], rule, 0));
    }

    [Fact]
    public void Options_refuse_values_out_of_range()
    {
        Assert.Equal(1e-7, LearningRateFinderOptions.Default.MinLearningRate);
        Assert.Equal(10, LearningRateFinderOptions.Default.MaxLearningRate);
        Assert.Equal(100, LearningRateFinderOptions.Default.Steps);
        Assert.Equal(0.98, LearningRateFinderOptions.Default.Smoothing);
        Assert.Equal(4, LearningRateFinderOptions.Default.DivergenceFactor);
        Assert.Equal(LearningRateRule.MinimumOverTen, LearningRateFinderOptions.Default.Rule);
        Assert.Equal("MaxLearningRate", Assert.Throws<InvalidOptionException>(() => new LearningRateFinderOptions(minLearningRate: 1, maxLearningRate: 1)).Option);
        Assert.Equal("MinLearningRate", Assert.Throws<InvalidOptionException>(() => new LearningRateFinderOptions(minLearningRate: 0)).Option);
        Assert.Equal("Steps", Assert.Throws<InvalidOptionException>(() => new LearningRateFinderOptions(steps: 9)).Option);
        Assert.Equal("BatchSize", Assert.Throws<InvalidOptionException>(() => new LearningRateFinderOptions(batchSize: 0)).Option);
        Assert.Equal("Smoothing", Assert.Throws<InvalidOptionException>(() => new LearningRateFinderOptions(smoothing: 1)).Option);
        Assert.Equal("DivergenceFactor", Assert.Throws<InvalidOptionException>(() => new LearningRateFinderOptions(divergenceFactor: 1)).Option);
        Assert.Equal("Rule", Assert.Throws<InvalidOptionException>(() => new LearningRateFinderOptions(rule: (LearningRateRule)7)).Option);
    }

    [Fact]
    public void Optimizer_options_keep_every_setting_but_the_learning_rate()
    {
        var sgd = (SgdOptions)new SgdOptions(0.1, momentum: 0.8, nesterov: true, weightDecay: 1e-4).WithLearningRate(0.02);
        Assert.Equal((0.02, 0.8, true, 1e-4), (sgd.LearningRate, sgd.Momentum, sgd.Nesterov, sgd.WeightDecay));
        var adamW = new AdamWOptions(1e-3, weightDecay: 0.05, beta1: 0.8).WithLearningRate(3e-3);
        Assert.IsType<AdamWOptions>(adamW);
        Assert.Equal(new AdamWOptions(3e-3, weightDecay: 0.05, beta1: 0.8).ToString(), adamW.ToString());
        foreach (var kind in Enum.GetValues<OptimizerKind>())
            Assert.Equal(0.5, OptimizerOptions.Create(kind, 0.1).WithLearningRate(0.5).LearningRate);
    }

    /// <summary>
    /// The Zoo MLP (with dropout) on the bundled Fashion-MNIST subset: the default range test diverges
    /// before 10, suggests a finite rate inside the range, and leaves every weight, the gradients, the
    /// mode and TorchSharp's generator as they were.
    /// </summary>
    [Fact]
    public void Range_test_on_a_real_model_suggests_a_rate_in_range_and_leaves_the_module_as_it_was()
    {
        var preprocessing = FashionMnist.StandardPreprocessing(FeatureLayout.Nchw);
        var train = FashionMnist.LoadBundledSubset(DatasetSplit.Train, preprocessing: preprocessing).Dataset.Take(2000);
        using var module = new FeatureInputModule(new OnnxModule(Mlp.Create()));
        module.eval();
        var before = TrainingTestKit.Weights(module);
        random.manual_seed(123);
        using var generatorBefore = random.get_rng_state();

        var reported = new List<LearningRatePoint>();
        var result = LearningRateFinder.Run(module, train, new CrossEntropy(), new AdamWOptions(),
            new LearningRateFinderOptions(batchSize: 64), progress: new InlineProgress<LearningRatePoint>(reported.Add));

        TrainingTestKit.AssertSameWeights(before, TrainingTestKit.Weights(module));
        Assert.All(module.parameters(), p => Assert.Null(p.grad));
        Assert.False(module.training);
        using var generatorAfter = random.get_rng_state();
        Assert.Equal(generatorBefore.data<byte>().ToArray(), generatorAfter.data<byte>().ToArray());

        Assert.Equal(LearningRateRule.MinimumOverTen, result.Rule);
        Assert.True(double.IsFinite(result.SuggestedLearningRate));
        Assert.InRange(result.SuggestedLearningRate, 1e-7, 10);
        Assert.Equal(reported, result.Points);
        Assert.Equal(3, result.ByRule.Count);
        // AdamW at the top of the range diverges: the test stops there (here at one of the last steps), its last point above 4 × the lowest.
        Assert.Equal(LearningRateFinderStop.Diverged, result.Stop);
        Assert.InRange(result.Points.Count, 11, 100);
        Assert.True(result.Points[^1].SmoothedLoss > 4 * result.Points.Min(p => p.SmoothedLoss));
        Assert.Equal(LearningRateFinder.Smooth(result.Points.Select(p => p.Loss).ToArray(), 0.98), result.Points.Select(p => p.SmoothedLoss));
        for (int i = 0; i < result.Points.Count; i++) Assert.Equal(LearningRateFinder.LearningRateAt(i, 100, 1e-7, 10), result.Points[i].LearningRate);

        // The same test again gives the same curve: it depends on its seed, not on what ran before.
        random.manual_seed(999);
        var again = LearningRateFinder.Run(module, train, new CrossEntropy(), new AdamWOptions(), new LearningRateFinderOptions(batchSize: 64));
        Assert.Equal(result.Points, again.Points);
    }
}
