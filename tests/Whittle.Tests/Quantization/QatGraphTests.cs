using Whittle.Data;
using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;
using Whittle.Training;
using Whittle.Tests.Training;
using static TorchSharp.torch;

namespace Whittle.Tests.Quantization;

/// <summary>Differential tests of the QAT graph pass: the training form computes what the QDQ model computes, and exports back to it.</summary>
[Collection(TorchCollection.Name)]
public class QatGraphTests
{
    private static OnnxModel Folded() => DeployFormFixture.Folded();

    private static TensorDataset Images(int count, int seed) => DeployFormFixture.Images(count, seed);

    private static OnnxModel Qdq(OnnxModel model, TensorDataset calibration, StaticQuantizationOptions? options = null)
    {
        // The training form is built from plain Q→DQ pairs (QAT aligns the model it exports).
        options ??= new StaticQuantizationOptions(alignConvChannels: false);
        var batches = Enumerable.Range(0, calibration.Count / 32).Select(i => (IReadOnlyDictionary<string, RuntimeTensor>)new Dictionary<string, RuntimeTensor>
        {
            [model.Graph.Inputs[0].Name] = RuntimeTensor.FromFloats(calibration.Features.Slice(i * 32 * 784, 32 * 784).ToArray(), [32, 1, 28, 28]),
        });
        return StaticQuantizer.Quantize(model, batches, options).Quantized.Model;
    }

    private static float[] Engine(OnnxModel model, TensorDataset data)
    {
        using var module = new OnnxModule(model);
        module.eval();
        using var _ = no_grad();
        using var x = tensor(data.Features.ToArray(), [data.Count, 1, 28, 28]);
        using var y = module.forward(x);
        return y.data<float>().ToArray();
    }

