using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;

namespace Whittle.Tests.Quantization;

public class StaticQuantizerTests
{
    private static readonly Lazy<(TensorDataset Calibration, TensorDataset Test)> MiniData = new(() =>
    {
        var p = FashionMnist.StandardPreprocessing();
        var train = FashionMnist.LoadBundledSubset(DatasetSplit.Train, preprocessing: p).Dataset;
        var test = FashionMnist.LoadBundledSubset(DatasetSplit.Test, preprocessing: p).Dataset;
        return (train.Shuffle(3).Take(256), test);
    });

    private static IEnumerable<IReadOnlyDictionary<string, RuntimeTensor>> Calibration(OnnxModel model, int samples = 256) =>
        ActivationCalibration.Batches(model.Graph.Inputs[0].Name, MiniData.Value.Calibration.Features, [.. MiniData.Value.Calibration.SampleShape], 64, samples);

    private static double Accuracy(OnnxModel model, TensorDataset data)
    {
        using var s = new OnnxRuntimeSession(model);
        var logits = s.RunBatches(data.Features, [.. data.SampleShape]);
        var predictions = ClassScores.Argmax(logits.AsFloats(), data.ClassCount);
        return ClassificationReport.FromPredictions(data.Labels.ToArray(), predictions, data.ClassCount).Accuracy;
    }

    [Fact]
    public void ClassifierKeepsItsAccuracyAndGetsTheExpectedQdqNodes()
    {
        var model = OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx"));
        // The plain QDQ form (IntegerConvAlignmentTests cover the aligned first convolution).
        var result = StaticQuantizer.Quantize(model, Calibration(model), new StaticQuantizationOptions(alignConvChannels: false));
        var q = result.Quantized.Model;
        var ops = q.Graph.OpHistogram();
        var convs = model.Graph.Nodes.Count(n => n.OpType == "Conv");
        var gemms = model.Graph.Nodes.Count(n => n.OpType == "Gemm");
        // One DequantizeLinear per weight and bias, one Q/DQ pair per quantized activation.
        Assert.Equal(result.Quantized.Dequantized.Count, ops["QuantizeLinear"]);
        Assert.Equal(ops["QuantizeLinear"] + 2 * (convs + gemms), ops["DequantizeLinear"]);
        Assert.False(ops.ContainsKey("BatchNormalization"));
        Assert.False(ops.ContainsKey("Relu"));
        double before = Accuracy(model, MiniData.Value.Test), after = Accuracy(q, MiniData.Value.Test);
        Assert.True(Math.Abs(before - after) <= 0.01, $"accuracy {before:P2} -> {after:P2}");
    }
}

public class LatencyPlacementTests
{
    /// <summary>Every int8 candidate times 8 ms against float's 10 (so the fewest float nodes win), whatever this machine does.</summary>
    private sealed class FlatTimer : ILatencyTimer
    {
        public IReadOnlyList<double[]> Time(IReadOnlyList<TimedModel> models, IReadOnlyDictionary<string, RuntimeTensor> inputs, RuntimeOptions runtime) =>
            models.Select(m => Enumerable.Repeat(m.Name == "float" ? 10.0 : 8.0, 5).ToArray()).ToList();
    }

    [Fact]
    public void PlacementCoversEveryQuantizableNodeAndTimesEveryCandidate()
    {
        var model = OnnxModel.Load(TestPaths.FixtureModel("pytorch_cnn_opset13.onnx"));
        var options = new StaticQuantizationOptions();
        var prepared = StaticQuantizer.Prepare(model);
        Dictionary<string, RuntimeTensor> inputs;
        using (var s = new OnnxRuntimeSession(prepared.Model)) inputs = s.SampleInputs(s.Inputs[0].FixedBatchSize ?? 16);
        var ranges = StaticQuantizer.Calibrate(prepared, [inputs], options);
        var placement = LatencyPlacement.Choose(prepared, ranges, options, [inputs], RuntimeOptions.ForComparison(1), new FlatTimer(), runs: 3);

        var quantizable = QuantizationMarker.Mark(prepared.Model, options).Nodes.Where(n => n.Quantized && n.Reason is null).Select(n => n.Node).Order();
        Assert.Equal(quantizable, placement.Rows.Select(r => r.Node).Order());
        // Every convolution is found in both profiles (its kernels were attributed to it).
        Assert.All(placement.Rows.Where(r => r.OpType == "Conv"), r => Assert.True(r.FloatMs > 0 && r.Int8Ms > 0, r.ToString()));
        // all-int8 is always a candidate, and with timings that cannot tell candidates apart it is the choice.
        Assert.Equal(LatencyPlacement.AllInt8, placement.Candidates[0].Candidate);
        Assert.True(placement.Candidates[0].Chosen);
        Assert.Empty(placement.FloatNodes);
        Assert.All(placement.Rows, r => Assert.True(r.Quantized));
        Assert.Equal(placement.Candidates.Count, placement.Candidates.Select(c => string.Join(",", c.FloatNodes)).Distinct().Count());
        Assert.True(placement.Faster);
        // Every proposal is a valid exclusion set for the marker and runs.
        foreach (var c in placement.Candidates.Skip(1))
        {
            var floatNodes = c.FloatNodes.ToHashSet(StringComparer.Ordinal);
            var (placed, marking) = StaticQuantizer.Apply(prepared, ranges, options, floatNodes);
            Assert.All(floatNodes, n => Assert.False(marking.Nodes.Single(d => d.Node == n).Quantized));
            using var check = new OnnxRuntimeSession(placed.Model);
            Assert.NotEmpty(check.Run(inputs));
        }
    }
}
