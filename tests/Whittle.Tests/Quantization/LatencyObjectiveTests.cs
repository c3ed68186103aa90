using Whittle.Data;
using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;

namespace Whittle.Tests.Quantization;

/// <summary>
/// Objective latency end to end with an injected timer: the placement and the "never slower" refusal
/// depend only on the timings given, not on this machine's speed.
/// </summary>
public class LatencyObjectiveTests
{
    private static readonly Lazy<(OnnxModel Model, BoundData Data)> Classifier = new(() =>
    {
        var model = OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx"));
        return (model, ModelData.Bind(model, "fashion-mnist-mini", new DataOptions(mean: [0.2860f], std: [0.3530f])));
    });

    /// <summary>Times from a function of the model's name, the batch size and the round; records every call.</summary>
    private sealed class FakeTimer(Func<string, int, int, double> ms, int rounds = 7) : ILatencyTimer
    {
        public List<(int Batch, string[] Models)> Calls { get; } = [];

        public IReadOnlyList<double[]> Time(IReadOnlyList<TimedModel> models, IReadOnlyDictionary<string, RuntimeTensor> inputs, RuntimeOptions runtime)
        {
            int batch = (int)inputs.Values.First().Shape[0];
            lock (Calls) Calls.Add((batch, models.Select(m => m.Name).ToArray()));
            return models.Select(m => Enumerable.Range(0, rounds).Select(r => ms(m.Name, batch, r)).ToArray()).ToList();
        }
    }

    /// <summary>A little round-to-round noise (±2 %), the same for every model in a round.</summary>
    private static double Noise(int round) => 1 + 0.02 * Math.Sin(round * 1.7);

    private static ModelQuantizationResult Quantize(FakeTimer timer, QuantizationObjective objective = QuantizationObjective.Latency, bool allowSlower = false,
        IReadOnlyList<int>? batches = null) =>
        ModelQuantizer.Quantize(Classifier.Value.Model, Classifier.Value.Data, new ModelQuantizationOptions(objective: objective,
            quantization: new StaticQuantizationOptions(calibrationSamples: 64), verifySamples: 32, evaluationLimit: 64, threads: 1,
            latencyBatches: batches ?? [8], allowSlower: allowSlower, latencyTimer: timer));

