using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Tests.Runtime;

public class InterleavedRoundsTests
{
    [Theory]
    // one pass (ms) -> rounds, runs per round, with a 3 s budget, 9-21 rounds, 3 runs per round
    [InlineData(1.0, 21, 3)]
    [InlineData(100.0, 10, 3)]
    [InlineData(150.0, 10, 2)]
    [InlineData(250.0, 12, 1)]
    [InlineData(1000.0, 9, 1)]
    public void ThePlanFitsTheBudgetWithinTheBounds(double passMs, int rounds, int runs)
    {
        Assert.Equal((rounds, runs), new LatencyRoundsOptions(budgetSeconds: 3).Plan(passMs));
    }

    [Fact]
    public void EverySessionGetsTheSameRoundsAndEveryRunIsRecorded()
    {
        var model = OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx"));
        var runtime = RuntimeOptions.ForComparison(1);
        using var a = new OnnxRuntimeSession(model, runtime);
        using var b = new OnnxRuntimeSession(model, runtime);
        var options = new LatencyRoundsOptions(minRounds: 3, maxRounds: 4, runsPerRound: 3, warmupRuns: 1, budgetSeconds: 0.5);
        var times = InterleavedRounds.Measure([a, b], a.SampleInputs(2), options);
        Assert.Equal(2, times.Count);
        int rounds = times[0].RoundMs.Length;
        Assert.InRange(rounds, 3, 4);
        Assert.All(times, t =>
        {
            Assert.Equal(rounds, t.RoundMs.Length);
            Assert.Equal(2, t.BatchSize);
            Assert.Equal(0, t.RunMs.Length % rounds);
            Assert.All(t.RoundMs, ms => Assert.True(ms > 0));
            // A round's time is the median of its runs, so it lies within them.
            Assert.InRange(t.RoundMs.Min(), t.RunMs.Min(), t.RunMs.Max());
        });
    }

    [Fact]
    public void TheOrtTimerTimesEveryModelInFreshSessions()
    {
        var model = OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx"));
        Dictionary<string, RuntimeTensor> inputs;
        using (var s = new OnnxRuntimeSession(model)) inputs = s.SampleInputs(2);
        var timer = new OrtLatencyTimer(new LatencyRoundsOptions(minRounds: 2, maxRounds: 2, warmupRuns: 1, budgetSeconds: 0.2));
        var times = timer.Time([new TimedModel("a", model), new TimedModel("b", model), new TimedModel("c", model)], inputs, RuntimeOptions.Default);
        Assert.Equal(3, times.Count);
        Assert.All(times, t => Assert.Equal(2, t.Length));
    }

    [Fact]
    public void BadRoundSettingsAreRefused()
    {
        Assert.Throws<InvalidOptionException>(() => new LatencyRoundsOptions(minRounds: 9, maxRounds: 4));
        Assert.Throws<InvalidOptionException>(() => new LatencyRoundsOptions(runsPerRound: 0));
        Assert.Throws<InvalidOptionException>(() => new LatencyRoundsOptions(budgetSeconds: 0));
    }
}
