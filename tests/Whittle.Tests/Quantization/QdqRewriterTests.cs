using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;

namespace Whittle.Tests.Quantization;

public class QdqRewriterTests
{
    private static IEnumerable<IReadOnlyDictionary<string, RuntimeTensor>> RandomBatches(OnnxModel model, int batches, int batch = 8)
    {
        using var s = new OnnxRuntimeSession(model);
        for (int i = 0; i < batches; i++) yield return s.SampleInputs(s.Inputs[0].FixedBatchSize ?? batch, seed: i);
    }

    [Fact]
    public void ResidualResNetGetsOnePairPerActivationAndAgreesWithFloat()
    {
        var model = OnnxModel.Load(TestPaths.FixtureModel("pytorch_resnet_opset13.onnx"));
        var result = StaticQuantizer.Quantize(model, RandomBatches(model, 4).ToList(), new StaticQuantizationOptions());
        var q = result.Quantized.Model;
        var ops = q.Graph.OpHistogram();
        // 9 Conv + 1 Gemm: a weight and a bias DequantizeLinear each; BN folded; every ReLU that follows a Conv alone is absorbed.
        Assert.False(ops.ContainsKey("BatchNormalization"));
        Assert.Equal(ops["QuantizeLinear"] + 2 * 10, ops["DequantizeLinear"]);
        Assert.Equal(3, ops["Add"]);
        var fusedRelus = result.Marking.FusedActivationOutputs.Count;
        Assert.Equal(7 - fusedRelus, ops.GetValueOrDefault("Relu"));
        Assert.True(fusedRelus >= 4, $"only {fusedRelus} ReLUs absorbed");
        var report = QuantizationVerifier.Verify(result.Prepared.Model, result.Quantized, RandomBatches(model, 2, 4).ToList());
        Assert.All(report.Outputs, o => Assert.True(o.Cosine > 0.99, $"{o.Output}: cosine {o.Cosine}"));
        Assert.All(report.Layers, l => Assert.True(l.SqnrDb > 15, $"{l.Tensor}: {l.SqnrDb} dB"));
        // Worst first.
        Assert.Equal(report.Layers.OrderBy(l => l.SqnrDb).Select(l => l.Tensor), report.Layers.Select(l => l.Tensor));
    }

    [Fact]
    public void BiasIsInt32WithInputScaleTimesWeightScale()
    {
        var model = OnnxModel.Load(TestPaths.FixtureModel("pytorch_cnn_opset13.onnx"));
        var result = StaticQuantizer.Quantize(model, RandomBatches(model, 2).ToList(), new StaticQuantizationOptions());
        var g = result.Quantized.Model.Graph;
        var conv = g.Nodes.First(n => n.OpType == "Conv");
        var biasDq = g.FindProducer(conv.Inputs[2])!;
        var weightDq = g.FindProducer(conv.Inputs[1])!;
        var inputDq = g.FindProducer(conv.Inputs[0])!;
        Assert.Equal("DequantizeLinear", biasDq.OpType);
        var biasQ = g.FindInitializer(biasDq.Inputs[0])!;
        Assert.Equal(OnnxDataType.Int32, biasQ.DataType);
        var biasScale = g.FindInitializer(biasDq.Inputs[1])!.ToFloatArray();
        var weightScale = g.FindInitializer(weightDq.Inputs[1])!.ToFloatArray();
        var inputScale = g.FindInitializer(inputDq.Inputs[1])!.ToFloatArray()[0];
        Assert.Equal(weightScale.Length, biasScale.Length);
        for (int c = 0; c < biasScale.Length; c++) Assert.Equal(inputScale * weightScale[c], biasScale[c]);
        Assert.Equal(0L, weightDq.GetInt("axis"));
        Assert.Equal(OnnxDataType.Int8, g.FindInitializer(weightDq.Inputs[0])!.DataType);
        // The dequantized bias is the float bias to within half a step.
        // BatchNorm was folded first, so the reference is the prepared model's bias.
        var prepared = result.Prepared.Model.Graph;
        var original = prepared.FindInitializer(prepared.Nodes.First(n => n.OpType == "Conv").Inputs[2])!.ToFloatArray();
        var q = biasQ.ToInt32Array();
        for (int c = 0; c < q.Length; c++) Assert.True(Math.Abs(q[c] * biasScale[c] - original[c]) <= biasScale[c] / 2 * 1.0001);
    }

