using Whittle.Data;
using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;
using Whittle.Zoo;
using static Whittle.Tests.Quantization.QuantizedModelChecks;

namespace Whittle.Tests.Quantization;

public class Int4WeightQuantizerTests
{
    [Fact]
    public void PackingOfA32By2WeightByHand()
    {
        // W [K=32, N=2], one block of 32 per column.
        // Column 0: (k mod 16) − 3, range [−3, 12]: scale 15/15 = 1, zero point round(3/1) = 3, q = k mod 16.
        // Column 1: −1.5 for k < 16, 6 after: range 7.5, scale 0.5, zero point round(1.5/0.5) = 3,
        //           q(−1.5) = −3 + 3 = 0, q(6) = 12 + 3 = 15.
        var w = new float[64];
        for (int k = 0; k < 32; k++)
        {
            w[k * 2] = (k % 16) - 3;
            w[k * 2 + 1] = k < 16 ? -1.5f : 6f;
        }
        var blocks = BlockwiseInt4.Quantize(w, 32, 2, 32, symmetric: false);
        // Two values per byte, the first in the low nibble: (0, 1) -> 0x10, (2, 3) -> 0x32, ...
        byte[] column0 = [0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE];
        byte[] column1 = [.. Enumerable.Repeat((byte)0x00, 8), .. Enumerable.Repeat((byte)0xFF, 8)];
        Assert.Equal([.. column0, .. column0, .. column1], blocks.Packed);
        Assert.Equal([1f, 0.5f], blocks.Scales);
        Assert.Equal([3, 3], blocks.ZeroPoints);
        Assert.Equal([0x03, 0x03], blocks.PackedZeroPoints());
        // Every value is on the grid, so dequantization gives W back exactly, and it is QuantMath's.
        var back = BlockwiseInt4.Dequantize(blocks);
        Assert.Equal(w, back);
        var viaQuantMath = new float[16];
        QuantMath.Dequantize(Enumerable.Range(0, 16).ToArray(), 1f, 3, viaQuantMath);
        Assert.Equal(viaQuantMath, Enumerable.Range(0, 16).Select(k => back[k * 2]).ToArray());
    }

    [Fact]
    public void ALastPartialBlockIsPaddedWithZerosThatQuantizeToTheZeroPoint()
    {
        // W [K=40, N=1], blocks of 32: block 0 = 32 × 1.0: range [0, 1], scale 1/15, zero point 0, q = 15.
        // Block 1 = 8 × −2.0 then 24 padding zeros: range [−2, 0], scale 2/15, zero point round(2/(2/15)) = 15,
        // q(−2) = −15 + 15 = 0, q(0) = 15.
        var w = Enumerable.Repeat(1f, 32).Concat(Enumerable.Repeat(-2f, 8)).ToArray();
        var blocks = BlockwiseInt4.Quantize(w, 40, 1, 32, symmetric: false);
        Assert.Equal(2, blocks.BlocksPerColumn);
        byte[] expected = [.. Enumerable.Repeat((byte)0xFF, 16), .. Enumerable.Repeat((byte)0x00, 4), .. Enumerable.Repeat((byte)0xFF, 12)];
        Assert.Equal(expected, blocks.Packed);
        Assert.Equal([(float)(1.0 / 15), (float)(2.0 / 15)], blocks.Scales);
        Assert.Equal([0, 15], blocks.ZeroPoints);
        Assert.Equal([0xF0], blocks.PackedZeroPoints()); // block 0 low nibble, block 1 high nibble
        var back = BlockwiseInt4.Dequantize(blocks);
        Assert.Equal(40, back.Length);
        Assert.All(back.Take(32), v => Assert.Equal(15 * (float)(1.0 / 15), v));
        Assert.All(back.Skip(32), v => Assert.Equal(-15 * (float)(2.0 / 15), v));
    }

    [Fact]
    public void SymmetricBlocksUseZeroPointEight()
    {
        var w = Normal(64 * 3, 5);
        var blocks = BlockwiseInt4.Quantize(w, 64, 3, 16, symmetric: true);
        Assert.All(blocks.ZeroPoints, z => Assert.Equal(8, z));
        Assert.Equal("BlockSize must be a power of two and at least 16 (e.g. 32, 64, 128), got 48",
            Assert.Throws<InvalidOptionException>(() => new Int4QuantizationOptions(blockSize: 48)).Message);
        Assert.Equal("BlockSize", Assert.Throws<InvalidOptionException>(() => new Int4QuantizationOptions(blockSize: 8)).Option);
    }

