using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Runtime;
using static TorchSharp.torch;

namespace Whittle.Tests.Engine.Converters;

/// <summary>
/// The shape-family converters beyond what the ONNX backend node tests cover: gradients
/// (embedding lookup, Pad, Resize), which initializers are trained, pre-flight rejections, and
/// Engine-vs-ONNX Runtime agreement on the newer opsets (18+) the installed test data predates.
/// </summary>
public class ShapeConverterTests
{
    /// <summary>A one-node model: float graph inputs, initializers, and typed outputs.</summary>
    private static OnnxModel SingleNode(long opset, OnnxNode node, (string Name, long[] Shape, OnnxDataType Type)[] inputs,
        OnnxTensor[]? initializers = null, (string Name, OnnxDataType Type)[]? outputs = null)
    {
        var model = OnnxModel.Create("shape_test", opset);
        var g = model.Graph;
        foreach (var (name, shape, type) in inputs)
            g.AddInput(new OnnxValueInfo(name, type, shape.Select(d => new OnnxDim(d, null))));
        foreach (var t in initializers ?? []) g.AddInitializer(t);
        g.AddNode(node);
        foreach (var (name, type) in outputs ?? [(node.Outputs[0], OnnxDataType.Float)])
            g.AddOutput(new OnnxValueInfo(name, type, null));
        return model;
    }

    private static float[] Values(Tensor t)
    {
        using var c = t.detach().to_type(ScalarType.Float32).contiguous().reshape(-1);
        return c.numel() == 0 ? [] : c.data<float>().ToArray();
    }

    private static float[] Ramp(long count, float offset = 0.3f) =>
        Enumerable.Range(0, (int)count).Select(i => MathF.Sin(i * 1.7f + offset) * 3).ToArray();

    [Fact]
    public void GatherOfAFloatInitializerIsATrainableEmbeddingLookup()
    {
        using var scope = NewDisposeScope();
        var weights = Enumerable.Range(0, 12).Select(i => i * 0.5f).ToArray();
        var model = SingleNode(13, new OnnxNode("Gather", ["W", "ids"], ["y"], "embed"),
            [("ids", [4], OnnxDataType.Int64)],
            [OnnxTensor.FromFloats("W", [4, 3], weights)]);
        using var module = new OnnxModule(model);
        Assert.True(module.ParametersByInitializer.ContainsKey("W"));

        var y = module.Run(tensor(new long[] { 2, 0, 2, -1 }))[0];
        Assert.Equal(new long[] { 4, 3 }, y.shape);
        Assert.Equal(weights[6..9].Concat(weights[0..3]).Concat(weights[6..9]).Concat(weights[9..12]), Values(y));

        y.sum().backward();
        var grad = Values(module.ParametersByInitializer["W"].grad!);
        // Row 2 was looked up twice, rows 0 and 3 (as -1) once, row 1 never.
        Assert.Equal(new float[] { 1, 1, 1, 0, 0, 0, 2, 2, 2, 1, 1, 1 }, grad);
    }

    [Theory]
    [InlineData("edge", new float[] { 2, 1, 3 })]
    [InlineData("reflect", new float[] { 2, 3, 1 })]
    [InlineData("constant", new float[] { 1, 1, 1 })]
    public void PadPassesGradientsBackToTheElementsItCopies(string mode, float[] expectedGrad)
    {
        using var scope = NewDisposeScope();
        var node = new OnnxNode("Pad", ["x", "pads", "value"], ["y"], "pad");
        node.SetAttribute("mode", mode);
        var model = SingleNode(13, node, [("x", [3], OnnxDataType.Float)],
            [OnnxTensor.FromInt64s("pads", [2], [1, 2]), OnnxTensor.FromFloats("value", [], [7.5f])]);
        using var module = new OnnxModule(model);
        Assert.Empty(module.ParametersByInitializer);

        var x = tensor(new float[] { 10, 20, 30 }).requires_grad_();
        var y = module.Run(x)[0];
        var expected = mode switch
        {
            "edge" => new float[] { 10, 10, 20, 30, 30, 30 },
            "reflect" => new float[] { 20, 10, 20, 30, 20, 10 },
            _ => new float[] { 7.5f, 10, 20, 30, 7.5f, 7.5f },
        };
        Assert.Equal(expected, Values(y));
        y.sum().backward();
        Assert.Equal(expectedGrad, Values(x.grad!));
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("nearest")]
    [InlineData("cubic")]
    public void ResizeIsDifferentiableAndItsScalesAreNotTrained(string mode)
    {
        using var scope = NewDisposeScope();
        var node = new OnnxNode("Resize", ["x", "", "scales"], ["y"], "up");
        node.SetAttribute("mode", mode);
        var model = SingleNode(13, node, [("x", [1, 1, 2, 2], OnnxDataType.Float)],
            [OnnxTensor.FromFloats("scales", [4], [1, 1, 2, 2])]);
        using var module = new OnnxModule(model);
        Assert.Empty(module.ParametersByInitializer);

        var x = tensor(new float[] { 1, 2, 3, 4 }, [1, 1, 2, 2]).requires_grad_();
        var y = module.Run(x)[0];
        Assert.Equal(new long[] { 1, 1, 4, 4 }, y.shape);
        y.sum().backward();
        // Each output's weights sum to 1 and the 2x upsampling is symmetric, so every input feeds 4 outputs' worth.
        Assert.All(Values(x.grad!), g => Assert.Equal(4f, g, 4));
    }