    [Fact]
    public void ASlowerInt8ModelIsRefusedAndNotWritten()
    {
        var timer = new FakeTimer((name, _, r) => (name == "float" ? 10 : 12) * Noise(r));
        var result = Quantize(timer);
        Assert.True(result.Refused);
        var latency = result.Latency!;
        Assert.False(latency.Faster);
        var b = Assert.Single(latency.Batches);
        Assert.Equal(8, b.Batch);
        Assert.Equal(7, b.Rounds);
        Assert.Equal(1.2, b.Ratio, 12);
        Assert.Equal(1.2, b.RatioHigh, 12);
        Assert.Contains("not faster than float on this machine beyond the measured noise (batch 8: 1.20× float, 95 % interval 1.20–1.20 over 7 rounds); not written", latency.Refusal);
        // Every candidate was timed with float, and the written model once more against float in its own call.
        Assert.All(timer.Calls.Take(timer.Calls.Count - 1), c => Assert.Equal(["float", LatencyPlacement.AllInt8], c.Models.Take(2)));
        Assert.Equal(["float", "int8"], timer.Calls[^1].Models);
        Assert.DoesNotContain(result.Warnings, w => w.Contains("not faster", StringComparison.Ordinal));

        var path = Path.Combine(TestPaths.TempDir(), "q.onnx");
        var e = Assert.Throws<SlowerThanFloatException>(() => result.Save(path));
        Assert.Same(latency, e.Check);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void AllowSlowerDeliversItWithAWarning()
    {
        var result = Quantize(new FakeTimer((name, _, r) => (name == "float" ? 10 : 12) * Noise(r)), allowSlower: true);
        Assert.False(result.Refused);
        Assert.False(result.Latency!.Faster);
        Assert.Contains(result.Warnings, w => w.Contains("written anyway because slower is allowed", StringComparison.Ordinal));
        var path = Path.Combine(TestPaths.TempDir(), "q.onnx");
        result.Save(path);
        Assert.True(File.Exists(path));
    }

    [Theory]
    [InlineData(QuantizationObjective.Size)]
    [InlineData(QuantizationObjective.Accuracy)]
    public void OtherObjectivesAreNeverRefused(QuantizationObjective objective)
    {
        var timer = new FakeTimer((name, _, r) => (name == "float" ? 10 : 12) * Noise(r));
        var result = Quantize(timer, objective);
        Assert.False(result.Refused);
        Assert.Null(result.Candidates);
        Assert.Contains(result.Warnings, w => w.Contains("not faster than float", StringComparison.Ordinal));
        // No placement: only the written model is timed.
        Assert.Equal(["float", "int8"], Assert.Single(timer.Calls).Models);
    }

    [Fact]
    public void AllInt8IsKeptWhenProposalsAreOnlyNoiseFaster()
    {
        // Proposals are 1 % faster than all-int8 in some rounds and 1 % slower in others.
        var timer = new FakeTimer((name, _, r) => name switch
        {
            "float" => 10,
            LatencyPlacement.AllInt8 or "int8" => 8,
            _ => 8 * (r % 2 == 0 ? 0.99 : 1.01),
        } * Noise(r));
        var result = Quantize(timer);
        Assert.False(result.Refused);
        Assert.True(result.Latency!.Faster);
        Assert.Equal(0.8, result.Latency.Ratio, 12);
        Assert.Empty(result.FloatNodes);
        var candidates = result.Candidates!;
        Assert.Equal(LatencyPlacement.AllInt8, candidates[0].Candidate);
        Assert.True(candidates[0].Chosen);
        Assert.Single(candidates, c => c.Chosen);
    }

    [Fact]
    public void AProposalFasterBeyondTheNoiseIsChosen()
    {
        var timer = new FakeTimer((name, _, r) => name switch
        {
            "float" => 10,
            LatencyPlacement.AllInt8 => 12,
            "int8" => 6,
            _ => 6,
        } * Noise(r));
        var result = Quantize(timer);
        var candidates = result.Candidates!;
        if (candidates.Count == 1) return; // this machine's profile proposed nothing: nothing to choose between
        var chosen = Assert.Single(candidates, c => c.Chosen);
        Assert.NotEqual(LatencyPlacement.AllInt8, chosen.Candidate);
        // The chosen candidate's float nodes are the ones the written model keeps float.
        Assert.All(chosen.FloatNodes.Where(n => result.Placement.Any(p => p.Node == n)), n => Assert.Contains(n, result.FloatNodes));
        Assert.NotEmpty(result.FloatNodes);
        Assert.True(result.Latency!.Faster);
    }

    [Fact]
    public void EveryBatchOfTheSetIsTimedAndReported()
    {
        // Twice as fast at batch 2, 10 % slower at batch 16: better over the set, refused for batch 16.
        var timer = new FakeTimer((name, batch, r) => name == "float" ? 10 * Noise(r) : (batch == 2 ? 5 : 11) * Noise(r));
        var result = Quantize(timer, batches: [2, 16]);
        Assert.Equal([2, 16], result.Latency!.Batches.Select(b => b.Batch));
        Assert.Equal([2, 16], timer.Calls.Select(c => c.Batch).Distinct());
        Assert.Equal([0.5, 1.1], result.Latency.Batches.Select(b => Math.Round(b.Ratio, 12)));
        Assert.Equal(Math.Sqrt(0.55), result.Latency.Ratio, 12);
        Assert.True(result.Refused);
        Assert.Contains("batch 16: 1.10× float", result.Latency.Refusal);
        Assert.Equal(2, result.LatencyBatch);
        Assert.Equal([2, 16], result.Placement.Select(p => p.Batch).Distinct());
    }

    [Fact]
    public void LatencyBatchOptionsKeepTheSingleBatchPath()
    {
        Assert.Equal([64], ModelQuantizationOptions.Default.LatencyBatches);
        Assert.Equal(64, ModelQuantizationOptions.Default.LatencyBatch);
        var single = new ModelQuantizationOptions(latencyBatch: 8);
        Assert.Equal([8], single.LatencyBatches);
        Assert.Equal(8, single.LatencyBatch);
        Assert.Equal([1, 64], new ModelQuantizationOptions(latencyBatches: [1, 64]).LatencyBatches);
        Assert.Equal("LatencyBatches", Assert.Throws<InvalidOptionException>(() => new ModelQuantizationOptions(latencyBatch: 8, latencyBatches: [1])).Option);
        Assert.Equal("LatencyBatches", Assert.Throws<InvalidOptionException>(() => new ModelQuantizationOptions(latencyBatches: [1, 1])).Option);
        Assert.Equal("LatencyBatches", Assert.Throws<InvalidOptionException>(() => new ModelQuantizationOptions(latencyBatches: [])).Option);
        Assert.Equal("LatencyBatches", Assert.Throws<InvalidOptionException>(() => new ModelQuantizationOptions(latencyBatches: [0])).Option);
        Assert.Equal("LatencyBatch", Assert.Throws<InvalidOptionException>(() => new ModelQuantizationOptions(latencyBatch: 0)).Option);
        Assert.False(ModelQuantizationOptions.Default.AllowSlower);
    }
}
