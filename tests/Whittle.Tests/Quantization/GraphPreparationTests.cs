using Whittle.Data;
using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;
using Whittle.Tests.Cli;

namespace Whittle.Tests.Quantization;

public class BatchNormFoldingTests
{
    [Fact]
    public void FoldingTableByHand()
    {
        // gamma 2, var 3, eps 1 -> s = 2/sqrt(4) = 1;  gamma 1, var 0.25, eps 0 -> s = 1/0.5 = 2.
        var s = BatchNormFolding.ChannelScale([2f, 1f], [3f, 0.25f], 1f);
        Assert.Equal(1.0, s[0], 12);
        Assert.Equal(1 / Math.Sqrt(1.25), s[1], 12); // eps applies to every channel: 1/sqrt(0.25 + 1)
        var t = new double[] { 1, 2 };
        // Conv-style [O=2, 2]: channel 0 unchanged, channel 1 doubled.
        var w = new float[] { 1, 2, 3, 4 };
        BatchNormFolding.ScaleWeights(w, t, channelsOuter: true);
        Assert.Equal(new float[] { 1, 2, 6, 8 }, w);
        // Gemm transB=0 [I=2, O=2]: columns are channels.
        var v = new float[] { 1, 2, 3, 4 };
        BatchNormFolding.ScaleWeights(v, t, channelsOuter: false);
        Assert.Equal(new float[] { 1, 4, 3, 8 }, v);
        // b' = (b - mean) * s + beta: (0.5 - 1) * 1 + 3 = 2.5;  (0 - (-1)) * 2 + 0 = 2.
        Assert.Equal(new float[] { 2.5f, 2f }, BatchNormFolding.FoldedBias([0.5f, 0f], [1f, -1f], [3f, 0f], t));
        Assert.Equal(new float[] { 2f, 2f }, BatchNormFolding.FoldedBias([], [1f, -1f], [3f, 0f], t));
    }
}

public class GraphPreparationTests
{
    [Theory]
    [InlineData("pytorch_cnn_opset13.onnx", 2)]
    [InlineData("pytorch_resnet_opset13.onnx", 9)]
    [InlineData("fmnist_classifier.onnx", 2)]
    public void FoldedModelsEqualTheOriginalWithin1e5(string name, int batchNorms)
    {
        var source = OnnxModel.Load(TestPaths.FixtureModel(name));
        var before = source.ToBytes();
        var (folded, report) = GraphPreparation.FoldBatchNorms(source);
        Assert.Equal(before, source.ToBytes()); // the input is not touched
        Assert.Equal(batchNorms, report.Changed.Count);
        Assert.DoesNotContain(folded.Graph.Nodes, n => n.OpType == "BatchNormalization");
        Assert.Equal(source.Graph.Nodes.Count - batchNorms, folded.Graph.Nodes.Count);
        Assert.True(folded.Validate().IsValid);
        var input = NpyFile.Read(TestPaths.FixtureModel(Path.ChangeExtension(name, ".input.npy")));
        var x = RuntimeTensor.FromFloats(input.ToFloat32(), input.Shape.Select(d => (long)d).ToArray());
        using var a = new OnnxRuntimeSession(source);
        using var b = new OnnxRuntimeSession(folded);
        var diff = a.Run(x).AsFloats().Zip(b.Run(x).AsFloats()).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(diff <= 1e-5, $"max |Δ| {diff}");
    }

    [Fact]
    public void BatchNormAfterSomethingElseIsLeftInPlaceWithTheReason()
    {
        // CNTK-style: the conv bias is a separate Add, so the BatchNormalization follows an Add.
        var source = OnnxModel.Load(TestPaths.FixtureModel("cntk_style_ir3_opset8.onnx"));
        var (folded, report) = GraphPreparation.FoldBatchNorms(source);
        Assert.Empty(report.Changed);
        Assert.Contains(report.Skipped, s => s.Contains("not produced by a Conv or Gemm (Add)"));
        Assert.Equal(source.ToBytes(), folded.ToBytes());
    }

    [Fact]
    public void IdentityAndDropoutAreRemoved()
    {
        var m = OnnxModel.Create("g", 13);
        var g = m.Graph;
        g.AddInput(new OnnxValueInfo("x", OnnxDataType.Float, [new OnnxDim(2, null), new OnnxDim(3, null)]));
        g.AddNode(new OnnxNode("Relu", ["x"], ["a"], "relu"));
        g.AddNode(new OnnxNode("Dropout", ["a"], ["b"], "drop"));
        g.AddNode(new OnnxNode("Identity", ["b"], ["c"], "id"));
        g.AddNode(new OnnxNode("Sigmoid", ["c"], ["y"], "sig"));
        g.AddNode(new OnnxNode("Identity", ["y"], ["out"], "id_out"));
        g.AddOutput(new OnnxValueInfo("out", OnnxDataType.Float, null));
        var (clean, report) = GraphPreparation.RemoveIdentityAndDropout(m);
        Assert.Equal(3, report.Changed.Count);
        Assert.Equal(["Relu", "Sigmoid"], clean.Graph.Nodes.Select(n => n.OpType));
        Assert.Equal(["out"], clean.Graph.Outputs.Select(o => o.Name)); // the graph output keeps its name
        Assert.True(clean.Validate().IsValid, string.Join("; ", clean.Validate().Errors));
    }

    [Fact]
    public void FoldBnCommandVerifiesAndWritesAtomically()
    {
        var dir = TestPaths.TempDir();
        var output = Path.Combine(dir, "folded.onnx");
        var r = CliRunner.Run("fold-bn", TestPaths.FixtureModel("pytorch_resnet_opset13.onnx"), "-o", output, "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var json = System.Text.Json.JsonDocument.Parse(r.Output).RootElement;
        Assert.Equal(31, json.GetProperty("nodesBefore").GetInt32());
        Assert.Equal(22, json.GetProperty("nodesAfter").GetInt32());
        Assert.True(json.GetProperty("maxAbsDifference").GetDouble() <= 1e-5);
        Assert.Equal([Path.GetFileName(output)], Directory.GetFiles(dir).Select(Path.GetFileName));
        Assert.Equal(2, CliRunner.Run("fold-bn", TestPaths.FixtureModel("pytorch_resnet_opset13.onnx"), "-o", TestPaths.FixtureModel("pytorch_resnet_opset13.onnx")).ExitCode);
    }
}
