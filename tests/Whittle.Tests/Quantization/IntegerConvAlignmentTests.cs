using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;
using static Whittle.Tests.Quantization.QuantizedModelChecks;

namespace Whittle.Tests.Quantization;

/// <summary>
/// Differential tests of <see cref="IntegerConvAlignment"/>: the aligned QDQ model computes what the
/// unaligned one computes (same integer arithmetic), in ONNX Runtime, for every geometry it rewrites.
/// </summary>
public class IntegerConvAlignmentTests
{
    private sealed record ConvSpec(int Channels, int Kernel, long[] Pads, long[] Strides, long[] Dilations);

    /// <summary>x[N, C, H, W] → Conv(spec, 16 filters) → Relu → Conv(16→16, 3×3) → Relu → y; random weights.</summary>
    private static OnnxModel Model(ConvSpec first, int side, bool staticSpatial = true, bool twoHeads = false)
    {
        var model = OnnxModel.Create("aligned", 13);
        var g = model.Graph;
        OnnxDim Spatial(string symbol) => staticSpatial ? new OnnxDim(side, null) : new OnnxDim(null, symbol);
        g.AddInput(new OnnxValueInfo("x", OnnxDataType.Float, [new OnnxDim(null, "N"), new OnnxDim(first.Channels, null), Spatial("H"), Spatial("W")]));
        int fanIn = first.Channels * first.Kernel * first.Kernel;
        g.AddInitializer(OnnxTensor.FromFloats("w1", [16, first.Channels, first.Kernel, first.Kernel], Normal(16 * fanIn, 11, (float)Math.Sqrt(2.0 / fanIn))));
        g.AddInitializer(OnnxTensor.FromFloats("b1", [16], Normal(16, 12, 0.1f)));
        var conv1 = new OnnxNode("Conv", ["x", "w1", "b1"], ["c1"], "first");
        conv1.SetAttribute("kernel_shape", [(long)first.Kernel, first.Kernel]);
        conv1.SetAttribute("pads", first.Pads);
        conv1.SetAttribute("strides", first.Strides);
        conv1.SetAttribute("dilations", first.Dilations);
        g.AddNode(conv1);
        g.AddNode(new OnnxNode("Relu", ["c1"], ["r1"], "relu1"));
        g.AddInitializer(OnnxTensor.FromFloats("w2", [16, 16, 3, 3], Normal(16 * 144, 13, (float)Math.Sqrt(2.0 / 144))));
        var conv2 = new OnnxNode("Conv", ["r1", "w2"], ["c2"], "second");
        conv2.SetAttribute("kernel_shape", [3L, 3]);
        conv2.SetAttribute("pads", [1L, 1, 1, 1]);
        g.AddNode(conv2);
        g.AddNode(new OnnxNode("Relu", ["c2"], ["y"], "relu2"));
        g.AddOutput(new OnnxValueInfo("y", OnnxDataType.Float, null));
        if (twoHeads)
        {
            // A second one-channel Conv reading the same quantized input.
            g.AddInitializer(OnnxTensor.FromFloats("w3", [16, first.Channels, first.Kernel, first.Kernel], Normal(16 * fanIn, 14, (float)Math.Sqrt(2.0 / fanIn))));
            var conv3 = new OnnxNode("Conv", ["x", "w3"], ["z"], "other");
            conv3.SetAttribute("kernel_shape", [(long)first.Kernel, first.Kernel]);
            conv3.SetAttribute("pads", first.Pads);
            conv3.SetAttribute("strides", first.Strides);
            conv3.SetAttribute("dilations", first.Dilations);
            g.AddNode(conv3);
            g.AddOutput(new OnnxValueInfo("z", OnnxDataType.Float, null));
        }
        return model;
    }

    private static Dictionary<string, RuntimeTensor> Inputs(int channels, int side, int batch, int seed) =>
        new() { ["x"] = RuntimeTensor.FromFloats(Normal(batch * channels * side * side, seed), batch, channels, side, side) };

