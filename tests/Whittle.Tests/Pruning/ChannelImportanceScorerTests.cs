using Whittle.Onnx;
using Whittle.Pruning;
using Whittle.Tests.Training;
using Whittle.Training;
using Whittle.Zoo;

namespace Whittle.Tests.Pruning;

public class ChannelImportanceScorerTests
{
    /// <summary>Ranks channels by position: the first channels of every producer weight matter most; BatchNorm scales do not count.</summary>
    private sealed class FirstChannelsScorer : IChannelImportanceScorer
    {
        public int Calls { get; private set; }

        public string Name => "first-channels";

        public double[]? Score(ChannelWeight weight)
        {
            Calls++;
            if (weight.Kind != ChannelWeightKind.ProducerWeight) return null;
            int n = (int)weight.Shape[weight.Axis];
            return Enumerable.Range(0, n).Select(i => (double)(n - i)).ToArray();
        }
    }

    /// <summary>First-order Taylor written by the user from the pure functions; records that gradients arrived.</summary>
    private sealed class HandTaylorScorer : IChannelImportanceScorer
    {
        public int WithGradients { get; private set; }

        public string Name => "hand-taylor";

        public bool NeedsGradients => true;

        public double[]? Score(ChannelWeight weight)
        {
            if (weight.Kind != ChannelWeightKind.ProducerWeight) return null;
            var g = weight.Gradients ?? throw new InvalidOperationException("no gradients");
            WithGradients++;
            return ChannelImportance.Taylor(weight.Values.Span, g.Span, weight.Shape, weight.Axis);
        }
    }

    /// <summary>Returns one score too few.</summary>
    private sealed class ShortScorer : IChannelImportanceScorer
    {
        public string Name => "short";

        public double[]? Score(ChannelWeight weight) => new double[weight.Shape[weight.Axis] - 1];
    }

    /// <summary>Counts nothing at all.</summary>
    private sealed class AbstainingScorer : IChannelImportanceScorer
    {
        public string Name => "abstaining";

        public double[]? Score(ChannelWeight weight) => null;
    }

    [Fact]
    public void A_users_scorer_decides_which_channels_stay()
    {
        var model = ChannelPruningTests.Pattern("residual");
        var scorer = new FirstChannelsScorer();
        var plan = ChannelPruner.Plan(model, new ChannelPruningOptions(0.5, scorer: scorer));
        Assert.True(scorer.Calls > 0);
        var pruned = plan.Groups.Where(g => g.Prunable).ToList();
        Assert.NotEmpty(pruned);
        foreach (var g in pruned)
        {
            // Each channel's score is its producers' n - i summed, so the first channels are kept.
            Assert.Equal(Enumerable.Range(0, g.Kept.Count), g.Kept);
            Assert.True(g.Removed.Count > 0, g.WidthChange);
        }
        // L1 on the same weights keeps other channels: the scorer, not the default, made the plan.
        var l1 = ChannelPruner.Plan(model, new ChannelPruningOptions(0.5));
        Assert.Contains(l1.Groups.Where(g => g.Prunable), g => !g.Kept.SequenceEqual(Enumerable.Range(0, g.Kept.Count)));

        Assert.StartsWith("Channel pruning plan: ratio 0.5, importance first-channels, LayerWise", plan.ToText());
        Assert.Contains("importance=first-channels", ChannelRemoval.Apply(model, plan).Metadata["whittle.pruned"]);
    }

    [Fact]
    public void A_scorer_that_needs_gradients_gets_them()
    {
        var model = ChannelPruningTests.Pattern("bn");
        var scorer = new HandTaylorScorer();
        var options = new ChannelPruningOptions(0.5, scorer: scorer);
        Assert.True(options.NeedsGradients);
        var noGradients = Assert.Throws<ArgumentException>(() => ChannelPruner.Plan(model, options));
        Assert.StartsWith("hand-taylor importance needs gradients", noGradients.Message);

        // With unit gradients, Σ|w·g| is Σ|w|: the same plan as the built-in L1.
        var ones = model.Graph.Initializers.ToDictionary(t => t.Name, t => Enumerable.Repeat(1f, (int)t.ElementCount).ToArray());
        var plan = ChannelPruner.Plan(model, options, ones);
        var l1 = ChannelPruner.Plan(model, new ChannelPruningOptions(0.5));
        Assert.True(scorer.WithGradients > 0);
        Assert.Equal(l1.Groups.Select(g => g.Kept), plan.Groups.Select(g => g.Kept));
    }

    [Fact]
    public void A_scorer_that_counts_nothing_falls_back_to_l1_and_a_wrong_one_is_reported()
    {
        var model = ChannelPruningTests.Pattern("bn");
        var abstained = ChannelPruner.Plan(model, new ChannelPruningOptions(0.5, scorer: new AbstainingScorer()));
        var l1 = ChannelPruner.Plan(model, new ChannelPruningOptions(0.5));
        Assert.Equal(l1.Groups.Select(g => g.Kept), abstained.Groups.Select(g => g.Kept));
        Assert.Contains(abstained.Notes, n => n.EndsWith("abstaining scored no tensor of these channels; ranked by L1 instead", StringComparison.Ordinal));

        var e = Assert.Throws<InvalidOperationException>(() => ChannelPruner.Plan(model, new ChannelPruningOptions(0.5, scorer: new ShortScorer())));
        Assert.Matches("^the importance scorer 'short' returned 11 scores for '.+', which has 12 along axis 0$", e.Message);
    }

    [Fact]
    public void A_scorer_and_a_built_in_criterion_together_are_a_contradiction()
    {
        var e = Assert.Throws<InvalidOptionException>(() => new ChannelPruningOptions(0.5, ImportanceCriterion.L2, scorer: new FirstChannelsScorer()));
        Assert.Equal("Scorer", e.Option);
        Assert.Equal("the scorer 'first-channels' replaces the built-in importance, but Importance is also set to L2; set one of them", e.Message);
        var options = new ChannelPruningOptions(0.5, scorer: new FirstChannelsScorer()).WithRatio(0.25);
        Assert.Equal("first-channels", options.ImportanceName);
        Assert.Equal("L1", new ChannelPruningOptions(0.5).ImportanceName);
    }
}

[Collection(TorchCollection.Name)]
public class ChannelImportanceScorerFineTuningTests
{
    [Fact]
    public void Structured_fine_tuning_accumulates_gradients_for_a_scorer_that_needs_them()
    {
        var model = Mlp.Create(new MlpOptions(inputShape: [8], hiddenSizes: [32], classes: 3, dropout: 0, seed: 5));
        var scorer = new GradientMagnitudeScorer();
        var options = new ChannelPruningOptions(0.25, scorer: scorer);
        var schedule = new PruningScheduleOptions(PruningSchedule.OneShot);
        Assert.Throws<ArgumentException>(() => StructuredFineTuning.Run(model, options, schedule, null, null));

        var result = StructuredFineTuning.Run(model, options, schedule, null, TrainingTestKit.Blobs(64, seed: 3));
        Assert.True(scorer.Calls > 0);
        Assert.Equal(8, result.Plans[0].ChannelsRemoved);
    }

    /// <summary>Σ|g| per channel: how much the loss moves each channel's weights.</summary>
    private sealed class GradientMagnitudeScorer : IChannelImportanceScorer
    {
        public int Calls { get; private set; }

        public string Name => "gradient-magnitude";

        public bool NeedsGradients => true;

        public double[]? Score(ChannelWeight weight)
        {
            Calls++;
            return ChannelImportance.L1(weight.Gradients!.Value.Span, weight.Shape, weight.Axis);
        }
    }
}
