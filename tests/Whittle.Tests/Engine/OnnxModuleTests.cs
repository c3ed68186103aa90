using Whittle.Data;
using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Runtime;
using static TorchSharp.torch;

namespace Whittle.Tests.Engine;

public class OnnxModuleTests
{
    private static (OnnxModel Model, NpyArray Input) Fixture(string name) =>
        (OnnxModel.Load(TestPaths.FixtureModel(name + ".onnx")), NpyFile.Read(TestPaths.FixtureModel(name + ".input.npy")));

    private static Tensor ToTorch(NpyArray a) => a.ElementType == NpyElementType.Int64
        ? tensor(a.ToInt64(), a.Shape.Select(d => (long)d).ToArray())
        : tensor(a.ToFloat32(), a.Shape.Select(d => (long)d).ToArray());

    private static RuntimeTensor ToRuntime(NpyArray a) => a.ElementType == NpyElementType.Int64
        ? RuntimeTensor.FromInt64s(a.ToInt64(), a.Shape.Select(d => (long)d).ToArray())
        : RuntimeTensor.FromFloats(a.ToFloat32(), a.Shape.Select(d => (long)d).ToArray());

    /// <summary>Differential: the Engine in eval mode equals ONNX Runtime on whole PyTorch-exported models.</summary>
    [Theory]
    [InlineData("pytorch_cnn_opset13")]
    [InlineData("fmnist_classifier")]
    [InlineData("pytorch_resnet_opset13")]
    [InlineData("pytorch_transformer_opset17")]
    [InlineData("cntk_style_ir3_opset8")]
    public void EvalModeMatchesOnnxRuntime(string name)
    {
        var (model, input) = Fixture(name);
        using var session = new OnnxRuntimeSession(model);
        var expected = session.Run(ToRuntime(input)).AsFloats();
        using var scope = NewDisposeScope();
        using var module = new OnnxModule(model);
        module.eval();
        using var _ = no_grad();
        var actual = TorchTensors.ToFloats(module.forward(ToTorch(input)));
        var maxDiff = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff <= 1e-4, $"max abs difference {maxDiff}");
    }

    [Fact]
    public void Tf2OnnxStyleModelMatchesOnnxRuntime()
    {
        var model = OnnxModel.Load(TestPaths.FixtureModel("tf2onnx_style_keras.onnx"));
        var rng = new Random(5);
        var x = Enumerable.Range(0, 2 * 28 * 28).Select(_ => (float)rng.NextDouble()).ToArray();
        using var session = new OnnxRuntimeSession(model);
        var expected = session.Run(RuntimeTensor.FromFloats(x, 2, 28, 28, 1)).AsFloats();
        using var scope = NewDisposeScope();
        using var module = new OnnxModule(model);
        module.eval();
        var actual = TorchTensors.ToFloats(module.forward(tensor(x, [2, 28, 28, 1])));
        Assert.True(expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second)) <= 1e-5);
    }

    [Fact]
    public void WeightsHeldInConstantNodesAreTrainedAndWrittenBackIntoTheNode()
    {
        var model = OnnxModel.Load(TestPaths.FixtureModel("tf2onnx_style_keras.onnx"));
        const string bias = "sequential/conv2d/BiasAdd/ReadVariableOp:0";
        using var module = new OnnxModule(model);
        Assert.True(module.ParametersByInitializer.ContainsKey(bias));
        using (no_grad()) module.ParametersByInitializer[bias].add_(1f);
        var written = module.ToOnnx();
        var node = written.Graph.FindProducer(bias)!;
        Assert.Equal("Constant", node.OpType);
        var before = model.Graph.FindProducer(bias)!.GetTensor("value")!.ToFloatArray();
        Assert.Equal(before.Select(v => v + 1f), node.GetTensor("value")!.ToFloatArray());
        Assert.Equal(model.Graph.Nodes.Count, written.Graph.Nodes.Count);
    }

    [Fact]
    public void WeightsBecomeNamedParametersAndBatchNormStatisticsBecomeBuffers()
    {
        using var module = new OnnxModule(Fixture("pytorch_cnn_opset13").Model);
        var parameters = module.named_parameters().Select(p => p.name).ToList();
        var buffers = module.named_buffers().Select(b => b.name).ToList();
        Assert.Contains("features_0_weight", parameters);
        Assert.Contains("fc1_bias", parameters);
        Assert.Equal(12, parameters.Count); // 16 float initializers minus 4 running statistics
        Assert.Equal(["features_1_running_mean", "features_1_running_var", "features_5_running_mean", "features_5_running_var"], buffers.Order());
        Assert.Equal("features_0_weight", module.ModuleNames["features.0.weight"]);
        Assert.Equal(26_794 - 48, module.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void UniqueModuleNamesAreStableIdentifiers()
    {
        var used = new HashSet<string>();
        Assert.Equal("features_0_weight", OnnxModule.UniqueModuleName("features.0.weight", used));
        Assert.Equal("features_0_weight_1", OnnxModule.UniqueModuleName("features_0.weight", used));
        Assert.Equal("p_0_w", OnnxModule.UniqueModuleName("0:w", used));
        Assert.Equal("sequential_dense_MatMul_ReadVariableOp_0", OnnxModule.UniqueModuleName("sequential/dense/MatMul/ReadVariableOp:0", used));
    }

    [Fact]
    public void WriteBackOfAnUntrainedModuleReproducesTheFileByteForByte()
    {
        var (model, _) = Fixture("pytorch_resnet_opset13");
        using var module = new OnnxModule(model);
        Assert.Equal(model.ToBytes(), module.ToOnnx().ToBytes());
    }

    [Fact]
    public void CapturedValuesComeFromTheTrainingPassWithGradientsAndNotFromEvaluation()
    {
        var (model, input) = Fixture("pytorch_cnn_opset13");
        var relu = model.Graph.Nodes.First(n => n.OpType == "Relu").Outputs[0];
        using var scope = NewDisposeScope();
        using var module = new OnnxModule(model) { CapturedValueNames = [relu] };
        var x = ToTorch(input);
        module.eval();
        Tensor expected;
        using (no_grad()) expected = module.Run([x], [relu])[0];
        module.forward(x);
        Assert.Empty(module.Captured); // evaluation captures nothing
        module.train();
        var logits = module.forward(x);
        var captured = Assert.Single(module.Captured);
        Assert.True(captured.requires_grad);
        Assert.Equal(expected.shape, captured.shape);
        // The same pass: the gradient of the captured value's sum reaches the parameters.
        captured.sum().backward();
        Assert.Contains(module.parameters(), p => p.grad is { } g && g.abs().sum().item<float>() > 0);
        Assert.Equal(2, logits.Dimensions);
    }

    [Fact]
    public void TrainingModeUsesBatchStatisticsAndUpdatesRunningStatisticsWithOnnxMomentum()
    {
        var (model, input) = Fixture("pytorch_cnn_opset13");
        var bn = model.Graph.Nodes.First(n => n.OpType == "BatchNormalization");
        float momentum = bn.GetFloat("momentum", 0.9f);
        using var scope = NewDisposeScope();
        using var module = new OnnxModule(model);
        var x = ToTorch(input);
        module.eval();
        Tensor bnInput;
        using (no_grad()) bnInput = module.Run([x], [bn.Inputs[0]])[0];
        var batchMean = bnInput.mean([0, 2, 3]);
        var oldMean = module.BuffersByInitializer[bn.Inputs[3]].clone();

        module.train();
        using (no_grad()) module.forward(x);
        var newMean = module.BuffersByInitializer[bn.Inputs[3]];
        // ONNX: running = running * momentum + batch * (1 - momentum).
        var expected = oldMean * momentum + batchMean * (1 - momentum);
        Assert.True(newMean.allclose(expected, rtol: 1e-4, atol: 1e-6));
        Assert.False(newMean.allclose(oldMean));
    }

    [Fact]
    public void TrainedValuesAreWrittenBackAndOnnxRuntimeAgreesWithTheEngine()
    {
        var (model, input) = Fixture("fmnist_classifier");
        using var scope = NewDisposeScope();
        using var module = new OnnxModule(model);
        var x = ToTorch(input);
        module.train();
        var optimizer = optim.SGD(module.parameters(), 0.05);
        for (int step = 0; step < 3; step++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(module.forward(x), tensor(new long[] { 0, 1, 2 }));
            loss.backward();
            optimizer.step();
        }
        module.eval();
        float[] engine;
        using (no_grad()) engine = TorchTensors.ToFloats(module.forward(x));

        var trained = module.ToOnnx();
        Assert.NotEqual(model.ToBytes(), trained.ToBytes());
        // Only initializer values changed: same nodes, same initializer names, types and shapes.
        Assert.Equal(model.Graph.Nodes.Select(n => n.ToString()), trained.Graph.Nodes.Select(n => n.ToString()));
        Assert.Equal(model.Graph.Initializers.Select(t => t.ToString()), trained.Graph.Initializers.Select(t => t.ToString()));
        using var session = new OnnxRuntimeSession(trained);
        var ort = session.Run(ToRuntime(input)).AsFloats();
        Assert.True(ort.Zip(engine).Max(p => Math.Abs(p.First - p.Second)) <= 1e-4);
        var original = new OnnxRuntimeSession(model).Run(ToRuntime(input)).AsFloats();
        Assert.True(original.Zip(ort).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, "training changed nothing");
    }

    [Fact]
    public void UnsupportedModelsAreRejectedBeforeAnythingIsBuilt()
    {
        var m = OnnxModel.Create("g", 13);
        m.Graph.AddInput(new OnnxValueInfo("x", OnnxDataType.Float, null));
        m.Graph.AddNode(new OnnxNode("NoSuchOp", ["x"], ["y"], "first"));
        m.Graph.AddNode(new OnnxNode("AlsoMissing", ["y"], ["z"], "second"));
        m.Graph.AddOutput(new OnnxValueInfo("z", OnnxDataType.Float, null));
        var e = Assert.Throws<UnsupportedModelException>(() => new OnnxModule(m));
        Assert.Equal(2, e.Problems.Count);
        Assert.Contains("'first'", e.Message);
        Assert.Contains("'second'", e.Message);
    }
}
