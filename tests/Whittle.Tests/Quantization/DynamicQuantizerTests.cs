using Whittle.Data;
using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;
using Whittle.Zoo;
using static Whittle.Tests.Quantization.QuantizedModelChecks;

namespace Whittle.Tests.Quantization;

public class DynamicQuantizerTests
{
    private static Dictionary<string, RuntimeTensor> TransformerInputs()
    {
        var ids = NpyFile.Read(TestPaths.FixtureModel("pytorch_transformer_opset17.input.npy"));
        var rng = new Random(7);
        // The fixture's ids plus 8 random sequences of 16 tokens from the 100-token vocabulary.
        var fixture = ids.ToFloat32().Select(v => (long)v).ToArray();
        var random = Enumerable.Range(0, 8 * 16).Select(_ => (long)rng.Next(100));
        var all = fixture.Concat(random).ToArray();
        return new() { ["input_ids"] = RuntimeTensor.FromInt64s(all, all.Length / 16, 16) };
    }

    [Fact]
    public void TransformerMatMulsGemmAndEmbeddingAreQuantizedAndOrtFusesThem()
    {
        var source = OnnxModel.Load(TestPaths.FixtureModel("pytorch_transformer_opset17.onnx"));
        var before = source.ToBytes();
        var (quantized, report) = DynamicQuantizer.Quantize(source);
        Assert.Equal(before, source.ToBytes()); // the input model is not modified

        // 6 MatMuls with weights + the head Gemm + the token embedding; the two attention MatMuls
        // multiply activations and stay in float.
        Assert.Equal(8, report.QuantizedCount);
        Assert.Equal(2, report.Nodes.Count(n => !n.Quantized && n.Detail == "the weight (input B) is not an initializer"));
        var ops = quantized.Graph.OpHistogram();
        Assert.Equal(7, ops["DynamicQuantizeLinear"]);
        Assert.Equal(7, ops["MatMulInteger"]);
        Assert.Equal(2, ops["MatMul"]);
        Assert.False(ops.ContainsKey("Gemm"));
        Assert.True(quantized.Validate().IsValid, string.Join("; ", quantized.Validate().Errors));
        Assert.Equal(17, report.OpsetAfter);

        // ORT's CPU optimizer fuses every quantized MatMul: MatMulInteger + Cast + Mul (+ bias Add) become
        // MatMulIntegerToFloat, and where the DynamicQuantizeLinear feeds only that node, DynamicQuantizeMatMul.
        // ORT first merges the identical DynamicQuantizeLinear nodes of Q, K and V (same input), so those
        // three share one quantized activation and stay MatMulIntegerToFloat.
        var optimized = OptimizedOpHistogram(quantized);
        Assert.Equal(4, optimized.GetValueOrDefault("com.microsoft.DynamicQuantizeMatMul"));
        Assert.Equal(3, optimized.GetValueOrDefault("com.microsoft.MatMulIntegerToFloat"));
        Assert.Equal(1, optimized.GetValueOrDefault("DynamicQuantizeLinear"));
        Assert.False(optimized.ContainsKey("MatMulInteger"));

        var inputs = TransformerInputs();
        var reference = RunAll(source, inputs)["logits"];
        var actual = RunAll(quantized, inputs)["logits"];
        Assert.True(Cosine(reference, actual) >= 0.999, $"cosine {Cosine(reference, actual)}");
        double sqnr = QuantizationError.Sqnr(reference, actual);
        Assert.True(sqnr >= 30, $"SQNR {sqnr:F1} dB");
        // 4-byte floats became 1-byte ints plus one scale per column/row.
        Assert.True(report.InitializerBytesAfter < 0.4 * report.InitializerBytesBefore,
            $"{report.InitializerBytesBefore} -> {report.InitializerBytesAfter} bytes");
    }

    [Fact]
    public void MlpGemmsAgreeWithTheFloatModel()
    {
        var source = ModelZoo.Create("mlp");
        var (quantized, report) = DynamicQuantizer.Quantize(source, new DynamicQuantizationOptions(perTensor: true));
        Assert.Equal(3, report.QuantizedCount);
        Assert.All(report.Nodes, n => Assert.Contains("per tensor, transposed", n.Detail));
        using var session = new OnnxRuntimeSession(source);
        var inputs = session.SampleInputs(batchSize: 16, seed: 3);
        var reference = RunAll(source, inputs).Values.Single();
        var actual = RunAll(quantized, inputs).Values.Single();
        double sqnr = QuantizationError.Sqnr(reference, actual);
        Assert.True(sqnr >= 25, $"SQNR {sqnr:F1} dB");
        Assert.True(Cosine(reference, actual) >= 0.99, $"cosine {Cosine(reference, actual)}");
    }

