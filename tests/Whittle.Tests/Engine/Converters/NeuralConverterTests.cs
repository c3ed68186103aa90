using Whittle.Engine;
using Whittle.Engine.Converters;
using Whittle.Onnx;
using Whittle.Runtime;
using static TorchSharp.torch;

namespace Whittle.Tests.Engine.Converters;

/// <summary>
/// Conv, pooling, normalization, Gemm/MatMul, Softmax and quantization converters: gradients,
/// training versus eval semantics, pre-flight rejections, fake quantization, and the Engine
/// against ONNX Runtime on configurations the ONNX backend tests do not cover.
/// Runs in the serial Torch collection (one libtorch thread, nothing else running), which the
/// small-convolution regression test needs: it sets two threads for itself.
/// </summary>
[Collection(Training.TorchCollection.Name)]
public sealed class NeuralConverterTests
{
    // ---------------------------------------------------------------- gradients

    [Fact]
    public void ConvBatchNormPoolModel_Backward_GivesEveryParameterAGradient()
    {
        var model = OnnxModel.Create("cnn", 15);
        var g = model.Graph;
        g.AddInput(FloatInput("x", 2, 3, 8, 8));
        g.AddInitializer(Random("conv.w", 1, 4, 3, 3, 3));
        g.AddInitializer(Random("conv.b", 2, 4));
        g.AddInitializer(Random("bn.scale", 3, 4));
        g.AddInitializer(Random("bn.bias", 4, 4));
        g.AddInitializer(Random("bn.mean", 5, 4));
        g.AddInitializer(Positive("bn.var", 6, 4));
        g.AddInitializer(Random("ct.w", 7, 4, 2, 2, 2));
        g.AddInitializer(Random("in.scale", 8, 4));
        g.AddInitializer(Random("in.bias", 9, 4));
        g.AddNode(Node("Conv", ["x", "conv.w", "conv.b"], ["c"], ("pads", new long[] { 1, 1, 1, 1 })));
        g.AddNode(Node("BatchNormalization", ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["n"]));
        g.AddNode(Node("MaxPool", ["n"], ["p"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 })));
        g.AddNode(Node("ConvTranspose", ["p", "ct.w"], ["t"], ("strides", new long[] { 2, 2 }), ("group", 2L)));
        g.AddNode(Node("InstanceNormalization", ["t", "in.scale", "in.bias"], ["i"]));
        g.AddNode(Node("AveragePool", ["i"], ["a"], ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 0, 0, 1, 1 })));
        g.AddNode(Node("GlobalAveragePool", ["a"], ["y"]));
        g.AddOutput("y");

        using var scope = NewDisposeScope();
        using var module = new OnnxModule(model);
        Assert.Equal(new[] { "bn.bias", "bn.scale", "conv.b", "conv.w", "ct.w", "in.bias", "in.scale" }, module.ParametersByInitializer.Keys.Order());
        Assert.Equal(new[] { "bn.mean", "bn.var" }, module.BuffersByInitializer.Keys.Order());

        // Eval mode (frozen statistics): with batch statistics the conv bias cancels out and its
        // gradient is zero up to rounding.
        module.eval();
        var y = module.forward(RandomTensor(10, 2, 3, 8, 8));
        Assert.Equal(new long[] { 2, 4, 1, 1 }, y.shape);
        (y * y).sum().backward();
        AssertAllParametersHaveGradients(module);

        module.zero_grad();
        module.train();
        var yTrain = module.forward(RandomTensor(10, 2, 3, 8, 8));
        (yTrain * yTrain).sum().backward();
        Assert.True(module.ParametersByInitializer["conv.w"].grad!.abs().sum().item<float>() > 0);
        Assert.True(module.ParametersByInitializer["bn.scale"].grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void GemmLayerNormMatMulSoftmaxModel_Backward_GivesEveryParameterAGradient()
    {
        var model = OnnxModel.Create("mlp", 17);
        var g = model.Graph;
        g.AddInput(FloatInput("x", 3, 5));
        g.AddInitializer(Random("fc.w", 1, 6, 5));
        g.AddInitializer(Random("fc.b", 2, 6));
        g.AddInitializer(Random("ln.scale", 3, 6));
        g.AddInitializer(Random("ln.bias", 4, 6));
        g.AddInitializer(Random("proj", 5, 6, 4));
        g.AddNode(Node("Gemm", ["x", "fc.w", "fc.b"], ["h"], ("transB", 1L), ("alpha", 0.5f)));
        g.AddNode(Node("LayerNormalization", ["h", "ln.scale", "ln.bias"], ["l"]));
        g.AddNode(Node("MatMul", ["l", "proj"], ["m"]));
        g.AddNode(Node("LpNormalization", ["m"], ["u"], ("axis", 1L)));
        g.AddNode(Node("LogSoftmax", ["u"], ["y"]));
        g.AddOutput("y");

        using var scope = NewDisposeScope();
        using var module = new OnnxModule(model);
        Assert.Equal(5, module.ParametersByInitializer.Count);
        var y = module.forward(RandomTensor(11, 3, 5));
        (y * y).sum().backward();
        AssertAllParametersHaveGradients(module);
    }

    /// <summary>
    /// The regression test for the libtorch 2.10 oneDNN defect the Conv converter works around
    /// (see <see cref="ConvConverter"/>): the input gradient of a group-1 convolution whose output
    /// channels are not a multiple of 16 came out non-finite or wrong with two intra-op threads
    /// (in every step for 24 and 100 output channels). Every step's input and weight gradients must equal a float64 reference.
    /// Two threads are set for this test only (the collection is serial) and restored after.
    /// </summary>
    [Theory]
    [InlineData(8, 8, 2)]
    [InlineData(16, 4, 2)]
    [InlineData(8, 6, 1)]
    [InlineData(16, 24, 2)]
    [InlineData(64, 100, 1)]
    [InlineData(8, 32, 2)]
    [InlineData(24, 32, 2)]
    [InlineData(27, 32, 2)]
    [InlineData(20, 16, 1)]
    public void Conv_TrainingGradients_MatchAFloat64ReferenceWithTwoThreads(int inChannels, int outChannels, int spatialRank)
    {
        long[] kernel = spatialRank == 2 ? [3, 3] : [3];
        long[] spatial = spatialRank == 2 ? [16, 16] : [64];
        var model = OnnxModel.Create("small-conv", 13);
        var g = model.Graph;
        g.AddInput(FloatInput("x", [16, inChannels, .. spatial]));
        g.AddInitializer(Random("w", 1, [outChannels, inChannels, .. kernel]));
        g.AddInitializer(Random("b", 2, outChannels));
        g.AddNode(Node("Conv", ["x", "w", "b"], ["y"], ("pads", Enumerable.Repeat(1L, 2 * spatialRank).ToArray())));
        g.AddOutput("y");

        int threads = get_num_threads();
        set_num_threads(2);
        try
        {
            using var module = new OnnxModule(model);
            module.train();
            var w = module.ParametersByInitializer["w"];
            var b = module.ParametersByInitializer["b"];
            for (int step = 0; step < 30; step++)
            {
                using var scope = NewDisposeScope();
                module.zero_grad();
                var x = nn.functional.relu(RandomTensor(100 + step, [16, inChannels, .. spatial])).requires_grad_(true);
                var y = module.forward(x);
                Assert.Equal(outChannels, y.shape[1]);
                (y * y).mean().backward();

                var x64 = x.detach().to(ScalarType.Float64).requires_grad_(true);
                var w64 = w.detach().to(ScalarType.Float64).requires_grad_(true);
                var y64 = spatialRank == 2
                    ? nn.functional.conv2d(x64, w64, b.detach().to(ScalarType.Float64), padding: [1, 1])
                    : nn.functional.conv1d(x64, w64, b.detach().to(ScalarType.Float64), padding: 1);
                (y64 * y64).mean().backward();
                AssertClose(y64.to(ScalarType.Float32), y.detach(), 1e-4);
                AssertClose(x64.grad!.to(ScalarType.Float32) * 1e4, x.grad! * 1e4, 1e-3);
                AssertClose(w64.grad!.to(ScalarType.Float32), w.grad!, 1e-4);
            }
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    // ---------------------------------------------------------------- BatchNormalization modes

    private static OnnxModel BatchNormModel(long opset, bool nodeTrainingMode = false)
    {
        var model = OnnxModel.Create("bn", opset);
        var g = model.Graph;
        g.AddInput(FloatInput("x", 4, 2, 3, 3));
        g.AddInitializer(OnnxTensor.FromFloats("scale", [2], [1.5f, 0.5f]));
        g.AddInitializer(OnnxTensor.FromFloats("bias", [2], [0.25f, -1f]));
        g.AddInitializer(OnnxTensor.FromFloats("mean", [2], [0.5f, -1f]));
        g.AddInitializer(OnnxTensor.FromFloats("var", [2], [2f, 3f]));
        var node = nodeTrainingMode
            ? Node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y", "running_mean", "running_var"], ("momentum", 0.8f), ("training_mode", 1L))
            : Node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"], ("momentum", 0.8f));
        g.AddNode(node);
        foreach (var o in node.Outputs) g.AddOutput(o);
        return model;
    }

    [Fact]
    public void BatchNormalization_Training_UsesBatchStatisticsAndUpdatesRunningStatisticsWithOnnxMomentum()
    {
        using var scope = NewDisposeScope();
        using var module = new OnnxModule(BatchNormModel(15));
        var x = RandomTensor(20, 4, 2, 3, 3) * 2 + 1;
        long[] dims = [0, 2, 3];
        var batchMean = x.mean(dims);
        var batchVar = x.var(dims, unbiased: false);

        module.train();
        var y = module.forward(x);

        var scale = tensor(new float[] { 1.5f, 0.5f }).reshape(1, 2, 1, 1);
        var bias = tensor(new float[] { 0.25f, -1f }).reshape(1, 2, 1, 1);
        var expected = (x - batchMean.reshape(1, 2, 1, 1)) / (batchVar.reshape(1, 2, 1, 1) + 1e-5).sqrt() * scale + bias;
        AssertClose(expected, y, 1e-5);
        // ONNX momentum 0.8 keeps 80% of the running value; the variance is torch's unbiased batch estimate.
        AssertClose(tensor(new float[] { 0.5f, -1f }) * 0.8 + batchMean * 0.2, module.BuffersByInitializer["mean"], 1e-6);
        AssertClose(tensor(new float[] { 2f, 3f }) * 0.8 + x.var(dims, unbiased: true) * 0.2, module.BuffersByInitializer["var"], 1e-6);

        // Eval: the (updated) running statistics, and no further update.
        module.eval();
        var runningMean = module.BuffersByInitializer["mean"].clone();
        var runningVar = module.BuffersByInitializer["var"].clone();
        var yEval = module.forward(x);
        var expectedEval = (x - runningMean.reshape(1, 2, 1, 1)) / (runningVar.reshape(1, 2, 1, 1) + 1e-5).sqrt() * scale + bias;
        AssertClose(expectedEval, yEval, 1e-5);
        AssertClose(runningMean, module.BuffersByInitializer["mean"], 0);

        // The updated statistics are what ToOnnx writes back.
        var written = module.ToOnnx().Graph.FindInitializer("mean")!.ToFloatArray();
        Assert.Equal(TorchTensors.ToFloats(runningMean), written);
    }

    [Fact]
    public void BatchNormalization_Eval_UsesRunningStatistics()
    {
        using var scope = NewDisposeScope();
        using var module = new OnnxModule(BatchNormModel(9));
        module.eval();
        var x = RandomTensor(21, 4, 2, 3, 3);
        var y = module.forward(x);
        var expected = (x - tensor(new float[] { 0.5f, -1f }).reshape(1, 2, 1, 1)) / (tensor(new float[] { 2f, 3f }).reshape(1, 2, 1, 1) + 1e-5).sqrt()
            * tensor(new float[] { 1.5f, 0.5f }).reshape(1, 2, 1, 1) + tensor(new float[] { 0.25f, -1f }).reshape(1, 2, 1, 1);
        AssertClose(expected, y, 1e-5);
        AssertClose(tensor(new float[] { 0.5f, -1f }), module.BuffersByInitializer["mean"], 0);
    }

    [Fact]
    public void BatchNormalization_NodeTrainingModeInEvalModule_OutputsOnnxRunningStatisticsWithoutTouchingBuffers()
    {
        using var scope = NewDisposeScope();
        using var module = new OnnxModule(BatchNormModel(15, nodeTrainingMode: true));
        module.eval();
        var x = RandomTensor(22, 4, 2, 3, 3);
        long[] dims = [0, 2, 3];
        var outputs = module.Run(x);

        var batchMean = x.mean(dims);
        var batchVar = x.var(dims, unbiased: false);
        var expected = (x - batchMean.reshape(1, 2, 1, 1)) / (batchVar.reshape(1, 2, 1, 1) + 1e-5).sqrt()
            * tensor(new float[] { 1.5f, 0.5f }).reshape(1, 2, 1, 1) + tensor(new float[] { 0.25f, -1f }).reshape(1, 2, 1, 1);
        AssertClose(expected, outputs[0], 1e-5);
        AssertClose(tensor(new float[] { 0.5f, -1f }) * 0.8 + batchMean * 0.2, outputs[1], 1e-6);
        AssertClose(tensor(new float[] { 2f, 3f }) * 0.8 + batchVar * 0.2, outputs[2], 1e-6);
        AssertClose(tensor(new float[] { 0.5f, -1f }), module.BuffersByInitializer["mean"], 0);
        AssertClose(tensor(new float[] { 2f, 3f }), module.BuffersByInitializer["var"], 0);
    }

    // ---------------------------------------------------------------- pre-flight

    [Fact]
    public void Preflight_ListsEveryUnsupportedAttributeAtOnce()
    {
        var model = OnnxModel.Create("bad", 21, irVersion: 10);
        var g = model.Graph;
        g.AddInput(FloatInput("x", 1, 2, 4, 4));
        g.AddInitializer(Random("w4d", 1, 2, 2, 1, 1, 1, 1));
        g.AddInitializer(Random("s", 2, 2));
        g.AddInitializer(OnnxTensor.FromBytes("u16", OnnxDataType.UInt16, [2], new byte[4]));
        g.AddNode(Node("Conv", ["x", "w4d"], ["c"], "conv4d"));
        g.AddNode(Node("MaxPool", ["x"], ["m"], "pool", ("kernel_shape", new long[] { 2, 2 }), ("auto_pad", "EVERYWHERE"), ("storage_order", 2L)));
        g.AddNode(Node("AveragePool", ["x"], ["a"], "avg", ("kernel_shape", new long[] { 2, 2 }), ("auto_pad", "VALID"), ("pads", new long[] { 1, 1, 1, 1 })));
        g.AddNode(Node("BatchNormalization", ["x", "s", "s", "s", "s"], ["b", "bm", "bv"], "bn"));
        g.AddNode(Node("LayerNormalization", ["x", "s"], ["l"], "ln", ("stash_type", (long)OnnxDataType.Int64)));
        g.AddNode(Node("LpNormalization", ["x"], ["lp"], "lp3", ("p", 3L)));
        g.AddNode(Node("QuantizeLinear", ["x", "s"], ["q"], "q16", ("output_dtype", (long)OnnxDataType.UInt16)));
        g.AddNode(Node("DequantizeLinear", ["u16", "s"], ["d"], "dq16"));
        foreach (var o in new[] { "c", "m", "a", "b", "l", "lp", "q", "d" }) g.AddOutput(o);

        var problems = EnginePreflight.FindProblems(model);

        Assert.Contains(problems, p => p.Contains("'conv4d'") && p.Contains("4-D windows are not supported"));
        Assert.Contains(problems, p => p.Contains("'pool'") && p.Contains("auto_pad 'EVERYWHERE'"));
        Assert.Contains(problems, p => p.Contains("'pool'") && p.Contains("storage_order must be 0 or 1"));
        Assert.Contains(problems, p => p.Contains("'avg'") && p.Contains("pads cannot be combined with auto_pad VALID"));
        Assert.Contains(problems, p => p.Contains("'bn'") && p.Contains("need training_mode=1"));
        Assert.Contains(problems, p => p.Contains("'ln'") && p.Contains("stash_type"));
        Assert.Contains(problems, p => p.Contains("'lp3'") && p.Contains("p must be 1 or 2"));
        Assert.Contains(problems, p => p.Contains("'q16'") && p.Contains("output_dtype uint16"));
        Assert.Contains(problems, p => p.Contains("'dq16'") && p.Contains("dequantizing uint16"));
        var e = Assert.Throws<UnsupportedModelException>(() => new OnnxModule(model));
        Assert.Contains("'dq16'", e.Message);
        Assert.Contains("'conv4d'", e.Message);
    }

    [Theory]
    [InlineData(7, "spatial", "spatial=0")]
    [InlineData(9, "outputs", "training-form outputs")]
    public void Preflight_RejectsLegacyBatchNormalizationForms(long opset, string form, string expected)
    {
        var model = OnnxModel.Create("bn", opset);
        var g = model.Graph;
        g.AddInput(FloatInput("x", 2, 2, 3));
        g.AddInitializer(Positive("s", 1, 2));
        string[] outputs = form == "outputs" ? ["y", "mean", "var"] : ["y"];
        var node = Node("BatchNormalization", ["x", "s", "s", "s", "s"], outputs);
        if (form == "spatial") node.SetAttribute("spatial", 0L);
        g.AddNode(node);
        g.AddOutput("y");

        var problems = EnginePreflight.FindProblems(model);

        Assert.Single(problems);
        Assert.Contains(expected, problems[0]);
    }

    // ---------------------------------------------------------------- quantization

    [Fact]
    public void QuantizeLinear_RoundsHalfToEvenAndSaturatesPerAxisToInt8()
    {
        var model = OnnxModel.Create("q", 13);
        var g = model.Graph;
        g.AddInput(FloatInput("x", 2, 4));
        g.AddInitializer(OnnxTensor.FromFloats("scale", [2], [0.5f, 2f]));
        g.AddInitializer(OnnxTensor.FromBytes("zp", OnnxDataType.Int8, [2], [unchecked((byte)(sbyte)-1), 10]));
        g.AddNode(Node("QuantizeLinear", ["x", "scale", "zp"], ["q"], ("axis", 0L)));
        g.AddOutput("q");

        using var scope = NewDisposeScope();
        using var module = new OnnxModule(model);
        var q = module.forward(tensor(new float[] { 0.25f, 0.75f, -100f, 100f, 1f, 3f, -300f, 5f }, [2, 4]));

        Assert.Equal(ScalarType.Int8, q.dtype);
        // Row 0: x/0.5 = 0.5, 1.5, -200, 200 -> 0, 2 (half to even), then -1 and saturation.
        // Row 1: x/2 = 0.5, 1.5, -150, 2.5 -> 0, 2, -150, 2, then +10 and saturation.
        Assert.Equal(new long[] { -1, 1, -128, 127, 10, 12, -128, 12 }, TorchTensors.ToLongs(q));
        Assert.Equal(InputRole.Constant, RoleOf(model, 1));
        Assert.Equal(InputRole.Constant, RoleOf(model, 2));
    }

    [Fact]
    public void FakeQuantize_Forward_SaturatesAndRoundsHalfToEven_GradientIsIdentityInsideRangeOnly()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { -3f, -1.25f, -0.75f, 0.25f, 0.75f, 1f, 2.6f, 10f }, requires_grad: true);

        var y = FakeQuantize.Apply(x, tensor(0.5f), tensor(3), qmin: 0, qmax: 10);

        // q = clamp(round(x / 0.5) + 3, 0, 10); y = (q - 3) * 0.5.
        Assert.Equal(new float[] { -1.5f, -1f, -1f, 0f, 1f, 1f, 2.5f, 3.5f }, TorchTensors.ToFloats(y));
        y.sum().backward();
        // The representable range is [(0 - 3) * 0.5, (10 - 3) * 0.5] = [-1.5, 3.5].
        Assert.Equal(new float[] { 0, 1, 1, 1, 1, 1, 1, 0 }, TorchTensors.ToFloats(x.grad!));
    }

    [Fact]
    public void FakeQuantize_PerChannel_EqualsQuantizeLinearThenDequantizeLinear()
    {
        var model = OnnxModel.Create("qdq", 13);
        var g = model.Graph;
        g.AddInput(FloatInput("x", 2, 3, 4));
        g.AddInitializer(OnnxTensor.FromFloats("scale", [3], [0.05f, 0.1f, 0.02f]));
        g.AddInitializer(OnnxTensor.FromBytes("zp", OnnxDataType.UInt8, [3], [128, 120, 0]));
        g.AddNode(Node("QuantizeLinear", ["x", "scale", "zp"], ["q"]));
        g.AddNode(Node("DequantizeLinear", ["q", "scale", "zp"], ["y"]));
        g.AddOutput("y");

        using var scope = NewDisposeScope();
        using var module = new OnnxModule(model);
        var x = RandomTensor(30, 2, 3, 4) * 4;
        var viaOnnx = module.forward(x);
        var viaFake = FakeQuantize.Apply(x, tensor(new float[] { 0.05f, 0.1f, 0.02f }), tensor(new byte[] { 128, 120, 0 }), 0, 255, axis: 1);

        Assert.Equal(ScalarType.Float32, viaOnnx.dtype);
        Assert.Equal(TorchTensors.ToFloats(viaOnnx), TorchTensors.ToFloats(viaFake));
    }

    // ---------------------------------------------------------------- Engine against ONNX Runtime

    public static TheoryData<string> OrtCases() => new(OrtCase.All.Keys);

    [Theory]
    [MemberData(nameof(OrtCases))]
    public void Engine_MatchesOnnxRuntime(string name)
    {
        var model = OrtCase.All[name]();
        var inputs = model.Graph.Inputs.Select((input, i) =>
        {
            var shape = input.Shape!.Select(d => d.Value!.Value).ToArray();
            var values = RandomValues(100 + i, shape.Aggregate(1L, (a, b) => a * b));
            return (input.Name, shape, values);
        }).ToList();

        using var session = new OnnxRuntimeSession(model);
        var expected = session.Run(inputs.ToDictionary(i => i.Name, i => RuntimeTensor.FromFloats(i.values, i.shape)));

        using var scope = NewDisposeScope();
        using var module = new OnnxModule(model);
        module.eval();
        var actual = module.Run(inputs.Select(i => tensor(i.values, i.shape)).ToArray());

        for (int o = 0; o < actual.Length; o++)
        {
            var want = expected[module.OutputNames[o]];
            Assert.Equal(want.Shape, actual[o].shape);
            if (want.ElementType == OnnxDataType.Int64)
            {
                Assert.Equal(ScalarType.Int64, actual[o].dtype);
                Assert.Equal((long[])want.Data, TorchTensors.ToLongs(actual[o]));
                continue;
            }
            var w = want.AsFloats();
            var a = TorchTensors.ToFloats(actual[o]);
            for (int i = 0; i < w.Length; i++)
                Assert.True(Math.Abs(w[i] - a[i]) <= 1e-4 + 1e-4 * Math.Abs(w[i]), $"{name} output {o} element {i}: engine {a[i]}, ORT {w[i]}");
        }
    }

    /// <summary>One-node models (plus initializers) the backend tests leave uncovered.</summary>
    private static class OrtCase
    {
        public static readonly Dictionary<string, Func<OnnxModel>> All = new()
        {
            // ONNX Runtime supports dilations only with explicit pads.
            ["conv depthwise SAME_LOWER"] = () => One(13, [("x", [1, 4, 7, 6])], [Random("w", 1, 4, 1, 3, 3), Random("b", 2, 4)],
                Node("Conv", ["x", "w", "b"], ["y"], ("group", 4L), ("strides", new long[] { 2, 2 }), ("auto_pad", "SAME_LOWER"))),
            ["conv depthwise multiplier 2 dilated asymmetric pads"] = () => One(13, [("x", [2, 3, 9, 8])], [Random("w", 1, 6, 1, 3, 2), Random("b", 2, 6)],
                Node("Conv", ["x", "w", "b"], ["y"], ("group", 3L), ("dilations", new long[] { 2, 3 }), ("strides", new long[] { 1, 2 }), ("pads", new long[] { 2, 0, 1, 3 }))),
            ["conv 1-D asymmetric pads"] = () => One(13, [("x", [2, 3, 10])], [Random("w", 3, 5, 3, 4)],
                Node("Conv", ["x", "w"], ["y"], ("pads", new long[] { 3, 1 }), ("strides", new long[] { 2 }))),
            ["conv 3-D groups SAME_UPPER"] = () => One(13, [("x", [1, 4, 5, 6, 5])], [Random("w", 4, 6, 2, 3, 2, 3), Random("b", 5, 6)],
                Node("Conv", ["x", "w", "b"], ["y"], ("group", 2L), ("strides", new long[] { 2, 1, 2 }), ("auto_pad", "SAME_UPPER"))),
            ["conv VALID"] = () => One(11, [("x", [1, 2, 6, 6])], [Random("w", 6, 3, 2, 3, 3)],
                Node("Conv", ["x", "w"], ["y"], ("auto_pad", "VALID"), ("strides", new long[] { 2, 1 }))),
            ["convtranspose groups dilations asymmetric pads"] = () => One(13, [("x", [1, 4, 4, 5])], [Random("w", 7, 4, 3, 3, 2), Random("b", 8, 6)],
                Node("ConvTranspose", ["x", "w", "b"], ["y"], ("group", 2L), ("strides", new long[] { 2, 3 }), ("dilations", new long[] { 2, 1 }),
                    ("pads", new long[] { 1, 0, 2, 1 }), ("output_padding", new long[] { 1, 2 }))),
            ["convtranspose 1-D SAME_LOWER"] = () => One(13, [("x", [2, 3, 5])], [Random("w", 9, 3, 2, 4)],
                Node("ConvTranspose", ["x", "w"], ["y"], ("strides", new long[] { 2 }), ("auto_pad", "SAME_LOWER"))),
            ["convtranspose output_shape"] = () => One(13, [("x", [1, 2, 3, 3])], [Random("w", 10, 2, 3, 3, 3), Random("b", 11, 3)],
                Node("ConvTranspose", ["x", "w", "b"], ["y"], ("strides", new long[] { 2, 2 }), ("output_shape", new long[] { 8, 6 }))),
            ["maxpool ceil dilations asymmetric pads indices"] = () => One(12, [("x", [2, 3, 9, 8])], [],
                Node("MaxPool", ["x"], ["y", "i"], ("kernel_shape", new long[] { 3, 2 }), ("strides", new long[] { 2, 3 }), ("dilations", new long[] { 2, 1 }),
                    ("pads", new long[] { 1, 0, 2, 1 }), ("ceil_mode", 1L))),
            ["maxpool SAME_LOWER indices column-major"] = () => One(12, [("x", [1, 2, 5, 7])], [],
                Node("MaxPool", ["x"], ["y", "i"], ("kernel_shape", new long[] { 2, 3 }), ("strides", new long[] { 2, 2 }), ("auto_pad", "SAME_LOWER"), ("storage_order", 1L))),
            ["maxpool 1-D indices"] = () => One(12, [("x", [2, 3, 11])], [],
                Node("MaxPool", ["x"], ["y", "i"], ("kernel_shape", new long[] { 3 }), ("strides", new long[] { 2 }), ("pads", new long[] { 1, 1 }))),
            ["maxpool 3-D ceil"] = () => One(12, [("x", [1, 2, 5, 6, 7])], [],
                Node("MaxPool", ["x"], ["y"], ("kernel_shape", new long[] { 2, 3, 2 }), ("strides", new long[] { 2, 2, 3 }), ("ceil_mode", 1L))),
            ["averagepool dilations ceil exclude pad"] = () => One(19, [("x", [1, 2, 9, 8])], [],
                Node("AveragePool", ["x"], ["y"], ("kernel_shape", new long[] { 3, 2 }), ("strides", new long[] { 2, 2 }), ("dilations", new long[] { 2, 2 }),
                    ("pads", new long[] { 1, 1, 1, 1 }), ("ceil_mode", 1L))),
            ["averagepool asymmetric pads ceil include pad"] = () => One(19, [("x", [2, 2, 8, 7])], [],
                Node("AveragePool", ["x"], ["y"], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }),
                    ("pads", new long[] { 0, 1, 2, 0 }), ("ceil_mode", 1L), ("count_include_pad", 1L))),
            ["averagepool 1-D SAME_LOWER include pad"] = () => One(11, [("x", [2, 3, 10])], [],
                Node("AveragePool", ["x"], ["y"], ("kernel_shape", new long[] { 4 }), ("strides", new long[] { 3 }), ("auto_pad", "SAME_LOWER"), ("count_include_pad", 1L))),
            ["averagepool 3-D pads"] = () => One(11, [("x", [1, 2, 5, 6, 5])], [],
                Node("AveragePool", ["x"], ["y"], ("kernel_shape", new long[] { 3, 3, 3 }), ("pads", new long[] { 1, 1, 1, 1, 1, 1 }), ("strides", new long[] { 2, 2, 2 }))),
            ["globalmaxpool 3-D"] = () => One(13, [("x", [2, 3, 4, 3, 2])], [], Node("GlobalMaxPool", ["x"], ["y"])),
            ["softmax opset 11 coerced to 2-D"] = () => One(11, [("x", [2, 3, 4])], [], Node("Softmax", ["x"], ["y"], ("axis", 1L))),
            ["logsoftmax opset 7 default axis"] = () => One(7, [("x", [3, 2, 2])], [], Node("LogSoftmax", ["x"], ["y"])),
            ["softmax opset 13 axis 1"] = () => One(13, [("x", [2, 3, 4])], [], Node("Softmax", ["x"], ["y"], ("axis", 1L))),
            ["gemm transA row-broadcast C"] = () => One(13, [("a", [4, 3])], [Random("b", 12, 4, 5), Random("c", 13, 1, 5)],
                Node("Gemm", ["a", "b", "c"], ["y"], ("transA", 1L), ("alpha", 2f), ("beta", -0.5f))),
            ["gemm opset 7 column-broadcast C"] = () => One(7, [("a", [3, 4])], [Random("b", 14, 4, 2), Random("c", 15, 3, 1)],
                Node("Gemm", ["a", "b", "c"], ["y"])),
            ["matmul 1-D by batched"] = () => One(13, [("a", [4])], [Random("b", 16, 2, 4, 3)], Node("MatMul", ["a", "b"], ["y"])),
            ["matmul batched by 1-D"] = () => One(13, [("a", [2, 3, 4])], [Random("b", 17, 4)], Node("MatMul", ["a", "b"], ["y"])),
            ["matmul broadcast batch"] = () => One(13, [("a", [2, 1, 3, 4])], [Random("b", 18, 3, 4, 2)], Node("MatMul", ["a", "b"], ["y"])),
            ["layernorm axis 1 broadcast scale"] = () => One(17, [("x", [2, 3, 4])], [Random("s", 19, 4), Random("b", 20, 3, 1)],
                Node("LayerNormalization", ["x", "s", "b"], ["y", "mean", "inv"], ("axis", 1L), ("epsilon", 1e-3f))),
            ["instancenorm 1-D"] = () => One(6, [("x", [2, 3, 7])], [Random("s", 21, 3), Random("b", 22, 3)],
                Node("InstanceNormalization", ["x", "s", "b"], ["y"], ("epsilon", 1e-2f))),
            ["lpnormalization p=1 axis 0"] = () => One(13, [("x", [3, 4])], [], Node("LpNormalization", ["x"], ["y"], ("p", 1L), ("axis", 0L))),
            ["quantize per-axis uint8 then dequantize, opset 21 blocked"] = () => One(21, [("x", [2, 6])],
                [OnnxTensor.FromFloats("scale", [2, 2], [0.02f, 0.05f, 0.1f, 0.01f]), OnnxTensor.FromBytes("zp", OnnxDataType.UInt8, [2, 2], [128, 100, 7, 250])],
                Node("QuantizeLinear", ["x", "scale", "zp"], ["q"], ("axis", 1L), ("block_size", 3L)),
                Node("DequantizeLinear", ["q", "scale", "zp"], ["y"], ("axis", 1L), ("block_size", 3L))),
        };

        private static OnnxModel One(long opset, (string Name, long[] Shape)[] inputs, OnnxTensor[] initializers, params OnnxNode[] nodes)
        {
            var model = OnnxModel.Create("case", opset, irVersion: opset >= 21 ? 10 : opset >= 19 ? 9 : 8);
            var g = model.Graph;
            foreach (var (name, shape) in inputs) g.AddInput(FloatInput(name, shape));
            foreach (var t in initializers) g.AddInitializer(t);
            foreach (var n in nodes) g.AddNode(n);
            foreach (var o in nodes[^1].Outputs) g.AddOutput(o);
            return model;
        }
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>What the converter of the model's first node says input <paramref name="index"/> is.</summary>
    private static InputRole RoleOf(OnnxModel model, int index)
    {
        var node = model.Graph.Nodes[0];
        long opset = model.GetOpset()!.Value;
        var (converter, since) = OpRegistry.Default.Resolve("", node.OpType, opset)!.Value;
        return converter.RoleOf(index, new OpContext(node, opset, since, model.Graph.Initializers.ToDictionary(t => t.Name)));
    }

    private static void AssertAllParametersHaveGradients(OnnxModule module)
    {
        foreach (var (name, p) in module.ParametersByInitializer)
        {
            Assert.True(p.grad is not null, $"parameter '{name}' has no gradient");
            float size = p.grad!.abs().sum().item<float>();
            Assert.True(size > 0 && float.IsFinite(size), $"parameter '{name}' has gradient L1 norm {size}");
        }
    }

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        var e = TorchTensors.ToFloats(expected);
        var a = TorchTensors.ToFloats(actual);
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= tolerance * (1 + Math.Abs(e[i])), $"element {i}: {a[i]}, expected {e[i]}");
    }

    private static OnnxNode Node(string op, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes) =>
        Node(op, inputs, outputs, null, attributes);

    private static OnnxNode Node(string op, string[] inputs, string[] outputs, string? name, params (string Name, object Value)[] attributes) =>
        TestGraphs.Node(op, inputs, outputs, name, attributes);

    private static OnnxValueInfo FloatInput(string name, params long[] shape) => TestGraphs.Float(name, shape);

    private static float[] RandomValues(int seed, long count)
    {
        var random = new System.Random(seed);
        return Enumerable.Range(0, (int)count).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
    }

    /// <summary>Values from System.Random, not torch's global generator, which tests running in parallel share.</summary>
    private static Tensor RandomTensor(int seed, params long[] shape) =>
        tensor(RandomValues(seed, shape.Aggregate(1L, (a, b) => a * b)), shape);

    private static OnnxTensor Random(string name, int seed, params long[] dims) =>
        OnnxTensor.FromFloats(name, dims, RandomValues(seed, dims.Aggregate(1L, (a, b) => a * b)));

    private static OnnxTensor Positive(string name, int seed, params long[] dims) =>
        OnnxTensor.FromFloats(name, dims, RandomValues(seed, dims.Aggregate(1L, (a, b) => a * b)).Select(v => Math.Abs(v) + 0.5f).ToArray());
}
