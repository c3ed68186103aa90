using Whittle.Data;
using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Tests.Training;

namespace Whittle.Tests.Runtime;

public class OnnxRuntimeSessionTests
{
    /// <summary>ORT on each PyTorch-exported fixture reproduces PyTorch's own output (saved by the fixture script).</summary>
    [Theory]
    [InlineData("pytorch_cnn_opset13")]
    [InlineData("fmnist_classifier")]
    [InlineData("cntk_style_ir3_opset8")]
    [InlineData("pytorch_resnet_opset13")]
    [InlineData("pytorch_transformer_opset17")]
    public void MatchesPyTorchOutputs(string name)
    {
        var input = NpyFile.Read(TestPaths.FixtureModel(name + ".input.npy"));
        var expected = NpyFile.Read(TestPaths.FixtureModel(name + ".output.npy"));
        using var session = new OnnxRuntimeSession(OnnxModel.Load(TestPaths.FixtureModel(name + ".onnx")));
        var shape = input.Shape.Select(d => (long)d).ToArray();
        var tensor = session.Inputs[0].ElementType == OnnxDataType.Int64
            ? RuntimeTensor.FromInt64s(input.ToInt64(), shape)
            : RuntimeTensor.FromFloats(input.ToFloat32(), shape);
        var output = session.Run(tensor);
        Assert.Equal(expected.Shape.Select(d => (long)d), output.Shape);
        var want = expected.ToFloat32();
        var got = output.AsFloats();
        var maxDiff = want.Zip(got).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff <= 1e-4, $"max abs difference {maxDiff}");
    }

    [Fact]
    public void BatchedInferenceEqualsOneBigRunWhateverTheBatchSize()
    {
        using var session = new OnnxRuntimeSession(OnnxModel.Load(TestPaths.FixtureModel("pytorch_cnn_opset13.onnx")));
        var rng = new Random(3);
        var features = Enumerable.Range(0, 37 * 784).Select(_ => (float)rng.NextDouble()).ToArray();
        var whole = session.Run(RuntimeTensor.FromFloats(features, 37, 1, 28, 28)).AsFloats();
        var reported = new List<int>();
        var batched = session.RunBatches(features, [1, 28, 28], batchSize: 8, progress: new InlineProgress<int>(reported.Add));
        Assert.Equal(new long[] { 37, 10 }, batched.Shape);
        var diff = whole.Zip(batched.AsFloats()).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(diff < 1e-5, $"batched differs by {diff}");
        Assert.Equal([8, 16, 24, 32, 37], reported);
    }

    [Fact]
    public void WrongInputsAreClearErrors()
    {
        using var session = new OnnxRuntimeSession(OnnxModel.Load(TestPaths.FixtureModel("pytorch_cnn_opset13.onnx")));
        var e = Assert.Throws<RuntimeException>(() => session.Run(RuntimeTensor.FromFloats(new float[2 * 784], 2, 784)));
        Assert.Contains("expects rank 4", e.Message);
        e = Assert.Throws<RuntimeException>(() => session.Run(RuntimeTensor.FromFloats(new float[2 * 2 * 28 * 28], 2, 2, 28, 28)));
        Assert.Contains("dimension 1", e.Message);
        e = Assert.Throws<RuntimeException>(() => session.Run(new Dictionary<string, RuntimeTensor> { ["nope"] = RuntimeTensor.FromFloats([1f], 1) }));
        Assert.Contains("missing input", e.Message);
    }

    [Fact]
    public void ModelsOrtRejectsGiveRuntimeExceptionNamingTheModel()
    {
        var m = OnnxModel.Create("broken", 13);
        m.Graph.AddInput(new OnnxValueInfo("x", OnnxDataType.Float, [new OnnxDim(1, null)]));
        m.Graph.AddNode(new OnnxNode("NoSuchOp", ["x"], ["y"], "mystery"));
        m.Graph.AddOutput(new OnnxValueInfo("y", OnnxDataType.Float, null));
        var e = Assert.Throws<RuntimeException>(() => new OnnxRuntimeSession(m));
        Assert.Contains("ONNX Runtime cannot load the model", e.Message);
    }

    [Fact]
    public void CapturesIntermediateTensorsWithoutTouchingTheModel()
    {
        var model = OnnxModel.Load(TestPaths.FixtureModel("pytorch_cnn_opset13.onnx"));
        var before = model.ToBytes();
        var relus = model.Graph.Nodes.Where(n => n.OpType == "Relu").Select(n => n.Outputs[0]).ToList();
        var input = RuntimeTensor.FromFloats(new float[2 * 784].Select((_, i) => (i % 17) / 17f).ToArray(), 2, 1, 28, 28);
        var captured = IntermediateCapture.Capture(model, new Dictionary<string, RuntimeTensor> { ["input"] = input }, relus);
        Assert.Equal(relus.Count, captured.Count);
        Assert.All(captured.Values, t => Assert.True(t.AsFloats().All(v => v >= 0f)));
        Assert.Equal(2, captured[relus[0]].Shape[0]);
        Assert.Equal(before, model.ToBytes());
        Assert.Throws<OnnxException>(() => IntermediateCapture.WithOutputs(model, ["no_such_value", "nor_this"]));
    }

    [Fact]
    public void InterleavedLatencyBenchmarkTimesEveryRunOfEveryModel()
    {
        using var a = new OnnxRuntimeSession(OnnxModel.Load(TestPaths.FixtureModel("pytorch_cnn_opset13.onnx")), RuntimeOptions.ForComparison(1));
        using var b = new OnnxRuntimeSession(OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx")), RuntimeOptions.ForComparison(1));
        var results = LatencyBenchmark.MeasureInterleaved([a, b], 4, new LatencyBenchmarkOptions(runs: 7, warmupRuns: 1));
        Assert.Equal(2, results.Count);
        Assert.All(results, r => { Assert.Equal(7, r.Milliseconds.Length); Assert.All(r.Milliseconds, ms => Assert.True(ms > 0)); });
        Assert.True(ProcessMemory.PeakResidentBytes() > 10_000_000);
    }
}