    // x [3, 8] feeds: Gemm(x, W, C, beta 2) -> y1; MatMul(x2, W) -> y2 (same weight, shared);
    // Gemm(x, W2 [5, 8], transB 1, alpha 0.5) -> y3; Gather(T [10, 4], ids) -> y4.
    private static OnnxModel HandBuilt(long opset = 13)
    {
        var m = OnnxModel.Create("hand", opset);
        var g = m.Graph;
        g.AddInput(new OnnxValueInfo("x", OnnxDataType.Float, [new OnnxDim(3, null), new OnnxDim(8, null)]));
        g.AddInput(new OnnxValueInfo("x2", OnnxDataType.Float, [new OnnxDim(2, null), new OnnxDim(8, null)]));
        g.AddInput(new OnnxValueInfo("ids", OnnxDataType.Int64, [new OnnxDim(3, null)]));
        g.AddInitializer(OnnxTensor.FromFloats("W", [8, 5], Normal(40, 1)));
        g.AddInitializer(OnnxTensor.FromFloats("C", [5], Normal(5, 2)));
        g.AddInitializer(OnnxTensor.FromFloats("W2", [5, 8], Normal(40, 3)));
        g.AddInitializer(OnnxTensor.FromFloats("T", [10, 4], Normal(40, 4)));
        g.AddNode(new OnnxNode("Gemm", ["x", "W", "C"], ["y1"], "gemm_bias")).SetAttribute("beta", 2f);
        g.AddNode(new OnnxNode("MatMul", ["x2", "W"], ["y2"], "matmul_shared"));
        // Gemm's C is optional from opset 11 on; older graphs need one.
        if (opset < 11) g.AddInitializer(OnnxTensor.FromFloats("C2", [5], Normal(5, 5)));
        var t = g.AddNode(new OnnxNode("Gemm", opset < 11 ? ["x", "W2", "C2"] : ["x", "W2"], ["y3"], "gemm_transposed"));
        t.SetAttribute("transB", 1L);
        t.SetAttribute("alpha", 0.5f);
        g.AddNode(new OnnxNode("Gather", ["T", "ids"], ["y4"], "embedding"));
        foreach (var y in new[] { "y1", "y2", "y3", "y4" }) g.AddOutput(new OnnxValueInfo(y, OnnxDataType.Float, null));
        return m;
    }

