using Whittle.Optimization;

namespace Whittle.Tests.Optimization;

public class BoundarySamplerTests
{
    private static readonly QuantizeStep Static = new();
    private static readonly QuantizeStep Qat = new("qat", FineTuneEpochs: 1);

    // Widths rounded to 8 and at least 16, as the latency objective's proposals are (RecipeSearch.ChannelRounding, ChannelFloor).
    private static Recipe Pruned(double ratio, int epochs = 3, QuantizeStep? quantize = null) =>
        new([new PruneStep("channel", ratio, FineTuneEpochs: epochs, RoundTo: 8, MinChannels: 16), quantize ?? Static]);

    private static TrialRecord Trial(int index, Recipe recipe, string status, bool meets, double latency = 0.5, long bytes = 1000, double accuracy = 0.9) =>
        new(index, recipe, status, accuracy, accuracy, accuracy, status == "done" ? latency : null, null, status == "done" ? bytes : null, 1, meets, false, null, []);

    private static double? ProposedRatio(Recipe? recipe) => recipe?.Steps[0] is PruneStep p ? p.Amount : null;

    private static Recipe? Propose(SearchObjective objective, params TrialRecord[] trials) =>
        BoundarySampler.Propose(trials, objective, trials.Select(t => t.Recipe.ToJson()).ToHashSet(StringComparer.Ordinal));

    [Theory]
    // largest ratio within the budget, smallest outside it -> the rounded midpoint
    [InlineData(0.3, 0.5, 0.375)]
    [InlineData(0.375, 0.5, 0.4375)]
    [InlineData(0.5, 0.75, 0.625)]
    [InlineData(0.25, 0.875, 0.5625)]
    public void BisectsBetweenTheLargestFeasibleAndTheSmallestInfeasibleRatio(double ok, double bad, double expected)
    {
        var proposal = Propose(SearchObjective.Latency, Trial(0, Pruned(ok), "done", true), Trial(1, Pruned(bad), "done", false));
        Assert.Equal(expected, ProposedRatio(proposal)!.Value, 6);
        Assert.Equal(BoundarySampler.Epochs, ((PruneStep)proposal!.Steps[0]).FineTuneEpochs);
    }

    [Theory]
    [InlineData(0.3, 0.625)] // (0.3 + 1) / 2 = 0.65, rounded to 1/16
    [InlineData(0.5, 0.75)]
    [InlineData(0.75, 0.875)]
    public void WhenEveryRatioMetTheBudgetItGoesHalfWayToPruningEverything(double ok, double expected) =>
        Assert.Equal(expected, ProposedRatio(Propose(SearchObjective.Size, Trial(0, Pruned(ok), "done", true)))!.Value, 6);

    [Theory]
    [InlineData(0.5, 0.25)]
    [InlineData(0.3, 0.125)] // 0.15 rounds to 0.125, the smallest ratio proposed
    public void WhenNoRatioMetTheBudgetItHalvesTheSmallest(double bad, double expected) =>
        Assert.Equal(expected, ProposedRatio(Propose(SearchObjective.Latency, Trial(0, Pruned(bad), "stopped", false)))!.Value, 6);

    [Fact]
    public void AStoppedTrialIsInfeasibleAndAFailedOneIsIgnored()
    {
        var proposal = Propose(SearchObjective.Latency, Trial(0, Pruned(0.3), "done", true), Trial(1, Pruned(0.5), "stopped", false),
            Trial(2, Pruned(0.375), "failed", false));
        // 0.375 failed to run: it is no evidence either way, but it was tried, so the next midpoint is not it.
        Assert.NotEqual(0.375, ProposedRatio(proposal));
        Assert.Equal(5, ((PruneStep)proposal!.Steps[0]).FineTuneEpochs); // interval (0.3, 0.5) has only 0.375 in it: longer recovery at 0.5
        Assert.Equal(0.5, ProposedRatio(proposal));
    }

    [Fact]
    public void ItPairsANewRatioWithTheQuantizeStepOfTheBestFeasibleTrial()
    {
        var proposal = Propose(SearchObjective.Latency,
            Trial(0, Pruned(0.3, quantize: Static), "done", true, latency: 0.6),
            Trial(1, Pruned(0.3, quantize: Qat), "done", true, latency: 0.4),
            Trial(2, Pruned(0.5), "done", false));
        Assert.Equal(Qat, proposal!.Steps[1]);
        Assert.Equal(0.375, ProposedRatio(proposal)!.Value, 6);
    }

