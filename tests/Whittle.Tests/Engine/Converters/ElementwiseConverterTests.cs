using Google.Protobuf;
using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Onnx.Proto;
using Whittle.Runtime;
using static TorchSharp.torch;

namespace Whittle.Tests.Engine.Converters;

public class ElementwiseConverterTests
{
    // ---------------------------------------------------------------- gradients and roles

    /// <summary>
    /// Weights feeding data inputs train; clip bounds, the Pow exponent and the dropout ratio are
    /// settings and stay constants. Gradients reach every parameter through the whole chain.
    /// </summary>
    [Fact]
    public void GradientsReachTrainableInitializersAndSettingsStayConstant()
    {
        var m = OnnxModel.Create("chain", 20);
        var g = m.Graph;
        g.AddInput(Info("x", OnnxDataType.Float));
        g.AddInitializer(OnnxTensor.FromFloats("w", [3], [0.5f, -1f, 2f]));
        g.AddInitializer(OnnxTensor.FromFloats("b", [3], [0.1f, 0.2f, -0.3f]));
        g.AddInitializer(OnnxTensor.FromFloats("slope", [1], [0.25f]));
        g.AddInitializer(OnnxTensor.FromFloats("lo", [], [-2f]));
        g.AddInitializer(OnnxTensor.FromFloats("hi", [], [3f]));
        g.AddInitializer(OnnxTensor.FromFloats("e", [], [2f]));
        g.AddInitializer(OnnxTensor.FromFloats("ratio", [], [0.1f]));
        g.AddNode(new OnnxNode("Mul", ["x", "w"], ["a"], "mul"));
        g.AddNode(new OnnxNode("Add", ["a", "b"], ["c"], "add"));
        g.AddNode(new OnnxNode("PRelu", ["c", "slope"], ["d"], "prelu"));
        g.AddNode(new OnnxNode("Clip", ["d", "lo", "hi"], ["e1"], "clip"));
        g.AddNode(new OnnxNode("Pow", ["e1", "e"], ["f"], "pow"));
        g.AddNode(new OnnxNode("Gelu", ["f"], ["h"], "gelu"));
        g.AddNode(new OnnxNode("Dropout", ["h", "ratio"], ["y"], "dropout"));
        g.AddOutput(Info("y", OnnxDataType.Float));

        using var module = new OnnxModule(m);
        Assert.Equal(["b", "slope", "w"], module.ParametersByInitializer.Keys.Order(StringComparer.Ordinal));

        module.train();
        manual_seed(1);
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1f, -2f, 0.5f, -0.3f, 1.5f, -1f }, [2, 3]);
        module.forward(x).sum().backward();
        foreach (var (name, p) in module.ParametersByInitializer)
        {
            Assert.True(p.grad is not null, $"{name} has no gradient");
            Assert.True(p.grad!.abs().sum().item<float>() > 0, $"{name} has an all-zero gradient");
        }
    }

    /// <summary>Every differentiable elementwise op passes a finite gradient back to the weight before it.</summary>
    [Theory]
    [InlineData("Sqrt", 13)] [InlineData("Exp", 13)] [InlineData("Log", 13)] [InlineData("Neg", 13)]
    [InlineData("Abs", 13)] [InlineData("Reciprocal", 13)] [InlineData("Erf", 13)] [InlineData("Tanh", 13)]
    [InlineData("Sigmoid", 13)] [InlineData("Sin", 7)] [InlineData("Cos", 7)] [InlineData("Softsign", 1)]
    [InlineData("Softplus", 1)] [InlineData("Mish", 18)] [InlineData("LeakyRelu", 16)] [InlineData("Elu", 6)]
    [InlineData("Selu", 6)] [InlineData("Celu", 12)] [InlineData("HardSigmoid", 6)] [InlineData("HardSwish", 14)]
    [InlineData("ThresholdedRelu", 10)] [InlineData("Shrink", 9)] [InlineData("Gelu", 20)] [InlineData("Swish", 24)]
    [InlineData("Relu", 14)] [InlineData("Identity", 16)] [InlineData("Clip", 6)] [InlineData("Dropout", 13)]
    [InlineData("Max", 13)] [InlineData("Min", 13)] [InlineData("Sum", 13)] [InlineData("Mean", 13)]
    public void UnaryOpsPassGradientsBack(string op, int opset)
    {
        var m = OnnxModel.Create("unary", opset);
        var g = m.Graph;
        g.AddInput(Info("x", OnnxDataType.Float));
        g.AddInitializer(OnnxTensor.FromFloats("w", [4], [0.9f, 1.1f, 1.3f, 1.7f]));
        g.AddNode(new OnnxNode("Mul", ["x", "w"], ["h"], "mul"));
        var node = g.AddNode(new OnnxNode(op, ["h"], ["y"], op.ToLowerInvariant()));
        if (op == "Clip") { node.SetAttribute("min", 0.5f); node.SetAttribute("max", 3f); }
        if (op == "Shrink") node.SetAttribute("lambd", 0.2f);
        if (op == "ThresholdedRelu") node.SetAttribute("alpha", 0.5f);
        g.AddOutput(Info("y", OnnxDataType.Float));

        using var module = new OnnxModule(m);
        using var scope = NewDisposeScope();
        // 64 rows: a freshly built module is in training mode, and Dropout must not be able to
        // drop every element (with 2 rows it did, once in 256 runs).
        var rows = Enumerable.Repeat(new float[] { 0.6f, 1.2f, 1.8f, 2.4f, 0.7f, 0.8f, 0.9f, 1.0f }, 32).SelectMany(r => r).ToArray();
        var x = tensor(rows, [64, 4]);
        module.forward(x).sum().backward();
        var grad = module.ParametersByInitializer["w"].grad;
        Assert.NotNull(grad);
        Assert.True(grad!.isfinite().all().item<bool>(), $"{op}: non-finite gradient");
        Assert.True(grad.abs().sum().item<float>() > 0, $"{op}: zero gradient");
    }

    /// <summary>Pass-through outputs (Identity, Constant, eval-mode Dropout) are new references: disposing them frees nothing the module holds.</summary>
    [Fact]
    public void DisposingPassThroughOutputsLeavesTheModuleIntact()
    {
        var m = OnnxModel.Create("passthrough", 13);
        m.Graph.AddInput(Info("x", OnnxDataType.Float));
        m.Graph.AddInitializer(OnnxTensor.FromFloats("w", [2], [1f, 2f]));
        m.Graph.AddNode(new OnnxNode("Identity", ["w"], ["a"], "identity"));
        m.Graph.AddNode(new OnnxNode("Constant", [], ["b"], "constant")).SetAttribute("value_floats", new[] { 3f, 4f });
        m.Graph.AddNode(new OnnxNode("Dropout", ["x"], ["c"], "dropout"));
        foreach (var name in new[] { "a", "b", "c" }) m.Graph.AddOutput(Info(name, OnnxDataType.Float));
        using var module = new OnnxModule(m);
        module.eval();
        for (int run = 0; run < 2; run++)
        {
            using var x = tensor(new[] { 5f, 6f });
            var outputs = module.Run(x);
            Assert.Equal([1f, 2f], outputs[0].data<float>().ToArray());
            Assert.Equal([3f, 4f], outputs[1].data<float>().ToArray());
            Assert.Equal([5f, 6f], outputs[2].data<float>().ToArray());
            foreach (var o in outputs) o.Dispose();
        }
        Assert.Equal([1f, 2f], module.ParametersByInitializer["w"].data<float>().ToArray());
    }

    // ---------------------------------------------------------------- dropout

    [Fact]
    public void DropoutDropsOnlyInTrainingModeAndScalesTheKeptElements()
    {
        var m = OnnxModel.Create("dropout", 13);
        m.Graph.AddInput(Info("x", OnnxDataType.Float));
        m.Graph.AddInitializer(OnnxTensor.FromFloats("ratio", [], [0.5f]));
        m.Graph.AddNode(new OnnxNode("Dropout", ["x", "ratio"], ["y", "mask"], "dropout"));
        m.Graph.AddOutput(Info("y", OnnxDataType.Float));
        m.Graph.AddOutput(Info("mask", OnnxDataType.Bool));
        using var module = new OnnxModule(m);
        Assert.Empty(module.ParametersByInitializer);
        using var scope = NewDisposeScope();
        var x = rand(64, 64).add(0.5f);

        module.eval();
        var eval = module.Run(x);
        Assert.True(Same(eval[0], x), "eval mode must pass the input through");
        Assert.Equal(ScalarType.Bool, eval[1].dtype);
        Assert.True(eval[1].all().item<bool>(), "eval mode keeps every element");

        manual_seed(7);
        module.train();
        var train = module.Run(x);
        var kept = train[1];
        Assert.Equal(ScalarType.Bool, kept.dtype);
        double keptFraction = kept.to_type(ScalarType.Float32).mean().item<float>();
        Assert.InRange(keptFraction, 0.4, 0.6);
        Assert.True(train[0].masked_select(kept.logical_not()).eq(0).all().item<bool>(), "dropped elements are zero");
        Assert.True(train[0].masked_select(kept).allclose(x.masked_select(kept).mul(2)), "kept elements are scaled by 1/(1-ratio)");
    }

    [Fact]
    public void LegacyDropoutHasMaskOfInputTypeAndHonoursIsTest()
    {
        var m = OnnxModel.Create("dropout6", 6);
        m.Graph.AddInput(Info("x", OnnxDataType.Float));
        var active = m.Graph.AddNode(new OnnxNode("Dropout", ["x"], ["y", "mask"], "active"));
        active.SetAttribute("ratio", 0.3f);
        var fixedNode = m.Graph.AddNode(new OnnxNode("Dropout", ["x"], ["z"], "test_only"));
        fixedNode.SetAttribute("is_test", 1L);
        m.Graph.AddOutput(Info("y", OnnxDataType.Float));
        m.Graph.AddOutput(Info("mask", OnnxDataType.Float));
        m.Graph.AddOutput(Info("z", OnnxDataType.Float));
        using var module = new OnnxModule(m);
        module.train();
        using var scope = NewDisposeScope();
        var x = rand(32, 32).add(1f);
        var outputs = module.Run(x);
        Assert.Equal(ScalarType.Float32, outputs[1].dtype);
        Assert.False(Same(outputs[0], x), "training mode drops");
        Assert.True(Same(outputs[2], x), "is_test=1 never drops");
    }

    // ---------------------------------------------------------------- integer and dtype semantics

    [Fact]
    public void IntegerDivisionTruncatesTowardZeroLikeOnnxRuntime()
    {
        var model = Binary("Div", 14, OnnxDataType.Int32, shape: [new OnnxDim(null, "n")]);
        var a = new[] { -7, 7, -7, 5, -1, 9 };
        var b = new[] { 2, -2, -2, 3, 4, -4 };
        using var module = new OnnxModule(model);
        using var scope = NewDisposeScope();
        var y = module.Run(tensor(a), tensor(b))[0];
        Assert.Equal(ScalarType.Int32, y.dtype);
        Assert.Equal([-3, -3, 3, 1, 0, -2], y.data<int>().ToArray());

        using var ort = new OnnxRuntimeSession(model);
        var expected = ort.Run(new Dictionary<string, RuntimeTensor> { ["a"] = RuntimeTensor.FromInt32s(a, 6), ["b"] = RuntimeTensor.FromInt32s(b, 6) });
        Assert.Equal((int[])expected["y"].Data, y.data<int>().ToArray());
    }

    [Theory]
    [InlineData("Add", OnnxDataType.Int32)]
    [InlineData("Sub", OnnxDataType.Int64)]
    [InlineData("Mul", OnnxDataType.Int8)]
    [InlineData("Div", OnnxDataType.UInt8)]
    [InlineData("Add", OnnxDataType.Float16)]
    [InlineData("Mul", OnnxDataType.Double)]
    public void ArithmeticKeepsTheElementType(string op, OnnxDataType type)
    {
        using var module = new OnnxModule(Binary(op, 14, type));
        using var scope = NewDisposeScope();
        var dtype = TorchTensors.ToScalarType(type);
        var y = module.Run(ones(3, dtype: dtype).mul(6), ones(3, dtype: dtype).mul(2))[0];
        Assert.Equal(dtype, y.dtype);
    }

    [Fact]
    public void PowKeepsTheBaseTypeAndModFollowsTheDivisorSign()
    {
        var pow = Binary("Pow", 15, OnnxDataType.Int32, OnnxDataType.Float);
        using (var module = new OnnxModule(pow))
        using (NewDisposeScope())
        {
            var y = module.Run(tensor(new[] { 2, 3, 4 }), tensor(new[] { 2f, 0.5f, 0f }))[0];
            Assert.Equal(ScalarType.Int32, y.dtype);
            Assert.Equal([4, 1, 1], y.data<int>().ToArray());
        }

        var mod = Binary("Mod", 13, OnnxDataType.Int64);
        var fmod = Binary("Mod", 13, OnnxDataType.Int64);
        fmod.Graph.Nodes[0].SetAttribute("fmod", 1L);
        using (var modModule = new OnnxModule(mod))
        using (var fmodModule = new OnnxModule(fmod))
        using (NewDisposeScope())
        {
            var a = tensor(new long[] { -7, 7, -7, 7 });
            var b = tensor(new long[] { 3, -3, -3, 3 });
            Assert.Equal([2L, -2, -1, 1], modModule.Run(a, b)[0].data<long>().ToArray());
            Assert.Equal([-1L, 1, -1, 1], fmodModule.Run(a, b)[0].data<long>().ToArray());
        }
    }

    [Fact]
    public void CastConvertsToTheNamedTypeIncludingOpset1StringForm()
    {
        foreach (var (opset, setTo) in new (int, Action<OnnxNode>)[]
                 {
                     (1, n => n.SetAttribute("to", "INT32")),
                     (13, n => n.SetAttribute("to", (long)OnnxDataType.Int32)),
                 })
        {
            var m = OnnxModel.Create("cast", opset);
            m.Graph.AddInput(Info("x", OnnxDataType.Float));
            setTo(m.Graph.AddNode(new OnnxNode("Cast", ["x"], ["y"], "cast")));
            m.Graph.AddOutput(Info("y", OnnxDataType.Int32));
            using var module = new OnnxModule(m);
            using var scope = NewDisposeScope();
            var y = module.forward(tensor(new[] { -2.7f, -0.5f, 0.5f, 2.7f }));
            Assert.Equal(ScalarType.Int32, y.dtype);
            Assert.Equal([-2, 0, 0, 2], y.data<int>().ToArray());
        }
    }

    // ---------------------------------------------------------------- legacy forms

    [Fact]
    public void LegacyBroadcastLinesBUpWithAAtAxis()
    {
        var m = Binary("Add", 6, OnnxDataType.Float);
        var node = m.Graph.Nodes[0];
        node.SetAttribute("broadcast", 1L);
        node.SetAttribute("axis", 1L);
        using var module = new OnnxModule(m);
        using var scope = NewDisposeScope();
        var a = zeros(2, 3, 4);
        var b = tensor(new[] { 1f, 2f, 3f });
        var y = module.Run(a, b)[0];
        Assert.Equal([2L, 3, 4], y.shape);
        Assert.True(Same(y, b.reshape(1, 3, 1).expand(2, 3, 4)), "B's dimension 0 lines up with A's dimension 1");

        // Without 'axis', legacy broadcasting is suffix matching, which is numpy's rule.
        node.RemoveAttribute("axis");
        using var suffix = new OnnxModule(m);
        Assert.Equal([2L, 3, 3], suffix.Run(zeros(2, 3, 3), b)[0].shape);

        var e = Assert.Throws<EngineException>(() => module.Run(zeros(2), b));
        Assert.Contains("legacy broadcast", e.Message);
    }

    [Fact]
    public void LegacyComparisonAndLogicBroadcastAtAxis()
    {
        var m = Binary("Equal", 1, OnnxDataType.Int32);
        m.Graph.Nodes[0].SetAttribute("broadcast", 1L);
        m.Graph.Nodes[0].SetAttribute("axis", 0L);
        using var module = new OnnxModule(m);
        using var scope = NewDisposeScope();
        var y = module.Run(tensor(new[] { 1, 1, 2, 2 }, [2, 2]), tensor(new[] { 1, 2 }))[0];
        Assert.Equal(ScalarType.Bool, y.dtype);
        Assert.Equal([true, true, true, true], y.data<bool>().ToArray());
    }

    [Fact]
    public void LegacyPReluAppliesAOneDimensionalSlopePerChannel()
    {
        var m = Binary("PRelu", 6, OnnxDataType.Float);
        using var module = new OnnxModule(m);
        using var scope = NewDisposeScope();
        var x = full(1, 2, 2, 3, -1f);
        var y = module.Run(x, tensor(new[] { 0.1f, 0.2f }))[0];
        Assert.True(y[0, 0].eq(-0.1f).all().item<bool>() && y[0, 1].eq(-0.2f).all().item<bool>(), "slope applies along axis 1");
    }

    [Fact]
    public void ClipTakesBoundsFromAttributesBeforeOpset11AndFromInputsAfter()
    {
        var attributes = OnnxModel.Create("clip6", 6);
        attributes.Graph.AddInput(Info("x", OnnxDataType.Float));
        var node = attributes.Graph.AddNode(new OnnxNode("Clip", ["x"], ["y"], "clip"));
        node.SetAttribute("min", -1f);
        node.SetAttribute("max", 1f);
        attributes.Graph.AddOutput(Info("y", OnnxDataType.Float));

        var inputs = OnnxModel.Create("clip13", 13);
        inputs.Graph.AddInput(Info("x", OnnxDataType.Int8));
        inputs.Graph.AddInitializer(OnnxTensor.FromBytes("hi", OnnxDataType.Int8, [], [5]));
        inputs.Graph.AddNode(new OnnxNode("Clip", ["x", "", "hi"], ["y"], "clip"));
        inputs.Graph.AddOutput(Info("y", OnnxDataType.Int8));

        using var a = new OnnxModule(attributes);
        using var b = new OnnxModule(inputs);
        using var scope = NewDisposeScope();
        Assert.Equal([-1f, 0.5f, 1f], a.forward(tensor(new[] { -3f, 0.5f, 3f })).data<float>().ToArray());
        var y = b.forward(tensor(new sbyte[] { -100, 3, 100 }));
        Assert.Equal(ScalarType.Int8, y.dtype);
        Assert.Equal([(sbyte)-100, (sbyte)3, (sbyte)5], y.data<sbyte>().ToArray());
    }

    // ---------------------------------------------------------------- constants

    [Fact]
    public void ConstantBuildsEveryAttributeForm()
    {
        var m = OnnxModel.Create("constants", 13);
        var g = m.Graph;
        g.AddNode(new OnnxNode("Constant", [], ["t"], "tensor")).SetAttribute("value", OnnxTensor.FromInt32s("v", [2], [4, 5]));
        g.AddNode(new OnnxNode("Constant", [], ["f"], "float")).SetAttribute("value_float", 1.5f);
        g.AddNode(new OnnxNode("Constant", [], ["fs"], "floats")).SetAttribute("value_floats", new[] { 1f, 2f, 3f });
        g.AddNode(new OnnxNode("Constant", [], ["i"], "int")).SetAttribute("value_int", 7L);
        g.AddNode(new OnnxNode("Constant", [], ["is"], "ints")).SetAttribute("value_ints", new[] { 8L, 9L });
        foreach (var (name, type) in new[] { ("t", OnnxDataType.Int32), ("f", OnnxDataType.Float), ("fs", OnnxDataType.Float), ("i", OnnxDataType.Int64), ("is", OnnxDataType.Int64) })
            g.AddOutput(Info(name, type));
        using var module = new OnnxModule(m);
        using var scope = NewDisposeScope();
        var o = module.Run();
        Assert.Equal(ScalarType.Int32, o[0].dtype);
        Assert.Equal([4, 5], o[0].data<int>().ToArray());
        Assert.Equal(0, o[1].dim());
        Assert.Equal(1.5f, o[1].item<float>());
        Assert.Equal([1f, 2f, 3f], o[2].data<float>().ToArray());
        Assert.Equal(ScalarType.Int64, o[3].dtype);
        Assert.Equal(0, o[3].dim());
        Assert.Equal([8L, 9L], o[4].data<long>().ToArray());
        Assert.False(o[2].requires_grad);
    }

    [Fact]
    public void ConstantOfShapeTakesTypeAndValueFromItsAttribute()
    {
        var m = OnnxModel.Create("cos", 20);
        m.Graph.AddInput(Info("shape", OnnxDataType.Int64));
        m.Graph.AddNode(new OnnxNode("ConstantOfShape", ["shape"], ["d"], "default"));
        m.Graph.AddNode(new OnnxNode("ConstantOfShape", ["shape"], ["i"], "int32"))
            .SetAttribute("value", OnnxTensor.FromInt32s("v", [1], [3]));
        m.Graph.AddOutput(Info("d", OnnxDataType.Float));
        m.Graph.AddOutput(Info("i", OnnxDataType.Int32));
        using var module = new OnnxModule(m);
        using var scope = NewDisposeScope();
        var o = module.Run(tensor(new long[] { 2, 3 }));
        Assert.Equal(ScalarType.Float32, o[0].dtype);
        Assert.Equal([2L, 3], o[0].shape);
        Assert.True(o[0].eq(0).all().item<bool>());
        Assert.Equal(ScalarType.Int32, o[1].dtype);
        Assert.True(o[1].eq(3).all().item<bool>());
        Assert.Equal(0, module.Run(tensor(Array.Empty<long>()))[0].dim());
    }

    // ---------------------------------------------------------------- against ONNX Runtime

    /// <summary>Ops whose ONNX definition differs from torch's default, or that the 1.12 backend tests do not cover, agree with ORT.</summary>
    [Theory]
    [InlineData("Gelu", 20, "")]
    [InlineData("Gelu", 20, "approximate=tanh")]
    [InlineData("Mish", 18, "")]
    [InlineData("HardSwish", 14, "")]
    [InlineData("HardSigmoid", 6, "alpha=0.3;beta=0.4")]
    [InlineData("Selu", 6, "")]
    [InlineData("Celu", 12, "alpha=2")]
    [InlineData("Elu", 6, "alpha=0.7")]
    [InlineData("LeakyRelu", 16, "alpha=0.2")]
    [InlineData("ThresholdedRelu", 10, "alpha=0.3")]
    [InlineData("Shrink", 9, "lambd=0.3;bias=0.1")]
    [InlineData("Softplus", 1, "")]
    [InlineData("Softsign", 1, "")]
    [InlineData("Round", 11, "")]
    [InlineData("Sign", 13, "")]
    [InlineData("Erf", 13, "")]
    [InlineData("Asinh", 9, "")]
    [InlineData("Atan", 7, "")]
    [InlineData("Clip", 6, "min=-0.5;max=0.75")]
    public void MatchesOnnxRuntime(string op, int opset, string attributes)
    {
        var m = OnnxModel.Create(op, opset);
        m.Graph.AddInput(new OnnxValueInfo("x", OnnxDataType.Float, [new OnnxDim(24, null)]));
        var node = m.Graph.AddNode(new OnnxNode(op, ["x"], ["y"], "n"));
        foreach (var kv in attributes.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(a => a.Split('=')))
        {
            if (float.TryParse(kv[1], System.Globalization.CultureInfo.InvariantCulture, out var f)) node.SetAttribute(kv[0], f);
            else node.SetAttribute(kv[0], kv[1]);
        }
        m.Graph.AddOutput(Info("y", OnnxDataType.Float));
        // Halves (Round), zeros (Sign) and values either side of every threshold above.
        var x = Enumerable.Range(-12, 24).Select(i => i * 0.25f).ToArray();

        using var ort = new OnnxRuntimeSession(m);
        var want = ort.Run(RuntimeTensor.FromFloats(x, 24)).AsFloats();
        using var module = new OnnxModule(m);
        using var scope = NewDisposeScope();
        var got = module.forward(tensor(x)).data<float>().ToArray();
        for (int i = 0; i < x.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 1e-6 + 1e-5 * Math.Abs(want[i]), $"{op}({x[i]}): engine {got[i]}, ORT {want[i]}");
    }

    [Fact]
    public void SwishIsXTimesSigmoidOfAlphaX()
    {
        var m = OnnxModel.Create("swish", 24);
        m.Graph.AddInput(Info("x", OnnxDataType.Float));
        m.Graph.AddNode(new OnnxNode("Swish", ["x"], ["y"], "swish")).SetAttribute("alpha", 1.5f);
        m.Graph.AddOutput(Info("y", OnnxDataType.Float));
        using var module = new OnnxModule(m);
        using var scope = NewDisposeScope();
        var x = linspace(-4, 4, 17);
        Assert.True(module.forward(x).allclose(x.mul(x.mul(1.5).sigmoid())));
    }

    [Fact]
    public void IsInfHonoursItsDetectFlags()
    {
        var m = OnnxModel.Create("isinf", 20);
        m.Graph.AddInput(Info("x", OnnxDataType.Float));
        m.Graph.AddNode(new OnnxNode("IsInf", ["x"], ["both"], "both"));
        m.Graph.AddNode(new OnnxNode("IsInf", ["x"], ["pos"], "pos")).SetAttribute("detect_negative", 0L);
        m.Graph.AddNode(new OnnxNode("IsInf", ["x"], ["neg"], "neg")).SetAttribute("detect_positive", 0L);
        foreach (var name in new[] { "both", "pos", "neg" }) m.Graph.AddOutput(Info(name, OnnxDataType.Bool));
        using var module = new OnnxModule(m);
        using var scope = NewDisposeScope();
        var o = module.Run(tensor(new[] { float.NegativeInfinity, 0f, float.PositiveInfinity, float.NaN }));
        Assert.Equal([true, false, true, false], o[0].data<bool>().ToArray());
        Assert.Equal([false, false, true, false], o[1].data<bool>().ToArray());
        Assert.Equal([true, false, false, false], o[2].data<bool>().ToArray());
    }

    // ---------------------------------------------------------------- pre-flight

    /// <summary>Every unsupported attribute value and element type is reported at once, each naming its node.</summary>
    [Fact]
    public void PreflightReportsEveryUnsupportedFormAtOnce()
    {
        var m = OnnxModel.Create("bad", 20);
        var g = m.Graph;
        g.AddInput(Info("x", OnnxDataType.Float));
        g.AddInitializer(OnnxTensor.FromBytes("u16", OnnxDataType.UInt16, [1], [1, 0]));
        g.AddNode(new OnnxNode("Gelu", ["x"], ["a"], "gelu_erf")).SetAttribute("approximate", "erf");
        g.AddNode(new OnnxNode("Cast", ["x"], ["b"], "cast_string")).SetAttribute("to", (long)OnnxDataType.String);
        g.AddNode(new OnnxNode("Cast", ["x"], ["c"], "cast_uint32")).SetAttribute("to", (long)OnnxDataType.UInt32);
        var strings = g.AddNode(new OnnxNode("Constant", [], ["d"], "const_string"));
        strings.Proto.Attribute.Add(new AttributeProto
        {
            Name = "value_strings",
            Type = AttributeProto.Types.AttributeType.Strings,
            Strings = { ByteString.CopyFromUtf8("hello") },
        });
        g.AddNode(new OnnxNode("Constant", [], ["e"], "const_uint16")).SetAttribute("value", OnnxTensor.FromBytes("v", OnnxDataType.UInt16, [1], [1, 0]));
        var sparse = g.AddNode(new OnnxNode("Constant", [], ["f"], "const_sparse"));
        sparse.Proto.Attribute.Add(new AttributeProto
        {
            Name = "sparse_value",
            Type = AttributeProto.Types.AttributeType.SparseTensor,
            SparseTensor = new SparseTensorProto { Values = new TensorProto { DataType = (int)OnnxDataType.Float } },
        });
        g.AddNode(new OnnxNode("Add", ["x", "u16"], ["h"], "add_uint16"));
        g.AddNode(new OnnxNode("ConstantOfShape", ["x"], ["i"], "cos_two_values")).SetAttribute("value", OnnxTensor.FromFloats("v", [2], [1f, 2f]));
        g.AddNode(new OnnxNode("Mod", ["x", "x"], ["j"], "mod_fmod2")).SetAttribute("fmod", 2L);
        var dropout = m.Graph.AddNode(new OnnxNode("Dropout", ["x"], ["k"], "dropout_ratio"));
        g.AddInitializer(OnnxTensor.FromFloats("one", [], [1f]));
        dropout.Inputs.Add("one");
        g.AddNode(new OnnxNode("Elu", ["x"], ["l"], "elu_int_alpha")).SetAttribute("alpha", 1L);
        g.AddOutput(Info("a", OnnxDataType.Float));

        var problems = EnginePreflight.FindProblems(m);
        string[] expected =
        [
            "gelu_erf", "approximate='erf'",
            "cast_string", "casting to string",
            "cast_uint32", "casting to uint32",
            "const_string", "value_strings is not supported",
            "const_uint16", "element type uint16",
            "const_sparse", "sparse_value is not supported",
            "add_uint16", "element type uint16",
            "u16", "initializer 'u16' has element type uint16",
            "cos_two_values", "2 elements",
            "mod_fmod2", "fmod=2",
            "dropout_ratio", "ratio=1",
            "elu_int_alpha", "alpha",
        ];
        for (int i = 0; i < expected.Length; i += 2)
            Assert.Contains(problems, p => p.Contains($"'{expected[i]}'") && p.Contains(expected[i + 1]));
        Assert.Equal(expected.Length / 2, problems.Count);
        var e = Assert.Throws<UnsupportedModelException>(() => new OnnxModule(m));
        Assert.Equal(problems.Count, e.Problems.Count);
    }

    // ---------------------------------------------------------------- helpers

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static OnnxValueInfo Info(string name, OnnxDataType type) => new(name, type, null);

    /// <summary>y = op(a, b) with inputs of the given types.</summary>
    private static OnnxModel Binary(string op, int opset, OnnxDataType type, OnnxDataType? second = null, OnnxDim[]? shape = null)
    {
        var m = OnnxModel.Create(op, opset);
        m.Graph.AddInput(new OnnxValueInfo("a", type, shape));
        m.Graph.AddInput(new OnnxValueInfo("b", second ?? type, shape));
        m.Graph.AddNode(new OnnxNode(op, ["a", "b"], ["y"], op.ToLowerInvariant()));
        m.Graph.AddOutput(Info("y", op is "Equal" or "Less" or "Greater" ? OnnxDataType.Bool : type));
        return m;
    }
}