    private static Dictionary<string, RuntimeTensor> HandInputs() => new()
    {
        ["x"] = RuntimeTensor.FromFloats(Normal(24, 10), 3, 8),
        ["x2"] = RuntimeTensor.FromFloats(Normal(16, 11), 2, 8),
        ["ids"] = RuntimeTensor.FromInt64s([9, 0, 4], 3),
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GemmAttributesSharedWeightsAndEmbeddingsAreHonoured(bool perTensor)
    {
        var source = HandBuilt();
        var (quantized, report) = DynamicQuantizer.Quantize(source, new DynamicQuantizationOptions(perTensor: perTensor));
        Assert.Equal(4, report.QuantizedCount);
        var shared = report.Nodes.Single(n => n.Node == "matmul_shared");
        Assert.Equal("reuses the int8 weight quantized for 'gemm_bias' (shared initializer)", shared.Detail);
        Assert.Equal(0, shared.WeightBytesBefore);
        Assert.Single(quantized.Graph.Initializers, t => t.Name.StartsWith("W_quantized", StringComparison.Ordinal));
        Assert.Contains("alpha 0.5 folded in", report.Nodes.Single(n => n.Node == "gemm_transposed").Detail);
        Assert.Contains("beta 2 applied to C", report.Nodes.Single(n => n.Node == "gemm_bias").Detail);
        // Per row: W [8, 5] int8 = 40 bytes + 5 scales (20) + zero point (1).
        if (!perTensor) Assert.Equal(61, report.Nodes.Single(n => n.Node == "gemm_bias").WeightBytesAfter);
        Assert.Equal(perTensor ? 1 : 0, quantized.Graph.OpHistogram().GetValueOrDefault("DequantizeLinear"));

        var inputs = HandInputs();
        var reference = RunAll(source, inputs);
        var actual = RunAll(quantized, inputs);
        foreach (var y in new[] { "y1", "y2", "y3", "y4" })
        {
            double sqnr = QuantizationError.Sqnr(reference[y], actual[y]);
            // Weights and activations each carry ~8 bits (≈ 40 dB for N(0,1) data); the table only its own rounding.
            Assert.True(sqnr >= (y == "y4" ? 35 : 28), $"{y}: SQNR {sqnr:F1} dB");
        }
    }

    [Fact]
    public void ExclusionsAndOpSelectionAreReported()
    {
        var (quantized, report) = DynamicQuantizer.Quantize(HandBuilt(),
            new DynamicQuantizationOptions(ops: [DynamicQuantizationOp.Gemm, DynamicQuantizationOp.Gather], exclude: ["gemm_transposed", "Gather"]));
        Assert.Equal(["gemm_bias"], report.Nodes.Where(n => n.Quantized).Select(n => n.Node));
        Assert.Equal("excluded by rule 'gemm_transposed'", report.Nodes.Single(n => n.Node == "gemm_transposed").Detail);
        Assert.Equal("excluded by rule 'Gather'", report.Nodes.Single(n => n.Node == "embedding").Detail);
        Assert.Equal("op type not selected", report.Nodes.Single(n => n.Node == "matmul_shared").Detail);
        Assert.Equal(1, quantized.Graph.OpHistogram()["Gather"]);
    }

    [Fact]
    public void AnExclusionRuleThatMatchesNothingIsAnError()
    {
        var e = Assert.Throws<InvalidOptionException>(() => DynamicQuantizer.Quantize(HandBuilt(), new DynamicQuantizationOptions(exclude: ["gemm_bias", "no_such_node", "Conv"])));
        Assert.Equal("Exclude", e.Option);
        Assert.Equal("Exclude: 'no_such_node', 'Conv' match no node name or op type in graph 'hand'", e.Message);
        Assert.Equal("Ops", Assert.Throws<InvalidOptionException>(() => new DynamicQuantizationOptions(ops: [])).Option);
        Assert.Equal("Ops gives Gemm twice", Assert.Throws<InvalidOptionException>(() => new DynamicQuantizationOptions(ops: [DynamicQuantizationOp.Gemm, DynamicQuantizationOp.Gemm])).Message);
        Assert.Equal("Exclude: rule 'a' is given twice", Assert.Throws<InvalidOptionException>(() => new DynamicQuantizationOptions(exclude: ["a", "a"])).Message);
    }

    [Fact]
    public void OldOpsetIsRaisedOnlyWhenNothingElseChangesMeaning()
    {
        // Opset 9 MatMul/Gemm/Gather graph: every op means the same at 11, so the import is raised.
        var (raised, report) = DynamicQuantizer.Quantize(HandBuilt(opset: 9));
        Assert.Equal((9L, 11L), (report.OpsetBefore, report.OpsetAfter));
        Assert.Equal(11, raised.GetOpset(""));
        var reference = RunAll(HandBuilt(opset: 9), HandInputs());
        var actual = RunAll(raised, HandInputs());
        Assert.True(QuantizationError.Sqnr(reference["y1"], actual["y1"]) >= 28);

        // Clip-6 keeps min/max as attributes; at opset 11 they are inputs, so the upgrade converts them.
        var clipped = HandBuilt(opset: 9);
        var clip = clipped.Graph.AddNode(new OnnxNode("Clip", ["y1"], ["z"], "clip6"));
        clip.SetAttribute("min", 0f);
        clipped.Graph.AddOutput(new OnnxValueInfo("z", OnnxDataType.Float, null));
        var (converted, _) = DynamicQuantizer.Quantize(clipped);
        var convertedClip = converted.Graph.Nodes.Single(n => n.OpType == "Clip");
        Assert.False(convertedClip.HasAttribute("min"));
        Assert.Equal(3, convertedClip.Inputs.Count);
        Assert.All(RunAll(converted, HandInputs())["z"], v => Assert.True(v >= 0));

        // An op whose meaning changed with no conversion (Upsample became Resize) blocks the upgrade, named with its node.
        var upsampled = HandBuilt(opset: 9);
        upsampled.Graph.AddNode(new OnnxNode("Upsample", ["y1", "scales"], ["u"], "up9"));
        var e = Assert.Throws<OnnxException>(() => DynamicQuantizer.Quantize(upsampled));
        Assert.Contains("from opset 9 to 11", e.Message);
        Assert.Contains("Upsample ('up9')", e.Message);
    }
}
