using Whittle.Evaluation;
using Whittle.Quantization;
using Whittle.Runtime;

namespace Whittle.Tests.Quantization;

/// <summary>SmoothQuant-style scaling: exact scales, and a smoothed model computes what the original does.</summary>
public sealed class ActivationSmoothingTests
{
    [Fact]
    public void ScalesBalanceActivationAndWeightRanges()
    {
        // s = max|X|^α / max|W|^(1−α): α = 0.5 gives sqrt(a / w).
        var s = ActivationSmoothing.Scales([16f, 1f, 0f, 4f], [1f, 4f, 2f, 0f], 0.5);
        Assert.Equal([4f, 0.5f, 1f, 1f], s);
        // α = 1: every channel's range becomes 1; α = 0: s = 1 / max|W|.
        Assert.Equal([16f, 1f], ActivationSmoothing.Scales([16f, 1f], [1f, 4f], 1));
        Assert.Equal([1f, 0.25f], ActivationSmoothing.Scales([16f, 1f], [1f, 4f], 0));
        Assert.Throws<ArgumentException>(() => ActivationSmoothing.Scales([1f], [1f, 2f]));
        Assert.Throws<ArgumentException>(() => ActivationSmoothing.Scales([1f], [1f], 1.5));
    }

    [Fact]
    public void TheSmoothedModelComputesTheSameAndItsActivationsAreFlatter()
    {
        var model = TinyEncoder.Create();
        Dictionary<string, RuntimeTensor> inputs;
        using (var s = new OnnxRuntimeSession(model)) inputs = GeneratedInputs.Create(model, s, 4, seed: 3, sequenceLength: 10);
        var (smoothed, report) = ActivationSmoothing.Apply(model, [inputs]);
        Assert.Equal(["embedded", "activated"], report.Select(r => r.Activation));
        Assert.Equal(["ffn_in_matmul"], report[0].Nodes);
        Assert.Equal(2, smoothed.Graph.Nodes.Count(n => n.OpType == "Mul") - model.Graph.Nodes.Count(n => n.OpType == "Mul"));
        var comparison = ModelComparison.Compare(model, smoothed, [inputs], "generated");
        Assert.All(comparison.Outputs, o => Assert.True(o.MaxAbsDifference < 1e-4, $"{o.Output}: {o.MaxAbsDifference}"));
        // The original is untouched; a name that is not a smoothable MatMul is an error.
        Assert.Equal(model.Graph.Nodes.Count + 2, smoothed.Graph.Nodes.Count);
        Assert.Throws<QuantizationException>(() => ActivationSmoothing.Apply(model, [inputs], nodes: ["ffn_relu"]));
    }
}