    private static float[] Ort(OnnxModel model, TensorDataset data)
    {
        using var session = new OnnxRuntimeSession(model);
        return session.RunBatches(data.Features, [.. data.SampleShape]).AsFloats().ToArray();
    }

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs(p.First - p.Second));

    [Theory]
    [InlineData(QatScales.Learned)]
    [InlineData(QatScales.Fixed)]
    public void TrainingFormComputesWhatTheQdqModelComputes(QatScales scales)
    {
        var data = Images(64, 1);
        var qdq = Qdq(Folded(), data);
        var before = qdq.ToBytes();
        var graph = QatGraph.Build(qdq, scales);
        Assert.Equal(before, qdq.ToBytes()); // the input is not touched
        Assert.DoesNotContain(graph.Model.Graph.Nodes, n => n.OpType is "QuantizeLinear" or "DequantizeLinear");
        Assert.Equal(qdq.Graph.Nodes.Count(n => n.OpType == "DequantizeLinear" && qdq.Graph.FindInitializer(n.Inputs[0]) is { DataType: OnnxDataType.Int8 }), graph.WeightQuantizers);
        Assert.Equal(qdq.Graph.Nodes.Count(n => n.OpType == "QuantizeLinear"), graph.ActivationQuantizers);

        var test = Images(32, 2);
        // The Engine runs QDQ as the ONNX definition says (float arithmetic), so both sides simulate the same integers.
        Assert.True(MaxDifference(Engine(qdq, test), Engine(graph.Model, test)) <= 1e-4);
    }

    [Fact]
    public void ExportOfTheUntrainedTrainingFormIsTheQdqModel()
    {
        var data = Images(64, 1);
        var qdq = Qdq(Folded(), data);
        var graph = QatGraph.Build(qdq, QatScales.Learned);
        using var module = new OnnxModule(graph.Model);
        var exported = graph.Export(module.ToOnnx());

        Assert.True(exported.Validate().IsValid);
        Assert.DoesNotContain(exported.Graph.Nodes, n => n.Domain.Length > 0);
        Assert.Equal(qdq.Graph.OpHistogram(), exported.Graph.OpHistogram());
        // The same integers: weights and biases quantize back onto the values they came from.
        var weights = qdq.Graph.Initializers.Where(t => t.DataType is OnnxDataType.Int8 or OnnxDataType.Int32 && t.Dims.Length > 0).OrderBy(t => t.ElementCount).Select(t => t.ToInt64Array()).ToList();
        var again = exported.Graph.Initializers.Where(t => t.DataType is OnnxDataType.Int8 or OnnxDataType.Int32 && t.Dims.Length > 0).OrderBy(t => t.ElementCount).Select(t => t.ToInt64Array()).ToList();
        Assert.Equal(weights.Count, again.Count);
        for (int i = 0; i < weights.Count; i++) Assert.Equal(weights[i].Order(), again[i].Order());
        var test = Images(32, 2);
        Assert.True(MaxDifference(Ort(qdq, test), Ort(exported, test)) <= 1e-4);
    }

    [Fact]
    public void ReinsertedBatchNormsFoldIntoTheWeightScalesAfterTraining()
    {
        var data = Images(128, 1);
        var qdq = Qdq(Folded(), data);
        var graph = QatGraph.Build(qdq, QatScales.Learned);
        graph.ReinsertBatchNorms(data);
        Assert.Equal(3, graph.InsertedBatchNorms.Count);

        OnnxModel trained;
        float[] engine;
        var test = Images(32, 2);
        using (var module = new OnnxModule(graph.Model))
        {
            var options = new TrainerOptions(2, 32, new AdamWOptions(5e-3, weightDecay: 0), restoreBestWeights: false);
            new Trainer(module, options).Fit(data);
            module.eval();
            trained = module.ToOnnx();
            using var _ = no_grad();
            using var x = tensor(test.Features.ToArray(), [test.Count, 1, 28, 28]);
            engine = module.forward(x).data<float>().ToArray();
        }
        // Training moved the BatchNorms away from the identity and the step sizes away from calibration.
        var exported = graph.Export(trained);
        Assert.DoesNotContain(exported.Graph.Nodes, n => n.OpType == "BatchNormalization");
        Assert.Equal(qdq.Graph.OpHistogram(), exported.Graph.OpHistogram());
        Assert.NotEqual(Ort(qdq, test), Ort(exported, test));
        // The exported integers compute what the trained training form computed (a rare rounding tie may flip one step).
        var exportedOutputs = Engine(exported, test);
        Assert.True(engine.Zip(exportedOutputs).Count(p => Math.Abs(p.First - p.Second) > 1e-3) <= engine.Length / 50,
            $"max |Δ| {MaxDifference(engine, exportedOutputs)}");
        Assert.True(MaxDifference(Ort(exported, test), exportedOutputs) <= 0.05);
        // ONNX Runtime still fuses every pair into integer kernels: no float Conv between a Q and a DQ.
        var fused = QuantizedModelChecks.OptimizedOpHistogram(exported);
        Assert.Equal(QuantizedModelChecks.OptimizedOpHistogram(qdq).GetValueOrDefault("QLinearConv"), fused.GetValueOrDefault("QLinearConv"));
        Assert.Equal(2, fused.GetValueOrDefault("QLinearConv"));
        Assert.False(fused.ContainsKey("Conv"));
    }

    [Fact]
    public void Int4WeightsRoundTripAtOpset21AndOrtRunsThem()
    {
        var data = Images(64, 1);
        var options = new StaticQuantizationOptions(weightType: QuantizationType.Int4, keep8Bit: ["first"], alignConvChannels: false);
        var qdq = Qdq(Folded(), data, options);
        Assert.Equal(21, qdq.GetOpset());
        var weights = qdq.Graph.Initializers.Where(t => t.DataType is OnnxDataType.Int4 or OnnxDataType.Int8 && t.Dims.Length > 1).ToList();
        Assert.Equal(1, weights.Count(t => t.DataType == OnnxDataType.Int8)); // the first conv
        Assert.Equal(3, weights.Count(t => t.DataType == OnnxDataType.Int4));
        Assert.All(weights.Where(t => t.DataType == OnnxDataType.Int4), t => Assert.InRange(t.ToInt64Array().Max(v => Math.Abs(v)), 1, 7));

        var graph = QatGraph.Build(qdq, QatScales.Learned);
        using var module = new OnnxModule(graph.Model);
        var exported = graph.Export(module.ToOnnx());
        Assert.Equal(21, exported.GetOpset());
        var test = Images(32, 2);
        Assert.True(MaxDifference(Ort(qdq, test), Ort(exported, test)) <= 1e-4);
        Assert.True(MaxDifference(Engine(graph.Model, test), Ort(exported, test)) <= 0.05);
    }
}