    [Fact]
    public void TrainingThroughAShapeHeavyGraphLearnsAndLeaksNoTensors()
    {
        // ids -> Gather(W) -> Reshape -> Pad(reflect) -> Resize(linear) -> Slice -> ReduceMean
        var model = OnnxModel.Create("chain", 13);
        var g = model.Graph;
        g.AddInput(new OnnxValueInfo("ids", OnnxDataType.Int64, [new OnnxDim(2, null), new OnnxDim(2, null)]));
        g.AddInitializer(OnnxTensor.FromFloats("W", [5, 4], Ramp(20)));
        g.AddInitializer(OnnxTensor.FromInt64s("shape", [4], [1, 2, 2, 4]));
        g.AddInitializer(OnnxTensor.FromInt64s("pads", [8], [0, 0, 1, 1, 0, 0, 1, 1]));
        g.AddInitializer(OnnxTensor.FromFloats("scales", [4], [1, 1, 2, 2]));
        g.AddInitializer(OnnxTensor.FromInt64s("starts", [1], [1]));
        g.AddInitializer(OnnxTensor.FromInt64s("ends", [1], [-1]));
        g.AddInitializer(OnnxTensor.FromInt64s("axes", [1], [3]));
        g.AddNode(new OnnxNode("Gather", ["W", "ids"], ["e"]));
        g.AddNode(new OnnxNode("Reshape", ["e", "shape"], ["r"]));
        var pad = g.AddNode(new OnnxNode("Pad", ["r", "pads"], ["p"]));
        pad.SetAttribute("mode", "reflect");
        var resize = g.AddNode(new OnnxNode("Resize", ["p", "", "scales"], ["z"]));
        resize.SetAttribute("mode", "linear");
        g.AddNode(new OnnxNode("Slice", ["z", "starts", "ends", "axes"], ["s"]));
        var mean = g.AddNode(new OnnxNode("ReduceMean", ["s"], ["y"]));
        mean.SetAttribute("keepdims", 0L);
        g.AddOutput(new OnnxValueInfo("y", OnnxDataType.Float, null));

        using var module = new OnnxModule(model);
        var w = Assert.Single(module.ParametersByInitializer).Value;
        using var ids = tensor(new long[] { 0, 3, 3, 1 }, [2, 2]);
        float Step()
        {
            using var scope = NewDisposeScope();
            var y = module.Run(ids)[0];
            y.backward();
            using (no_grad())
            {
                w.sub_(w.grad! * 0.5f);
                w.grad!.zero_();
            }
            return y.item<float>();
        }
        float first = Step();
        long live = 0;
        for (int i = 0; i < 30; i++)
        {
            Step();
            if (i == 4) live = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }
        Assert.Equal(live, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.True(Step() < first, "gradient descent through the chain lowers the output");
        // Only the looked-up rows (0, 1, 3) moved.
        var trained = module.ToOnnx().Graph.FindInitializer("W")!.ToFloatArray();
        Assert.Equal(Ramp(20)[8..12], trained[8..12]);
        Assert.NotEqual(Ramp(20)[0..4], trained[0..4]);
    }

    [Fact]
    public void PreflightListsEveryUnsupportedAttributeAndTypeAtOnce()
    {
        var model = OnnxModel.Create("bad", 13);
        var g = model.Graph;
        g.AddInput(new OnnxValueInfo("x", OnnxDataType.Float, [new OnnxDim(1, null), new OnnxDim(4, null), new OnnxDim(2, null), new OnnxDim(2, null)]));
        g.AddInitializer(OnnxTensor.FromFloats("scales", [4], [1, 1, 2, 2]));
        g.AddInitializer(OnnxTensor.FromInt64s("pads", [8], new long[8]));
        g.AddInitializer(OnnxTensor.FromBytes("u16", OnnxDataType.UInt16, [2], new byte[4]));
        g.AddInitializer(OnnxTensor.FromInt64s("shape", [1], [-1]));
        var resize = new OnnxNode("Resize", ["x", "", "scales"], ["r"], "resize");
        resize.SetAttribute("mode", "area");
        resize.SetAttribute("coordinate_transformation_mode", "half_pixel_symmetric"); // only from opset 19
        resize.SetAttribute("nearest_mode", "stochastic");
        g.AddNode(resize);
        var pad = new OnnxNode("Pad", ["x", "pads"], ["p"], "pad");
        pad.SetAttribute("mode", "wrap"); // only from opset 19
        g.AddNode(pad);
        var d2s = new OnnxNode("DepthToSpace", ["x"], ["d"], "d2s");
        d2s.SetAttribute("blocksize", 2L);
        d2s.SetAttribute("mode", "RCD");
        g.AddNode(d2s);
        g.AddNode(new OnnxNode("Reshape", ["u16", "shape"], ["s"], "reshape"));
        foreach (var o in new[] { "r", "p", "d", "s" }) g.AddOutput(new OnnxValueInfo(o, OnnxDataType.Float, null));

        var problems = EnginePreflight.FindProblems(model);
        // Six from the converters, one from the pre-flight's own check of initializer types.
        Assert.Equal(7, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("initializer ") && p.Contains("uint16"));
        Assert.Contains(problems, p => p.Contains("'resize'") && p.Contains("mode 'area'"));
        Assert.Contains(problems, p => p.Contains("'resize'") && p.Contains("coordinate_transformation_mode 'half_pixel_symmetric'"));
        Assert.Contains(problems, p => p.Contains("'resize'") && p.Contains("nearest_mode 'stochastic'"));
        Assert.Contains(problems, p => p.Contains("'pad'") && p.Contains("mode 'wrap'"));
        Assert.Contains(problems, p => p.Contains("'d2s'") && p.Contains("mode 'RCD'"));
        Assert.Contains(problems, p => p.Contains("'reshape'") && p.Contains("uint16"));
        var e = Assert.Throws<UnsupportedModelException>(() => new OnnxModule(model));
        Assert.Equal(7, e.Problems.Count);
    }

    [Fact]
    public void ScatterReductionsAreCheckedAgainstTheOpset()
    {
        foreach (var (opset, reduction, ok) in new[] { (13L, "add", false), (16L, "add", true), (16L, "max", false), (18L, "max", true) })
        {
            var node = new OnnxNode("ScatterElements", ["x", "i", "u"], ["y"], "scatter");
            node.SetAttribute("reduction", reduction);
            var model = SingleNode(opset, node, [("x", [3], OnnxDataType.Float)],
                [OnnxTensor.FromInt64s("i", [1], [0]), OnnxTensor.FromFloats("u", [1], [1f])]);
            Assert.Equal(ok, EnginePreflight.FindProblems(model).Count == 0);
        }
    }

    [Fact]
    public void ReshapeCopiesZerosInfersMinusOneAndHonoursAllowZero()
    {
        using var scope = NewDisposeScope();
        Tensor Run(long[] shape, long allowZero, Tensor x)
        {
            var node = new OnnxNode("Reshape", ["x", "shape"], ["y"]);
            node.SetAttribute("allowzero", allowZero);
            var model = SingleNode(14, node, [("x", x.shape, OnnxDataType.Float)], [OnnxTensor.FromInt64s("shape", [shape.Length], shape)]);
            using var module = new OnnxModule(model);
            return module.Run(x)[0];
        }
        Assert.Equal(new long[] { 2, 12 }, Run([0, -1], 0, zeros(2, 3, 4)).shape);
        Assert.Equal(new long[] { 4, 1, 6 }, Run([4, 1, -1], 0, zeros(2, 3, 4)).shape);
        Assert.Equal(new long[] { 3, 0 }, Run([3, 0], 1, zeros(0, 3)).shape);
        // Without allowzero the 0 copies the input's 0 and the element counts differ.
        Assert.Throws<EngineException>(() => Run([3, 0], 0, zeros(0, 3)));
    }

    [Fact]
    public void SqueezeAndUnsqueezeTakeAxesFromAttributesBefore13AndInputsFrom13()
    {
        using var scope = NewDisposeScope();
        var x = zeros(3, 1, 4, 1);
        var squeeze11 = new OnnxNode("Squeeze", ["x"], ["y"]);
        squeeze11.SetAttribute("axes", new long[] { -1 });
        using (var m = new OnnxModule(SingleNode(11, squeeze11, [("x", x.shape, OnnxDataType.Float)])))
            Assert.Equal(new long[] { 3, 1, 4 }, m.Run(x)[0].shape);
        using (var m = new OnnxModule(SingleNode(13, new OnnxNode("Squeeze", ["x", "axes"], ["y"]), [("x", x.shape, OnnxDataType.Float)],
                   [OnnxTensor.FromInt64s("axes", [1], [1])])))
            Assert.Equal(new long[] { 3, 4, 1 }, m.Run(x)[0].shape);
        using (var m = new OnnxModule(SingleNode(13, new OnnxNode("Squeeze", ["x"], ["y"]), [("x", x.shape, OnnxDataType.Float)])))
            Assert.Equal(new long[] { 3, 4 }, m.Run(x)[0].shape);

        var unsqueeze11 = new OnnxNode("Unsqueeze", ["x"], ["y"]);
        unsqueeze11.SetAttribute("axes", new long[] { 0, -1 });
        using (var m = new OnnxModule(SingleNode(11, unsqueeze11, [("x", x.shape, OnnxDataType.Float)])))
            Assert.Equal(new long[] { 1, 3, 1, 4, 1, 1 }, m.Run(x)[0].shape);
        using (var m = new OnnxModule(SingleNode(13, new OnnxNode("Unsqueeze", ["x", "axes"], ["y"]), [("x", x.shape, OnnxDataType.Float)],
                   [OnnxTensor.FromInt64s("axes", [2], [4, 1])])))
            Assert.Equal(new long[] { 3, 1, 1, 4, 1, 1 }, m.Run(x)[0].shape);
    }

    [Fact]
    public void SliceClampsHugeBoundsAndStepsBackwards()
    {
        using var scope = NewDisposeScope();
        var model = SingleNode(13, new OnnxNode("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"]), [("x", [2, 5], OnnxDataType.Float)],
        [
            OnnxTensor.FromInt64s("starts", [2], [long.MaxValue, 1]),
            OnnxTensor.FromInt64s("ends", [2], [long.MinValue, long.MaxValue]),
            OnnxTensor.FromInt64s("axes", [2], [1, 0]),
            OnnxTensor.FromInt64s("steps", [2], [-2, 1]),
        ]);
        using var module = new OnnxModule(model);
        var x = arange(10, dtype: ScalarType.Float32).reshape(2, 5).requires_grad_();
        var y = module.Run(x)[0];
        // Row 1, columns 4, 2, 0.
        Assert.Equal(new float[] { 9, 7, 5 }, Values(y));
        y.sum().backward();
        Assert.Equal(new float[] { 0, 0, 0, 0, 0, 1, 0, 1, 0, 1 }, Values(x.grad!));
    }