    private static (OnnxModel Plain, OnnxModel Aligned) QuantizeBoth(OnnxModel model, int channels, int side)
    {
        var calibration = Enumerable.Range(0, 2).Select(i => (IReadOnlyDictionary<string, RuntimeTensor>)Inputs(channels, side, 8, 100 + i)).ToList();
        var plain = StaticQuantizer.Quantize(model, calibration, new StaticQuantizationOptions(alignConvChannels: false)).Quantized.Model;
        var aligned = StaticQuantizer.Quantize(model, calibration, new StaticQuantizationOptions()).Quantized.Model;
        return (plain, aligned);
    }

    /// <summary>The aligned model's outputs equal the plain one's: the integer results are the same, so at most one output quantization step apart where two kernels round a tie differently.</summary>
    private static void AssertSameOutputs(OnnxModel plain, OnnxModel aligned, int channels, int side, params string[] outputs)
    {
        var inputs = Inputs(channels, side, 4, 7);
        var expected = RunAll(plain, inputs);
        var actual = RunAll(aligned, inputs);
        foreach (var output in outputs)
        {
            Assert.Equal(expected[output].Length, actual[output].Length);
            var step = OutputStep(aligned, output);
            int differing = 0;
            for (int i = 0; i < expected[output].Length; i++)
            {
                var d = Math.Abs(expected[output][i] - actual[output][i]);
                Assert.True(d <= step * 1.001f, $"'{output}'[{i}]: {expected[output][i]} vs {actual[output][i]} (step {step})");
                if (d > 0) differing++;
            }
            Assert.True(differing <= expected[output].Length / 100, $"'{output}': {differing} of {expected[output].Length} values differ");
        }
    }

    /// <summary>The scale of the DequantizeLinear feeding the Relu that writes <paramref name="output"/>, or of the last quantized value before it.</summary>
    private static float OutputStep(OnnxModel model, string output)
    {
        var g = model.Graph;
        var node = g.FindProducer(output)!;
        while (node.OpType != "DequantizeLinear") node = g.FindProducer(node.Inputs[0])!;
        return g.FindInitializer(node.Inputs[1])!.ToFloatArray()[0];
    }

    [Fact]
    public void AOneChannelThreeByThreeConvBecomesIm2ColWithTheSameResult()
    {
        var model = Model(new ConvSpec(1, 3, [1, 1, 1, 1], [1, 1], [1, 1]), 12);
        var (plain, aligned) = QuantizeBoth(model, 1, 12);
        var first = aligned.Graph.FindNode("first")!;
        Assert.Equal([1L, 1], first.GetInts("kernel_shape")!);
        Assert.False(first.HasAttribute("pads"));
        var weight = aligned.Graph.FindInitializer(aligned.Graph.FindProducer(first.Inputs[1])!.Inputs[0])!;
        Assert.Equal([16L, 16, 1, 1], weight.Dims);
        Assert.Equal(9, aligned.Graph.Nodes.Count(n => n.OpType == "Slice"));
        Assert.Single(aligned.Graph.Nodes, n => n.OpType == "Pad");
        // The plain model's weight and input pair are gone with the rewrite: nothing reads them.
        Assert.DoesNotContain(aligned.Graph.Nodes, n => n.OpType == "DequantizeLinear" && aligned.Graph.FindConsumers(n.Outputs[0]).Count == 0);
        AssertSameOutputs(plain, aligned, 1, 12, "y");
        // ORT still fuses the rewritten convolution into an integer kernel: no float Conv runs.
        var optimized = OptimizedOpHistogram(aligned);
        Assert.False(optimized.ContainsKey("Conv"), string.Join(", ", optimized.Select(kv => $"{kv.Key} {kv.Value}")));
        Assert.Equal(2, optimized.GetValueOrDefault("QLinearConv"));
    }

    [Theory]
    [InlineData(3, 0, 2, 1)] // stride 2, no padding
    [InlineData(3, 1, 2, 2)] // stride 2, dilation 2
    [InlineData(2, 0, 1, 1)] // 2×2: 4 taps, 4 channels
    [InlineData(1, 0, 1, 1)] // 1×1 on one channel
    public void Im2ColKeepsStridesDilationsAndPadding(int kernel, int pad, int stride, int dilation)
    {
        var model = Model(new ConvSpec(1, kernel, [pad, pad + 1, pad, 0], [stride, stride], [dilation, dilation]), 13);
        var (plain, aligned) = QuantizeBoth(model, 1, 13);
        Assert.Equal(kernel * kernel, aligned.Graph.Nodes.Count(n => n.OpType == "Slice"));
        AssertSameOutputs(plain, aligned, 1, 13, "y");
    }