    [Fact]
    public void GemmWeightAxisFollowsTransB()
    {
        var model = OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx"));
        var prepared = StaticQuantizer.Prepare(model);
        var marking = QuantizationMarker.Mark(prepared.Model, new StaticQuantizationOptions());
        foreach (var gemm in prepared.Model.Graph.Nodes.Where(n => n.OpType == "Gemm"))
        {
            var mark = Assert.IsType<WeightMark>(marking.Marks[gemm.Inputs[1]]);
            Assert.Equal(gemm.GetInt("transB", 0) != 0 ? 0 : 1, mark.Axis);
        }
    }

    [Fact]
    public void Int8SymmetricActivationsKeepTheRelu()
    {
        var model = OnnxModel.Load(TestPaths.FixtureModel("pytorch_cnn_opset13.onnx"));
        var options = new StaticQuantizationOptions(activationType: QuantizationType.Int8);
        var result = StaticQuantizer.Quantize(model, RandomBatches(model, 2).ToList(), options);
        Assert.Empty(result.Marking.FusedActivationOutputs);
        Assert.Equal(model.Graph.Nodes.Count(n => n.OpType == "Relu"), result.Quantized.Model.Graph.Nodes.Count(n => n.OpType == "Relu"));
        var zp = result.Quantized.Model.Graph.Nodes.Where(n => n.OpType == "QuantizeLinear").Select(n => result.Quantized.Model.Graph.FindInitializer(n.Inputs[2])!).ToList();
        Assert.All(zp, z => Assert.Equal(OnnxDataType.Int8, z.DataType));
        Assert.All(zp, z => Assert.Equal(0, z.ToRawBytes()[0]));
    }

    [Fact]
    public void OldOpsetModelsAreUpgradedAndUnsupportedOpsListed()
    {
        var model = OnnxModel.Load(TestPaths.FixtureModel("cntk_style_ir3_opset8.onnx"));
        var upgraded = OpsetUpgrade.To(model);
        Assert.Equal(13, upgraded.GetOpset());
        Assert.Equal(8, model.GetOpset());
        Assert.DoesNotContain(upgraded.Graph.AllInputs, i => upgraded.Graph.InitializerNames().Contains(i.Name));
        using var a = new OnnxRuntimeSession(model);
        using var b = new OnnxRuntimeSession(upgraded);
        var inputs = a.SampleInputs(a.Inputs[0].FixedBatchSize ?? 2);
        var x = a.Run(inputs).Values.First().AsFloats();
        var y = b.Run(inputs).Values.First().AsFloats();
        Assert.Equal(x, y);

        var bad = OnnxModel.Create("g", 9);
        bad.Graph.AddNode(new OnnxNode("Upsample", ["x", "s"], ["y"], "up"));
        bad.Graph.AddNode(new OnnxNode("Softmax", ["y"], ["z"], "sm"));
        var e = Assert.Throws<OnnxException>(() => OpsetUpgrade.To(bad));
        Assert.Contains("Upsample ('up')", e.Message);
        Assert.Contains("Softmax ('sm')", e.Message);
    }

    [Fact]
    public void ProfileParsingTakesTheMedianAfterWarmupPerNode()
    {
        const string json = """
        [{"cat":"Session","name":"model_run","ts":0,"dur":5},
         {"cat":"Node","name":"conv_kernel_time","ts":1,"dur":9000,"args":{"op_name":"QLinearConv"}},
         {"cat":"Node","name":"conv_kernel_time","ts":10,"dur":1000,"args":{"op_name":"QLinearConv"}},
         {"cat":"Node","name":"conv_kernel_time","ts":20,"dur":3000,"args":{"op_name":"QLinearConv"}},
         {"cat":"Node","name":"conv_kernel_time","ts":30,"dur":2000,"args":{"op_name":"QLinearConv"}},
         {"cat":"Node","name":"conv_fence_before","ts":31,"dur":7,"args":{"op_name":"QLinearConv"}},
         {"cat":"Node","name":"pool_kernel_time","ts":2,"dur":500,"args":{"op_name":"MaxPool"}}]
        """;
        var times = NodeProfiler.Parse(json, skipRuns: 1);
        Assert.Single(times);
        Assert.Equal(new NodeTime("conv", "QLinearConv", 2.0), times[0]);
        // One run only, skipped as warm-up: no timed sample, so the node is left out.
        Assert.DoesNotContain(times, t => t.Node == "pool");
    }
}