    [Fact]
    public void ShapeAndSizeAreInt64()
    {
        using var scope = NewDisposeScope();
        var shape = new OnnxNode("Shape", ["x"], ["s"]);
        shape.SetAttribute("start", -3L);
        shape.SetAttribute("end", 100L);
        var model = SingleNode(15, shape, [("x", [2, 3, 4, 5], OnnxDataType.Float)], outputs: [("s", OnnxDataType.Int64)]);
        using (var m = new OnnxModule(model))
        {
            var s = m.Run(zeros(2, 3, 4, 5))[0];
            Assert.Equal(ScalarType.Int64, s.dtype);
            Assert.Equal(new long[] { 3, 4, 5 }, TorchTensors.ToLongs(s));
        }
        using (var m = new OnnxModule(SingleNode(13, new OnnxNode("Size", ["x"], ["n"]), [("x", [2, 3], OnnxDataType.Float)], outputs: [("n", OnnxDataType.Int64)])))
        {
            var n = m.Run(zeros(2, 3))[0];
            Assert.Equal(ScalarType.Int64, n.dtype);
            Assert.Empty(n.shape);
            Assert.Equal(6L, n.item<long>());
        }
    }

    /// <summary>Cases for ops whose newer forms (opset 18/19) the installed ONNX test data does not cover.</summary>
    public static TheoryData<string> OrtCases() =>
    [
        "split18_num_outputs", "reduce_mean18_axes_input", "reduce_max18_noop", "reduce_sum13_negative_axis", "reduce_l2_18",
        "reduce_log_sum_exp18", "reduce_prod18", "pad18_axes_reflect", "pad19_wrap", "pad13_negative_edge",
        "resize19_linear_antialias", "resize18_cubic_antialias", "resize19_half_pixel_symmetric", "resize18_not_larger",
        "resize18_not_smaller_axes", "resize13_crop_and_resize", "resize10_nearest_down", "resize10_linear_up",
        "resize13_nearest_round_prefer_ceil_asymmetric", "slice_negative_steps", "scatter_elements18_max", "scatter_nd18_min",
        "gather_axis1_negative", "cumsum_exclusive_reverse", "expand_both_ways", "tile", "depth_to_space_crd", "space_to_depth",
        "argmax_last_index", "trilu_lower_k", "gather_elements_axis1", "onehot_axis0",
    ];

