using Whittle.Data;
using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;
using static Whittle.Tests.Quantization.QuantizedModelChecks;

namespace Whittle.Tests.Quantization;

/// <summary>
/// A Relu/Clip is absorbed into its producer only where its output is itself quantized: a graph
/// output stays float, so absorbing the activation there would let negatives out.
/// </summary>
public class GraphOutputActivationTests
{
    private const int InChannels = 8, Side = 8;

    /// <summary>
    /// x → Conv(64) → act → Conv(64) → act → y, random weights; with <paramref name="featuresOutput"/>
    /// the first activation's output is also a graph output ("features") that the second Conv reads.
    /// </summary>
    private static OnnxModel Backbone(string activation, int channels, bool featuresOutput)
    {
        var model = OnnxModel.Create("backbone", 13);
        var g = model.Graph;
        g.AddInput(new OnnxValueInfo("x", OnnxDataType.Float, [new OnnxDim(null, "N"), new OnnxDim(InChannels, null), new OnnxDim(Side, null), new OnnxDim(Side, null)]));
        if (activation == "Clip")
        {
            g.AddInitializer(OnnxTensor.FromFloats("zero", [], [0f]));
            g.AddInitializer(OnnxTensor.FromFloats("six", [], [6f]));
        }
        string previous = "x";
        int inChannels = InChannels;
        for (int layer = 1; layer <= 2; layer++)
        {
            int fanIn = inChannels * 9;
            g.AddInitializer(OnnxTensor.FromFloats($"w{layer}", [channels, inChannels, 3, 3], Normal(channels * fanIn, 10 + layer, (float)Math.Sqrt(2.0 / fanIn))));
            g.AddInitializer(OnnxTensor.FromFloats($"b{layer}", [channels], Normal(channels, 20 + layer, 0.1f)));
            var conv = new OnnxNode("Conv", [previous, $"w{layer}", $"b{layer}"], [$"conv{layer}"], $"Conv_{layer}");
            conv.SetAttribute("pads", [1L, 1, 1, 1]);
            conv.SetAttribute("kernel_shape", [3L, 3]);
            g.AddNode(conv);
            string output = layer == 2 ? "y" : featuresOutput ? "features" : $"act{layer}";
            g.AddNode(new OnnxNode(activation, activation == "Clip" ? [$"conv{layer}", "zero", "six"] : [$"conv{layer}"], [output], $"{activation}_{layer}"));
            previous = output;
            inChannels = channels;
        }
        if (featuresOutput) g.AddOutput(new OnnxValueInfo("features", OnnxDataType.Float, null));
        g.AddOutput(new OnnxValueInfo("y", OnnxDataType.Float, null));
        return model;
    }

    private static Dictionary<string, RuntimeTensor> Inputs(int batch, int seed) =>
        new() { ["x"] = RuntimeTensor.FromFloats(Normal(batch * InChannels * Side * Side, seed), batch, InChannels, Side, Side) };

    private static StaticQuantizationResult Quantize(OnnxModel model) =>
        StaticQuantizer.Quantize(model, Enumerable.Range(0, 4).Select(i => (IReadOnlyDictionary<string, RuntimeTensor>)Inputs(16, 100 + i)).ToList(), new StaticQuantizationOptions());

    private static void AssertAgrees(OnnxModel reference, OnnxModel quantized, string output)
    {
        var inputs = Inputs(8, 7);
        var expected = RunAll(reference, inputs)[output];
        var actual = RunAll(quantized, inputs)[output];
        Assert.True(actual.Min() >= 0f, $"'{output}' has negative values (min {actual.Min()}): the activation was lost");
        var cosine = Cosine(expected, actual);
        Assert.True(cosine > 0.99, $"'{output}': cosine {cosine:F4}");
    }

    [Theory]
    [InlineData("Relu", 64)]
    [InlineData("Relu", 128)]
    [InlineData("Clip", 64)]
    public void TheLastActivationBeforeAGraphOutputIsKept(string activation, int channels)
    {
        var model = Backbone(activation, channels, featuresOutput: false);
        var result = Quantize(model);
        var g = result.Quantized.Model.Graph;
        // The graph still ends in the activation, after the last Conv's quantized output.
        var last = g.FindProducer("y")!;
        Assert.Equal(activation, last.OpType);
        Assert.Equal("DequantizeLinear", g.FindProducer(last.Inputs[0])!.OpType);
        Assert.DoesNotContain("y", result.Marking.FusedActivationOutputs);
        // The inner activation feeds only the next Conv: it is still absorbed.
        Assert.Contains("act1", result.Marking.FusedActivationOutputs);
        Assert.Equal(1, g.OpHistogram()[activation]);
        AssertAgrees(model, result.Quantized.Model, "y");
        // ORT still runs both convolutions as integer kernels.
        Assert.Equal(2, OptimizedOpHistogram(result.Quantized.Model).GetValueOrDefault("QLinearConv"));
    }

