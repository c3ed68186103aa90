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
        var result = StaticQuantizer.Quantize(model, Calibration(model), new StaticQuantizationOptions());
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