    /// <summary>The Engine and ONNX Runtime agree on one node (ORT is the judge of what a model means).</summary>
    [Theory]
    [MemberData(nameof(OrtCases))]
    public void EngineMatchesOnnxRuntime(string name)
    {
        var (model, shape) = OrtCase(name);
        var x = Ramp(shape.Aggregate(1L, (a, b) => a * b));
        using var session = new OnnxRuntimeSession(model);
        var want = session.Run(new Dictionary<string, RuntimeTensor> { ["x"] = RuntimeTensor.FromFloats(x, shape) });

        using var scope = NewDisposeScope();
        using var module = new OnnxModule(model);
        var got = module.Run(tensor(x, shape));
        for (int o = 0; o < got.Length; o++)
        {
            var expected = want[module.OutputNames[o]];
            Assert.Equal(expected.Shape, got[o].shape);
            var w = expected.AsFloats();
            var v = Values(got[o]);
            for (int i = 0; i < w.Length; i++)
                Assert.True(Math.Abs(w[i] - v[i]) <= 1e-5 + 1e-4 * Math.Abs(w[i]), $"{name} output {o} element {i}: engine {v[i]}, ORT {w[i]}");
        }
    }

    private static (OnnxModel Model, long[] Shape) OrtCase(string name)
    {
        OnnxNode N(string op, string[] inputs, string[]? outputs = null) => new(op, inputs, outputs ?? ["y"], name);
        OnnxTensor I64(string n, params long[] v) => OnnxTensor.FromInt64s(n, [v.Length], v);
        OnnxTensor F32(string n, params float[] v) => OnnxTensor.FromFloats(n, [v.Length], v);
        (OnnxModel, long[]) Make(long opset, OnnxNode node, long[] shape, OnnxTensor[]? inits = null, (string, OnnxDataType)[]? outputs = null) =>
            (SingleNode(opset, node, [("x", shape, OnnxDataType.Float)], inits, outputs), shape);

        switch (name)
        {
            case "split18_num_outputs":
            {
                var n = N("Split", ["x"], ["a", "b", "c"]);
                n.SetAttribute("axis", 1L);
                n.SetAttribute("num_outputs", 3L);
                return Make(18, n, [2, 7], outputs: [("a", OnnxDataType.Float), ("b", OnnxDataType.Float), ("c", OnnxDataType.Float)]);
            }
            case "reduce_mean18_axes_input":
            {
                var n = N("ReduceMean", ["x", "axes"]);
                n.SetAttribute("keepdims", 0L);
                return Make(18, n, [2, 3, 4], [I64("axes", 1, -1)]);
            }
            case "reduce_max18_noop":
            {
                var n = N("ReduceMax", ["x"]);
                n.SetAttribute("noop_with_empty_axes", 1L);
                return Make(18, n, [2, 3]);
            }
            case "reduce_sum13_negative_axis":
                return Make(13, N("ReduceSum", ["x", "axes"]), [2, 3, 4], [I64("axes", -2)]);
            case "reduce_l2_18":
                return Make(18, N("ReduceL2", ["x", "axes"]), [2, 3, 4], [I64("axes", 0, 2)]);
            case "reduce_log_sum_exp18":
            {
                var n = N("ReduceLogSumExp", ["x", "axes"]);
                n.SetAttribute("keepdims", 0L);
                return Make(18, n, [2, 3, 4], [I64("axes", 2, 0)]);
            }
            case "reduce_prod18":
                return Make(18, N("ReduceProd", ["x", "axes"]), [2, 3, 2], [I64("axes", 1, 2)]);
            case "pad18_axes_reflect":
            {
                var n = N("Pad", ["x", "pads", "", "axes"]);
                n.SetAttribute("mode", "reflect");
                return Make(18, n, [2, 3, 4], [I64("pads", 2, 0, 1, 2), I64("axes", -1, 1)]);
            }
            case "pad19_wrap":
            {
                var n = N("Pad", ["x", "pads"]);
                n.SetAttribute("mode", "wrap");
                return Make(19, n, [3, 4], [I64("pads", 2, 1, 1, 3)]);
            }
            case "pad13_negative_edge":
            {
                var n = N("Pad", ["x", "pads"]);
                n.SetAttribute("mode", "edge");
                return Make(13, n, [3, 5], [I64("pads", -1, 2, 2, -1)]);
            }
            case "resize19_linear_antialias":
            {
                var n = N("Resize", ["x", "", "", "sizes"]);
                n.SetAttribute("mode", "linear");
                n.SetAttribute("antialias", 1L);
                return Make(19, n, [1, 2, 9, 7], [I64("sizes", 1, 2, 4, 3)]);
            }
            case "resize18_cubic_antialias":
            {
                var n = N("Resize", ["x", "", "scales"]);
                n.SetAttribute("mode", "cubic");
                n.SetAttribute("antialias", 1L);
                return Make(18, n, [1, 1, 8, 8], [F32("scales", 1, 1, 0.5f, 0.75f)]);
            }
            case "resize19_half_pixel_symmetric":
            {
                var n = N("Resize", ["x", "", "scales"]);
                n.SetAttribute("mode", "linear");
                n.SetAttribute("coordinate_transformation_mode", "half_pixel_symmetric");
                return Make(19, n, [1, 1, 5, 4], [F32("scales", 1, 1, 1.7f, 0.6f)]);
            }
            case "resize18_not_larger":
            {
                var n = N("Resize", ["x", "", "", "sizes"]);
                n.SetAttribute("keep_aspect_ratio_policy", "not_larger");
                n.SetAttribute("axes", new long[] { 2, 3 });
                return Make(18, n, [1, 1, 3, 5], [I64("sizes", 7, 8)]);
            }
            case "resize18_not_smaller_axes":
            {
                var n = N("Resize", ["x", "", "", "sizes"]);
                n.SetAttribute("mode", "linear");
                n.SetAttribute("keep_aspect_ratio_policy", "not_smaller");
                n.SetAttribute("axes", new long[] { 3, 2 });
                return Make(18, n, [1, 2, 3, 5], [I64("sizes", 7, 4)]);
            }
            case "resize13_crop_and_resize":
            {
                var n = N("Resize", ["x", "roi", "", "sizes"]);
                n.SetAttribute("mode", "linear");
                n.SetAttribute("coordinate_transformation_mode", "tf_crop_and_resize");
                n.SetAttribute("extrapolation_value", 10f);
                return Make(13, n, [1, 1, 4, 4], [F32("roi", 0, 0, 0.4f, -0.2f, 1, 1, 1.2f, 0.7f), I64("sizes", 1, 1, 3, 5)]);
            }
            case "resize10_nearest_down":
                return Make(10, N("Resize", ["x", "scales"]), [1, 1, 7, 5], [F32("scales", 1, 1, 0.6f, 0.45f)]);
            case "resize10_linear_up":
            {
                var n = N("Resize", ["x", "scales"]);
                n.SetAttribute("mode", "linear");
                return Make(10, n, [1, 1, 3, 2], [F32("scales", 1, 1, 2.5f, 3)]);
            }
            case "resize13_nearest_round_prefer_ceil_asymmetric":
            {
                var n = N("Resize", ["x", "", "scales"]);
                n.SetAttribute("nearest_mode", "round_prefer_ceil");
                n.SetAttribute("coordinate_transformation_mode", "asymmetric");
                return Make(13, n, [1, 1, 4, 3], [F32("scales", 1, 1, 1.5f, 2.2f)]);
            }
            case "slice_negative_steps":
                return Make(13, N("Slice", ["x", "starts", "ends", "axes", "steps"]), [4, 6],
                    [I64("starts", -1, long.MaxValue), I64("ends", long.MinValue, 1), I64("axes", 0, 1), I64("steps", -3, -2)]);
            case "scatter_elements18_max":
            {
                var n = N("ScatterElements", ["x", "i", "u"]);
                n.SetAttribute("axis", 1L);
                n.SetAttribute("reduction", "max");
                return Make(18, n, [2, 4], [OnnxTensor.FromInt64s("i", [2, 3], [1, 1, -1, 0, 0, 2]), OnnxTensor.FromFloats("u", [2, 3], [5, -5, 9, 4, -1, 0])]);
            }
            case "scatter_nd18_min":
            {
                var n = N("ScatterND", ["x", "i", "u"]);
                n.SetAttribute("reduction", "min");
                return Make(18, n, [3, 2], [OnnxTensor.FromInt64s("i", [3, 1], [2, 0, 2]), OnnxTensor.FromFloats("u", [3, 2], [-9, 9, -1, 1, 0, -7])]);
            }
            case "gather_axis1_negative":
            {
                var n = N("Gather", ["x", "i"]);
                n.SetAttribute("axis", 1L);
                return Make(13, n, [2, 5, 3], [OnnxTensor.FromInt64s("i", [2, 2], [-1, 0, 3, -5])]);
            }
            case "cumsum_exclusive_reverse":
            {
                var n = N("CumSum", ["x", "axis"]);
                n.SetAttribute("exclusive", 1L);
                n.SetAttribute("reverse", 1L);
                return Make(14, n, [3, 4], [OnnxTensor.FromInt64s("axis", [], [1])]);
            }
            case "expand_both_ways":
                return Make(13, N("Expand", ["x", "shape"]), [3, 1], [I64("shape", 2, 1, 4)]);
            case "tile":
                return Make(13, N("Tile", ["x", "repeats"]), [2, 3], [I64("repeats", 2, 3)]);
            case "depth_to_space_crd":
            {
                var n = N("DepthToSpace", ["x"]);
                n.SetAttribute("blocksize", 2L);
                n.SetAttribute("mode", "CRD");
                return Make(13, n, [1, 8, 2, 3]);
            }
            case "space_to_depth":
            {
                var n = N("SpaceToDepth", ["x"]);
                n.SetAttribute("blocksize", 2L);
                return Make(13, n, [1, 2, 4, 6]);
            }
            case "argmax_last_index":
            {
                var n = N("ArgMax", ["x"]);
                n.SetAttribute("axis", 1L);
                n.SetAttribute("select_last_index", 1L);
                n.SetAttribute("keepdims", 0L);
                return Make(13, n, [3, 40], outputs: [("y", OnnxDataType.Int64)]);
            }
            case "trilu_lower_k":
            {
                var n = N("Trilu", ["x", "k"]);
                n.SetAttribute("upper", 0L);
                return Make(14, n, [2, 4, 5], [OnnxTensor.FromInt64s("k", [], [-1])]);
            }
            case "gather_elements_axis1":
            {
                var n = N("GatherElements", ["x", "i"]);
                n.SetAttribute("axis", 1L);
                return Make(13, n, [2, 3], [OnnxTensor.FromInt64s("i", [2, 2], [2, -1, 0, 1])]);
            }
            case "onehot_axis0":
            {
                var n = N("OneHot", ["i", "depth", "values"]);
                n.SetAttribute("axis", 0L);
                // The float input is unused by the node; it keeps every case's signature alike.
                var model = SingleNode(11, n, [("x", [1], OnnxDataType.Float)],
                    [OnnxTensor.FromInt64s("i", [2, 2], [1, -1, 4, 0]), OnnxTensor.FromInt64s("depth", [], [3]), F32("values", -2, 5)]);
                return (model, [1]);
            }
            default:
                throw new ArgumentException(name);
        }
    }
}