    [Theory]
    [InlineData("Relu")]
    [InlineData("Clip")]
    public void AnActivationThatIsAGraphOutputAndReadByAnotherNodeIsKept(string activation)
    {
        var model = Backbone(activation, 64, featuresOutput: true);
        var result = Quantize(model);
        var g = result.Quantized.Model.Graph;
        Assert.Empty(result.Marking.FusedActivationOutputs);
        Assert.Equal(activation, g.FindProducer("features")!.OpType);
        Assert.Equal(activation, g.FindProducer("y")!.OpType);
        // The next Conv reads the activation's quantized value; the graph output keeps the float one.
        var conv2 = g.Nodes.Single(n => n.OpType == "Conv" && n.Name == "Conv_2");
        Assert.Equal(result.Quantized.Dequantized["features"], conv2.Inputs[0]);
        AssertAgrees(model, result.Quantized.Model, "features");
        AssertAgrees(model, result.Quantized.Model, "y");
        Assert.Equal(2, OptimizedOpHistogram(result.Quantized.Model).GetValueOrDefault("QLinearConv"));
    }

    [Fact]
    public void TheRewriterKeepsAnAbsorbedActivationWhoseOutputIsAGraphOutput()
    {
        // A marking from elsewhere (a custom quantizer) that absorbs the last Relu: the rewriter keeps it.
        var model = StaticQuantizer.Prepare(Backbone("Relu", 64, featuresOutput: false)).Model;
        var options = new StaticQuantizationOptions();
        var marking = QuantizationMarker.Mark(model, options);
        var marks = new Dictionary<string, TensorMark>(marking.Marks, StringComparer.Ordinal);
        marks.Remove("conv2");
        marks["y"] = new ActivationMark("y");
        var absorbing = marking with { Marks = marks, FusedActivationOutputs = new HashSet<string>(marking.FusedActivationOutputs, StringComparer.Ordinal) { "y" } };
        var ranges = StaticQuantizer.Calibrate(new PreparedModel(model, [], []), [Inputs(16, 100)], options);
        var quantized = QdqRewriter.Rewrite(model, absorbing, ranges, options).Model;
        Assert.Equal("Relu", quantized.Graph.FindProducer("y")!.OpType);
        AssertAgrees(model, quantized, "y");
    }

    private static BoundData Data(OnnxModel model)
    {
        var x = Path.Combine(TestPaths.TempDir(), "x.npy");
        NpyFile.Write(x, Normal(64 * InChannels * Side * Side, 5), [64, InChannels, Side, Side]);
        return ModelData.Bind(model, $"npy:{x}");
    }

    [Fact]
    public void SizeObjectiveWritesABackboneThatAgreesWithTheFloatModel()
    {
        var model = Backbone("Relu", 128, featuresOutput: false);
        var result = ModelQuantizer.Quantize(model, Data(model), new ModelQuantizationOptions(objective: QuantizationObjective.Size, verifySamples: 32, latencyBatch: 4, threads: 1));
        Assert.Equal("Relu", result.Model.Graph.FindProducer("y")!.OpType);
        Assert.True(result.Outputs.Single().Cosine > 0.99, $"cosine {result.Outputs.Single().Cosine}");
        AssertAgrees(model, result.Model, "y");
    }

    [Fact]
    public void TheAgreementErrorNamesTheLayerThatWritesTheGraphOutput()
    {
        var model = Backbone("Relu", 64, featuresOutput: false);
        var options = new ModelQuantizationOptions(objective: QuantizationObjective.Size, verifySamples: 32, minCosine: 1, threads: 1);
        var e = Assert.Throws<QuantizationException>(() => ModelQuantizer.Quantize(model, Data(model), options));
        Assert.Contains("not written", e.Message);
        Assert.Contains("try excluding them or another calibration", e.Message);
        Assert.Contains("'y' is written by Relu_2 from Conv_2's quantized output: excluding Conv_2 keeps the last layer float", e.Message);
    }
}