    [Fact]
    public void ThreeChannelsArePaddedToFour()
    {
        var model = Model(new ConvSpec(3, 5, [2, 2, 2, 2], [2, 2], [1, 1]), 16);
        var (plain, aligned) = QuantizeBoth(model, 3, 16);
        var first = aligned.Graph.FindNode("first")!;
        Assert.Equal([5L, 5], first.GetInts("kernel_shape")!);
        var weight = aligned.Graph.FindInitializer(aligned.Graph.FindProducer(first.Inputs[1])!.Inputs[0])!;
        Assert.Equal([16L, 4, 5, 5], weight.Dims);
        Assert.DoesNotContain(aligned.Graph.Nodes, n => n.OpType == "Slice");
        AssertSameOutputs(plain, aligned, 3, 16, "y");
    }

    [Fact]
    public void AOneChannelConvWithoutStaticSizeOrWithTooManyTapsIsChannelPadded()
    {
        var symbolic = Model(new ConvSpec(1, 3, [1, 1, 1, 1], [1, 1], [1, 1]), 12, staticSpatial: false);
        var (plain, aligned) = QuantizeBoth(symbolic, 1, 12);
        Assert.DoesNotContain(aligned.Graph.Nodes, n => n.OpType == "Slice");
        Assert.Equal([16L, 4, 3, 3], aligned.Graph.FindInitializer(aligned.Graph.FindProducer(aligned.Graph.FindNode("first")!.Inputs[1])!.Inputs[0])!.Dims);
        AssertSameOutputs(plain, aligned, 1, 12, "y");

        var wide = Model(new ConvSpec(1, 5, [2, 2, 2, 2], [1, 1], [1, 1]), 12);
        (plain, aligned) = QuantizeBoth(wide, 1, 12);
        Assert.DoesNotContain(aligned.Graph.Nodes, n => n.OpType == "Slice");
        AssertSameOutputs(plain, aligned, 1, 12, "y");
    }

    [Fact]
    public void TwoConvolutionsReadingOneInputAreBothRewritten()
    {
        var model = Model(new ConvSpec(1, 3, [1, 1, 1, 1], [1, 1], [1, 1]), 10, twoHeads: true);
        var (plain, aligned) = QuantizeBoth(model, 1, 10);
        Assert.Equal(18, aligned.Graph.Nodes.Count(n => n.OpType == "Slice"));
        AssertSameOutputs(plain, aligned, 1, 10, "y");
        var inputs = Inputs(1, 10, 4, 9);
        var z0 = RunAll(plain, inputs)["z"];
        var z1 = RunAll(aligned, inputs)["z"];
        // "z" is a float graph output: that Conv runs in float on dequantized values, so the two agree to float rounding.
        Assert.True(Cosine(z0, z1) > 0.99999, $"cosine {Cosine(z0, z1)}");
    }

    [Fact]
    public void AlignedConvolutionsAreLeftAlone()
    {
        var model = Model(new ConvSpec(8, 3, [1, 1, 1, 1], [1, 1], [1, 1]), 8);
        var calibration = new List<IReadOnlyDictionary<string, RuntimeTensor>> { Inputs(8, 8, 8, 1) };
        var quantized = StaticQuantizer.Quantize(model, calibration, new StaticQuantizationOptions()).Quantized.Model;
        Assert.Empty(IntegerConvAlignment.Apply(quantized));
        Assert.DoesNotContain(quantized.Graph.Nodes, n => n.Name.Contains(IntegerConvAlignment.NodeSuffix));
    }

    [Fact]
    public void AFloatConvIsLeftAlone()
    {
        var model = Model(new ConvSpec(1, 3, [1, 1, 1, 1], [1, 1], [1, 1]), 8);
        Assert.Empty(IntegerConvAlignment.Apply(model));
    }

    [Theory]
    [InlineData(1, 4)]
    [InlineData(4, 4)]
    [InlineData(5, 8)]
    [InlineData(8, 8)]
    [InlineData(9, 16)]
    [InlineData(16, 16)]
    public void Im2ColChannelsRoundTheTapsUp(int taps, int channels) => Assert.Equal(channels, IntegerConvAlignment.Im2ColChannels(taps));
}
