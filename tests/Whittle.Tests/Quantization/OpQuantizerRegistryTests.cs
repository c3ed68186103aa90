using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;
using Whittle.Zoo;

namespace Whittle.Tests.Quantization;

public class OpQuantizerRegistryTests
{
    /// <summary>
    /// A user's quantizer for LeakyRelu, which Whittle leaves in float: like MaxPool, its output
    /// shares its input's scale and zero point (a LeakyRelu only shrinks negative values).
    /// </summary>
    private sealed class LeakyReluQuantizer : IOpQuantizer
    {
        public IReadOnlyList<string> OpTypes { get; } = ["LeakyRelu"];

        public string? Mark(OnnxNode node, MarkingContext context)
        {
            context.Activation(node.Inputs[0]);
            context.Shared(node.Outputs[0], node.Inputs[0]);
            return null;
        }
    }

    /// <summary>Claims Conv, which Whittle's ConvQuantizer already handles.</summary>
    private sealed class SecondConvQuantizer : IOpQuantizer
    {
        public IReadOnlyList<string> OpTypes { get; } = ["Relu", "Conv"];

        public string? Mark(OnnxNode node, MarkingContext context) => null;
    }

    /// <summary>An MLP classifier whose hidden activation is a LeakyRelu (α = 0.1) named "leaky".</summary>
    private static OnnxModel MlpWithLeakyRelu()
    {
        var model = Mlp.Create(new MlpOptions(inputShape: [8], hiddenSizes: [16], classes: 3, dropout: 0, seed: 4));
        var g = model.Graph;
        var relu = g.Nodes.Single(n => n.OpType == "Relu");
        var leaky = new OnnxNode("LeakyRelu", relu.Inputs, relu.Outputs, "leaky");
        leaky.SetAttribute("alpha", 0.1f);
        g.ReplaceNode(relu, leaky);
        return model;
    }

    private static List<IReadOnlyDictionary<string, RuntimeTensor>> Batches(OnnxModel model)
    {
        using var s = new OnnxRuntimeSession(model);
        return Enumerable.Range(0, 3).Select(i => (IReadOnlyDictionary<string, RuntimeTensor>)s.SampleInputs(16, seed: i)).ToList();
    }

    [Fact]
    public void A_users_quantizer_marks_an_op_type_whittle_leaves_in_float()
    {
        var model = MlpWithLeakyRelu();
        var leaky = model.Graph.FindNode("leaky")!;
        var (input, output) = (leaky.Inputs[0], leaky.Outputs[0]);
        var batches = Batches(model);
        var plain = StaticQuantizer.Quantize(model, batches, new StaticQuantizationOptions());
        Assert.Equal("op type not quantized", plain.Marking.Nodes.Single(n => n.Node == "leaky").Reason);
        // Without the user's quantizer the output is an activation of the next Gemm, calibrated on its own.
        Assert.IsType<ActivationMark>(plain.Marking.Marks[output]);
        Assert.NotEqual(plain.Quantized.Parameters[input], plain.Quantized.Parameters[output]);

        var registry = OpQuantizerRegistry.Default.With(new LeakyReluQuantizer());
        Assert.Contains("LeakyRelu", registry.OpTypes);
        Assert.DoesNotContain("LeakyRelu", OpQuantizerRegistry.Default.OpTypes);
        var custom = StaticQuantizer.Quantize(model, batches, new StaticQuantizationOptions(opQuantizers: registry));

        var decision = custom.Marking.Nodes.Single(n => n.Node == "leaky");
        Assert.True(decision.Quantized);
        Assert.Null(decision.Reason);
        Assert.Equal(new SharedMark(output, input), custom.Marking.Marks[output]);
        Assert.Equal(custom.Quantized.Parameters[input], custom.Quantized.Parameters[output]);
        var g = custom.Quantized.Model.Graph;
        Assert.Equal("DequantizeLinear", g.FindProducer(g.FindNode("leaky")!.Inputs[0])!.OpType);

        // ONNX Runtime runs it, and the logits stay close to the float model's.
        using var reference = new OnnxRuntimeSession(model);
        using var quantized = new OnnxRuntimeSession(custom.Quantized.Model);
        var expected = reference.Run(batches[0]).Values.Single().AsFloats();
        var actual = quantized.Run(batches[0]).Values.Single().AsFloats();
        double scale = expected.Max(v => Math.Abs(v));
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 0.05 * scale, $"{i}: {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void Op_types_must_be_handled_by_the_registry_in_use()
    {
        var unknown = Assert.Throws<InvalidOptionException>(() => new StaticQuantizationOptions(opTypes: ["LeakyRelu"]));
        Assert.Equal("OpTypes", unknown.Option);
        Assert.StartsWith("cannot quantize op type(s) LeakyRelu; supported: Add, AveragePool, ", unknown.Message);
        new StaticQuantizationOptions(opTypes: ["LeakyRelu", "Gemm"], opQuantizers: OpQuantizerRegistry.Default.With(new LeakyReluQuantizer()));

        // Only the selected op types are marked, the user's among them.
        var model = MlpWithLeakyRelu();
        var marking = QuantizationMarker.Mark(StaticQuantizer.Prepare(model).Model,
            new StaticQuantizationOptions(opTypes: ["LeakyRelu"], opQuantizers: OpQuantizerRegistry.Default.With(new LeakyReluQuantizer())));
        Assert.Equal(["leaky"], marking.Nodes.Where(n => n.Quantized).Select(n => n.Node));
    }

    [Fact]
    public void Two_quantizers_for_one_op_type_fail_when_the_registry_is_built()
    {
        var e = Assert.Throws<ArgumentException>(() => OpQuantizerRegistry.Default.With(new SecondConvQuantizer()));
        Assert.Equal("quantizers", e.ParamName);
        Assert.StartsWith("duplicate quantizer for Relu: Whittle.Quantization.ElementwiseQuantizer and Whittle.Tests.Quantization.OpQuantizerRegistryTests+SecondConvQuantizer", e.Message);
        Assert.Throws<ArgumentException>(() => new OpQuantizerRegistry([new LeakyReluQuantizer(), new LeakyReluQuantizer()]));

        // Replacing a built-in quantizer: a registry without it.
        var withoutConv = new OpQuantizerRegistry(OpQuantizerRegistry.Default.Quantizers.Where(q => q is not ConvQuantizer));
        Assert.Null(withoutConv.Find("Conv"));
        Assert.IsType<GemmQuantizer>(withoutConv.Find("Gemm"));
    }
}