    [Theory]
    [InlineData(32, false, Int4AccuracyLevel.Unset)]
    [InlineData(16, true, Int4AccuracyLevel.Unset)]
    [InlineData(64, false, Int4AccuracyLevel.Float32)]
    public void OrtMatMulNBitsEqualsAFloatMatMulWithTheDequantizedWeight(int blockSize, bool symmetric, Int4AccuracyLevel level)
    {
        // K = 40 is not a multiple of any block size: the padding path runs in ORT too.
        const int k = 40, n = 24, m = 5;
        var weight = Normal(k * n, 21);
        OnnxModel Build(float[] w)
        {
            var model = OnnxModel.Create("mm", 13);
            model.Graph.AddInput(new OnnxValueInfo("a", OnnxDataType.Float, [new OnnxDim(m, null), new OnnxDim(k, null)]));
            model.Graph.AddInitializer(OnnxTensor.FromFloats("w", [k, n], w));
            model.Graph.AddNode(new OnnxNode("MatMul", ["a", "w"], ["y"], "mm"));
            model.Graph.AddOutput(new OnnxValueInfo("y", OnnxDataType.Float, null));
            return model;
        }
        var (quantized, report) = Int4WeightQuantizer.Quantize(Build(weight), new Int4QuantizationOptions(blockSize, symmetric, accuracyLevel: level));
        Assert.Equal(1, quantized.Graph.OpHistogram()["com.microsoft.MatMulNBits"]);
        Assert.Contains($"last block padded from {k % blockSize}", report.Nodes.Single().Detail);
        var dequantized = BlockwiseInt4.Dequantize(BlockwiseInt4.Quantize(weight, k, n, blockSize, symmetric));
        var inputs = new Dictionary<string, RuntimeTensor> { ["a"] = RuntimeTensor.FromFloats(Normal(m * k, 22), m, k) };
        var expected = RunAll(Build(dequantized), inputs)["y"];
        var actual = RunAll(quantized, inputs)["y"];
        // Same math, different summation order: float32 rounding only.
        Assert.True(QuantizationError.MaxAbsError(expected, actual) <= 1e-4, $"max |Δ| {QuantizationError.MaxAbsError(expected, actual)}");
    }

    [Fact]
    public void MlpGemmsBecomeMatMulNBitsAndAgreeWithTheFloatModel()
    {
        var source = ModelZoo.Create("mlp");
        var before = source.ToBytes();
        var (quantized, report) = Int4WeightQuantizer.Quantize(source);
        Assert.Equal(before, source.ToBytes());
        Assert.Equal(3, report.QuantizedCount);
        var ops = quantized.Graph.OpHistogram();
        Assert.Equal(3, ops["com.microsoft.MatMulNBits"]);
        Assert.Equal(3, ops["Add"]); // the Gemm biases, added after
        Assert.False(ops.ContainsKey("Gemm"));
        Assert.Equal(1, quantized.GetOpset("com.microsoft"));
        // 784 inputs in blocks of 32: 24 full blocks and one of 16, padded.
        Assert.Contains("int4 [784, 256] in blocks of 32, transposed, last block padded from 16", report.Nodes[0].Detail);
        // Per column of the first layer: 25 blocks × 16 bytes + 25 float scales + 13 zero-point bytes.
        Assert.Equal(256L * 784 * 4, report.Nodes[0].WeightBytesBefore);
        Assert.Equal(256L * (25 * 16 + 25 * 4 + 13), report.Nodes[0].WeightBytesAfter);

        using var session = new OnnxRuntimeSession(source);
        var inputs = session.SampleInputs(batchSize: 16, seed: 3);
        var reference = RunAll(source, inputs).Values.Single();
        var actual = RunAll(quantized, inputs).Values.Single();
        double sqnr = QuantizationError.Sqnr(reference, actual);
        Assert.True(sqnr >= 15, $"SQNR {sqnr:F1} dB");
        Assert.True(Cosine(reference, actual) >= 0.98, $"cosine {Cosine(reference, actual)}");
    }

    [Fact]
    public void TransformerWeightsBecomeMatMulNBits()
    {
        var source = OnnxModel.Load(TestPaths.FixtureModel("pytorch_transformer_opset17.onnx"));
        var (quantized, report) = Int4WeightQuantizer.Quantize(source, new Int4QuantizationOptions(exclude: ["Gemm"]));
        Assert.Equal(6, report.QuantizedCount);
        Assert.Equal("excluded by rule 'Gemm'", report.Nodes.Single(n => n.OpType == "Gemm").Detail);
        Assert.Equal(2, report.Nodes.Count(n => n.Detail == "the weight (input B) is not an initializer"));
        Assert.Equal(6, quantized.Graph.OpHistogram()["com.microsoft.MatMulNBits"]);
        Assert.True(report.InitializerBytesAfter < report.InitializerBytesBefore);

        var ids = NpyFile.Read(TestPaths.FixtureModel("pytorch_transformer_opset17.input.npy")).ToFloat32().Select(v => (long)v).ToArray();
        var inputs = new Dictionary<string, RuntimeTensor> { ["input_ids"] = RuntimeTensor.FromInt64s(ids, ids.Length / 16, 16) };
        var reference = RunAll(source, inputs)["logits"];
        var actual = RunAll(quantized, inputs)["logits"];
        double sqnr = QuantizationError.Sqnr(reference, actual);
        Assert.True(sqnr >= 15, $"SQNR {sqnr:F1} dB");
    }

    [Fact]
    public void AnExclusionRuleThatMatchesNothingIsAnError()
    {
        var e = Assert.Throws<InvalidOptionException>(() => Int4WeightQuantizer.Quantize(ModelZoo.Create("mlp"), new Int4QuantizationOptions(exclude: ["fc9"])));
        Assert.Equal("Exclude", e.Option);
        Assert.Contains("'fc9' matches no node name or op type", e.Message);
    }
}