    [Fact]
    public void OnceTheBoundaryIsFoundItTriesLongerRecoveryThenTheOtherQuantizationModeThenNothing()
    {
        var trials = new List<TrialRecord> { Trial(0, Pruned(0.4375), "done", true), Trial(1, Pruned(0.5), "done", false) };
        var tried = trials.Select(t => t.Recipe.ToJson()).ToHashSet(StringComparer.Ordinal);

        var longer = BoundarySampler.Propose(trials, SearchObjective.Latency, tried)!;
        Assert.Equal(Pruned(0.5, BoundarySampler.LongEpochs).ToJson(), longer.ToJson());
        trials.Add(Trial(2, longer, "done", false));
        tried.Add(longer.ToJson());

        var switched = BoundarySampler.Propose(trials, SearchObjective.Latency, tried)!;
        Assert.Equal(Pruned(0.4375, 3, Qat).ToJson(), switched.ToJson());
        trials.Add(Trial(3, switched, "done", true, latency: 0.7));
        tried.Add(switched.ToJson());

        Assert.Null(BoundarySampler.Propose(trials, SearchObjective.Latency, tried));
    }

    [Fact]
    public void ProposalsRoundWidthsToEightWithAFloorOf16UnderLatencyAndNotUnderSize()
    {
        var trials = new[] { Trial(0, Pruned(0.3), "done", true), Trial(1, Pruned(0.5), "done", false) };
        var latency = (PruneStep)Propose(SearchObjective.Latency, trials)!.Steps[0];
        Assert.Equal((8, 16), (latency.RoundTo, latency.MinChannels));
        var size = (PruneStep)Propose(SearchObjective.Size, trials)!.Steps[0];
        Assert.Equal((1, 1), (size.RoundTo, size.MinChannels));
    }

    [Fact]
    public void WhenPruningAloneWasFastestTheProposalsPruneAloneAndTheSwitchAddsStaticInt8()
    {
        var alone = new Recipe([new PruneStep("channel", 0.4375, FineTuneEpochs: 3, RoundTo: 8, MinChannels: 16)]);
        var trials = new List<TrialRecord>
        {
            Trial(0, Pruned(0.3), "done", true, latency: 0.8),
            Trial(1, new Recipe([new PruneStep("channel", 0.3, FineTuneEpochs: 3, RoundTo: 8, MinChannels: 16)]), "done", true, latency: 0.6),
            Trial(2, Pruned(0.5), "done", false),
        };
        var proposal = Propose(SearchObjective.Latency, [.. trials])!;
        Assert.Single(proposal.Steps);
        Assert.Equal(0.375, ProposedRatio(proposal)!.Value, 6);

        trials.Add(Trial(3, new Recipe([new PruneStep("channel", 0.375, FineTuneEpochs: 3, RoundTo: 8, MinChannels: 16)]), "done", true, latency: 0.55));
        trials.Add(Trial(4, alone, "done", true, latency: 0.5));
        trials.Add(Trial(5, Pruned(0.5, BoundarySampler.LongEpochs, quantize: null), "done", false));
        trials.Add(Trial(6, new Recipe([new PruneStep("channel", 0.5, FineTuneEpochs: BoundarySampler.LongEpochs, RoundTo: 8, MinChannels: 16)]), "done", false));
        var switched = Propose(SearchObjective.Latency, [.. trials])!;
        Assert.Equal(Pruned(0.4375, 3, Static).ToJson(), switched.ToJson());
    }

    [Fact]
    public void UnderSizeTheOtherModeAtTheBoundaryIsQatWithInt4Weights()
    {
        var size = new QuantizeStep(Objective: "size");
        Recipe Sized(double ratio, int epochs = 3, QuantizeStep? q = null) => new([new PruneStep("channel", ratio, FineTuneEpochs: epochs), q ?? size]);
        var trials = new[]
        {
            Trial(0, Sized(0.4375), "done", true), Trial(1, Sized(0.5), "done", false), Trial(2, Sized(0.5, BoundarySampler.LongEpochs), "done", false),
        };
        var proposal = Propose(SearchObjective.Size, trials)!;
        Assert.Equal(Sized(0.4375, 3, new QuantizeStep("qat", 4, "size", FineTuneEpochs: 1)).ToJson(), proposal.ToJson());
    }

    [Fact]
    public void WithoutPrunedTrialsThereIsNothingToBisect() =>
        Assert.Null(Propose(SearchObjective.Latency, Trial(0, new Recipe([Static]), "done", true)));

    [Fact]
    public void TheSameTrialsGiveTheSameProposalWhateverTheirOrder()
    {
        var a = Trial(0, Pruned(0.25), "done", true);
        var b = Trial(1, Pruned(0.75), "stopped", false);
        Assert.Equal(Propose(SearchObjective.Size, a, b)!.ToJson(), Propose(SearchObjective.Size, b, a)!.ToJson());
    }
}
