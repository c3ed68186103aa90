using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Tests.Onnx;

/// <summary>
/// <see cref="OpsetUpgrade"/> to opset 21: each small model runs in ONNX Runtime before and after
/// the upgrade and must give identical outputs; the signature changes (axes and split attributes
/// becoming inputs, Split's num_outputs, Dropout's ratio) are checked in the upgraded graph.
/// </summary>
public sealed class OpsetUpgradeTests
{
    public static TheoryData<string> Cases() => new(Case.All.Keys);

    [Theory]
    [MemberData(nameof(Cases))]
    public void UpgradeTo21_OrtGivesIdenticalOutputs(string name)
    {
        var (model, inputs) = Case.All[name]();
        var upgraded = OpsetUpgrade.To(model, 21);
        Assert.Equal(21, upgraded.GetOpset());
        Assert.True(upgraded.IrVersion >= 10, $"IR {upgraded.IrVersion}");
        Assert.NotEqual(21, model.GetOpset()); // the input model is untouched
        Assert.True(upgraded.Validate().IsValid, string.Join("; ", upgraded.Validate().Errors));

        var before = Run(model, inputs);
        var after = Run(upgraded, inputs);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (output, want) in before)
        {
            var got = after[output];
            Assert.Equal(want.ElementType, got.ElementType);
            Assert.Equal(want.Shape, got.Shape);
            if (want.ElementType == OnnxDataType.Int64) Assert.Equal((long[])want.Data, (long[])got.Data);
            else Assert.Equal(want.AsFloats(), got.AsFloats());
        }
    }

    [Fact]
    public void ReduceAxesBecomeInputsAt18_AndReduceSumAt13()
    {
        var (model, _) = Case.All["reductions from 11"]();
        var upgraded = OpsetUpgrade.To(model, 21);
        var g = upgraded.Graph;
        foreach (var n in g.Nodes.Where(n => n.OpType.StartsWith("Reduce", StringComparison.Ordinal)))
        {
            Assert.False(n.HasAttribute("axes"), $"{n.DisplayName} kept its axes attribute");
            var original = model.Graph.FindNode(n.Name)!;
            if (original.GetInts("axes") is { } axes) Assert.Equal(axes, g.FindInitializer(n.Inputs[1])!.ToInt64Array());
            else Assert.Single(n.Inputs); // reduce over everything: no axes input, as before
        }
        // Opset 17 is past ReduceSum's change (13) but before the others' (18).
        var at17 = OpsetUpgrade.To(model, 17);
        Assert.False(at17.Graph.FindNode("sum")!.HasAttribute("axes"));
        Assert.True(at17.Graph.FindNode("mean")!.HasAttribute("axes"));
        Assert.Equal(8, at17.IrVersion);
    }

    [Fact]
    public void SplitGetsItsSizesAsAnInputAt13_AndNumOutputsAt18()
    {
        var (model, _) = Case.All["split from 11"]();
        var upgraded = OpsetUpgrade.To(model, 21).Graph;
        var sized = upgraded.FindNode("sized")!;
        Assert.False(sized.HasAttribute("split"));
        Assert.Equal([1L, 3L], upgraded.FindInitializer(sized.Inputs[1])!.ToInt64Array());
        Assert.False(sized.HasAttribute("num_outputs"));
        Assert.Equal(2, upgraded.FindNode("equal")!.GetInt("num_outputs"));
        Assert.Equal(3, upgraded.FindNode("thirds")!.GetInt("num_outputs"));
        // At 13 to 17 the sizes are an input but num_outputs does not exist yet.
        Assert.False(OpsetUpgrade.To(model, 17).Graph.FindNode("thirds")!.HasAttribute("num_outputs"));

        var (model13, _) = Case.All["split from 13"]();
        var upgraded13 = OpsetUpgrade.To(model13, 21).Graph;
        Assert.Equal(3, upgraded13.FindNode("equal13")!.GetInt("num_outputs"));
        Assert.False(upgraded13.FindNode("input13")!.HasAttribute("num_outputs"));
    }

    [Fact]
    public void FromOpset17_SoftmaxOnRank3IsNotAProblem()
    {
        // Softmax changed at 13; a model already past it upgrades without the 2-D proof.
        var (model, _) = Case.All["transformer block from 17"]();
        Assert.Contains(model.Graph.Nodes, n => n.OpType == "Softmax");
        Assert.Equal(21, OpsetUpgrade.To(model, 21).GetOpset());
    }

    [Fact]
    public void UnhandledOpsAreAllListedAndNothingChanges()
    {
        var model = OnnxModel.Create("bad", 11);
        var g = model.Graph;
        g.AddInput(Float("x", 2, 4, 3, 3));
        g.AddNode(new OnnxNode("Upsample", ["x", "s"], ["u"], "up"));
        g.AddNode(new OnnxNode("BatchNormalization", ["u", "a", "b", "c", "d"], ["bn", "mean", "var"], "bn-train"));
        g.AddNode(new OnnxNode("Loop", ["n", "cond"], ["l"], "loop"));
        g.AddNode(new OnnxNode("Resize", ["bn", "", "scales"], ["r"], "resize"));
        g.Nodes[3].SetAttribute("coordinate_transformation_mode", "tf_half_pixel_for_nn");
        g.AddNode(new OnnxNode("ReduceMean", ["r"], ["y"], "fine"));
        g.Nodes[4].SetAttribute("axes", new long[] { 1 });
        g.AddOutput("y");
        var before = model.ToBytes();
        var e = Assert.Throws<OnnxException>(() => OpsetUpgrade.UpgradeInPlace(model, 21));
        Assert.Contains("from opset 11 to 21", e.Message);
        Assert.Contains("Upsample ('up')", e.Message);
        Assert.Contains("BatchNormalization ('bn-train'): its training-mode outputs changed at opset 14", e.Message);
        Assert.Contains("Loop ('loop')", e.Message);
        Assert.Contains("Resize ('resize'): coordinate_transformation_mode tf_half_pixel_for_nn was removed at opset 13", e.Message);
        Assert.DoesNotContain("fine", e.Message);
        Assert.Equal(before, model.ToBytes());

        var group = OnnxModel.Create("gn", 18);
        group.Graph.AddNode(new OnnxNode("GroupNormalization", ["x", "s", "b"], ["y"], "gn"));
        e = Assert.Throws<OnnxException>(() => OpsetUpgrade.To(group, 21));
        Assert.Contains("GroupNormalization ('gn'): scale and bias changed from per-group to per-channel at opset 21", e.Message);
        Assert.Equal(20, OpsetUpgrade.To(group, 20).GetOpset());

        Assert.Throws<ArgumentOutOfRangeException>(() => OpsetUpgrade.To(model, OpsetUpgrade.HighestTarget + 1));
        Assert.Equal(21, OpsetUpgrade.HighestTarget);
    }

    [Fact]
    public void DropoutRatioBecomesAnInputAt12_AndRoiAlignKeepsItsOldCoordinates()
    {
        var (model, _) = Case.All["mlp from 10 (dropout ratio, squeeze axes)"]();
        var dropout = OpsetUpgrade.To(model, 21).Graph;
        var node = dropout.Nodes.Single(n => n.OpType == "Dropout");
        Assert.False(node.HasAttribute("ratio"));
        Assert.Equal([0.25f], dropout.FindInitializer(node.Inputs[1])!.ToFloatArray());

        var roi = OnnxModel.Create("roi", 10);
        roi.Graph.AddNode(new OnnxNode("RoiAlign", ["x", "rois", "idx"], ["y"], "roi"));
        Assert.Equal("output_half_pixel", OpsetUpgrade.To(roi, 21).Graph.Nodes[0].GetString("coordinate_transformation_mode"));
        var grid = OnnxModel.Create("grid", 16);
        grid.Graph.AddNode(new OnnxNode("GridSample", ["x", "g"], ["y"], "gs"));
        grid.Graph.Nodes[0].SetAttribute("mode", "bicubic");
        Assert.Equal("cubic", OpsetUpgrade.To(grid, 21).Graph.Nodes[0].GetString("mode"));
    }

    // ---------------------------------------------------------------- models

    private static class Case
    {
        public static readonly Dictionary<string, Func<(OnnxModel, Dictionary<string, RuntimeTensor>)>> All = new()
        {
            ["reductions from 11"] = Reductions,
            ["split from 11"] = Splits,
            ["split from 13"] = Splits13,
            ["cnn from 11 (conv, bn, pad, resize, clip, softmax)"] = Cnn,
            ["mlp from 10 (dropout ratio, squeeze axes)"] = Mlp,
            ["text from 13 (gather, layer norm by hand, reshape, split)"] = Text,
            ["transformer block from 17"] = Transformer,
        };

        private static (OnnxModel, Dictionary<string, RuntimeTensor>) Reductions()
        {
            var m = OnnxModel.Create("reduce", 11, irVersion: 6);
            var g = m.Graph;
            g.AddInput(Float("x", 2, 3, 4, 5));
            g.AddNode(Node("ReduceMean", ["x"], ["mean"], "mean", ("axes", new long[] { 2, 3 })));
            g.AddNode(Node("ReduceSum", ["x"], ["sum"], "sum", ("axes", new long[] { 1 }), ("keepdims", 0L)));
            g.AddNode(Node("ReduceMax", ["x"], ["max"], "max", ("axes", new long[] { -1 })));
            g.AddNode(Node("ReduceMin", ["x"], ["min"], "min", ("axes", new long[] { 0, 2 }), ("keepdims", 0L)));
            g.AddNode(Node("Abs", ["x"], ["ax"], "abs"));
            g.AddNode(Node("ReduceProd", ["ax"], ["prod"], "prod", ("axes", new long[] { 1 })));
            g.AddNode(Node("ReduceL2", ["x"], ["l2"], "l2", ("axes", new long[] { 3 })));
            g.AddNode(Node("ReduceL1", ["x"], ["l1"], "l1"));
            g.AddNode(Node("ReduceLogSumExp", ["x"], ["lse"], "lse", ("axes", new long[] { 1, 2 })));
            g.AddNode(Node("ReduceSumSquare", ["x"], ["ss"], "ss", ("axes", new long[] { 2 }), ("keepdims", 0L)));
            g.AddNode(Node("ReduceLogSum", ["ax"], ["ls"], "ls"));
            foreach (var o in new[] { "mean", "sum", "max", "min", "prod", "l2", "l1", "lse", "ss", "ls" }) g.AddOutput(Output(o));
            return (m, new() { ["x"] = Values(1, 2, 3, 4, 5) });
        }

        private static (OnnxModel, Dictionary<string, RuntimeTensor>) Splits()
        {
            // Split-11: sizes as an attribute, or equal parts.
            var m = OnnxModel.Create("split", 11, irVersion: 6);
            var g = m.Graph;
            g.AddInput(Float("x", 2, 4, 6));
            g.AddNode(Node("Split", ["x"], ["a", "b"], "sized", ("axis", 1L), ("split", new long[] { 1, 3 })));
            g.AddNode(Node("Split", ["x"], ["c", "d"], "equal", ("axis", -1L)));
            g.AddNode(Node("Add", ["c", "d"], ["cd"], "add"));
            g.AddNode(Node("Split", ["x"], ["e", "f", "k"], "thirds", ("axis", 2L)));
            foreach (var o in new[] { "a", "b", "cd", "e", "f", "k" }) g.AddOutput(Output(o));
            return (m, new() { ["x"] = Values(2, 2, 4, 6) });
        }

        private static (OnnxModel, Dictionary<string, RuntimeTensor>) Splits13()
        {
            // Split-13: sizes as an input, or equal parts.
            var m = OnnxModel.Create("split13", 13, irVersion: 7);
            var g = m.Graph;
            g.AddInput(Float("x", 2, 4, 6));
            g.AddInitializer(OnnxTensor.FromInt64s("sizes", [3], [1, 2, 3]));
            g.AddNode(Node("Split", ["x"], ["e", "f", "k"], "equal13", ("axis", 2L)));
            g.AddNode(Node("Split", ["x", "sizes"], ["p", "q", "r"], "input13", ("axis", 2L)));
            foreach (var o in new[] { "e", "f", "k", "p", "q", "r" }) g.AddOutput(Output(o));
            return (m, new() { ["x"] = Values(3, 2, 4, 6) });
        }

        private static (OnnxModel, Dictionary<string, RuntimeTensor>) Cnn()
        {
            var m = OnnxModel.Create("cnn", 11, irVersion: 6);
            var g = m.Graph;
            g.AddInput(Float("x", 2, 3, 8, 8));
            g.AddInitializer(Weights("w", 1, 4, 3, 3, 3));
            g.AddInitializer(Weights("b", 2, 4));
            g.AddInitializer(Weights("bn.s", 3, 4));
            g.AddInitializer(Weights("bn.b", 4, 4));
            g.AddInitializer(Weights("bn.m", 5, 4));
            g.AddInitializer(OnnxTensor.FromFloats("bn.v", [4], [0.5f, 1f, 1.5f, 2f]));
            g.AddInitializer(OnnxTensor.FromInt64s("pads", [8], [0, 0, 1, 2, 0, 0, 2, 1]));
            g.AddInitializer(OnnxTensor.FromFloats("scales", [4], [1, 1, 2, 2]));
            g.AddInitializer(OnnxTensor.FromFloats("roi", [0], []));
            g.AddInitializer(OnnxTensor.FromFloats("lo", [], [-1f]));
            g.AddInitializer(OnnxTensor.FromFloats("hi", [], [1.5f]));
            g.AddInitializer(Weights("fc.w", 6, 5, 4));
            g.AddInitializer(Weights("fc.b", 7, 5));
            g.AddNode(Node("Conv", ["x", "w", "b"], ["c"], "conv", ("pads", new long[] { 1, 1, 1, 1 })));
            g.AddNode(Node("BatchNormalization", ["c", "bn.s", "bn.b", "bn.m", "bn.v"], ["n"], "bn"));
            g.AddNode(Node("Relu", ["n"], ["r"], "relu"));
            g.AddNode(Node("Pad", ["r", "pads"], ["p"], "pad", ("mode", "reflect")));
            g.AddNode(Node("MaxPool", ["p"], ["mp"], "pool", ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 })));
            g.AddNode(Node("Resize", ["mp", "roi", "scales"], ["up"], "resize", ("mode", "linear"), ("coordinate_transformation_mode", "half_pixel")));
            g.AddNode(Node("Resize", ["mp", "roi", "scales"], ["near"], "nearest"));
            g.AddNode(Node("AveragePool", ["up"], ["ap"], "avg", ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }), ("count_include_pad", 1L)));
            g.AddNode(Node("Clip", ["ap", "lo", "hi"], ["cl"], "clip"));
            g.AddNode(Node("GlobalAveragePool", ["cl"], ["gap"], "gap"));
            g.AddNode(Node("Flatten", ["gap"], ["f"], "flatten"));
            g.AddNode(Node("Gemm", ["f", "fc.w", "fc.b"], ["logits"], "fc", ("transB", 1L)));
            g.AddNode(Node("Softmax", ["logits"], ["prob"], "softmax"));
            g.AddNode(Node("LeakyRelu", ["near"], ["lr"], "lrelu", ("alpha", 0.2f)));
            g.AddOutput(Output("prob"));
            g.AddOutput(Output("lr"));
            return (m, new() { ["x"] = Values(3, 2, 3, 8, 8) });
        }

        private static (OnnxModel, Dictionary<string, RuntimeTensor>) Mlp()
        {
            var m = OnnxModel.Create("mlp", 10, irVersion: 5);
            var g = m.Graph;
            g.AddInput(Float("x", 3, 1, 6));
            g.AddInitializer(Weights("w1", 8, 6, 7));
            g.AddInitializer(Weights("b1", 9, 7));
            g.AddInitializer(Weights("w2", 10, 7, 4));
            g.AddNode(Node("Squeeze", ["x"], ["s"], "squeeze", ("axes", new long[] { 1 })));
            g.AddNode(Node("MatMul", ["s", "w1"], ["h"], "fc1"));
            g.AddNode(Node("Add", ["h", "b1"], ["hb"], "bias1"));
            g.AddNode(Node("Sigmoid", ["hb"], ["sg"], "sigmoid"));
            g.AddNode(Node("Mul", ["hb", "sg"], ["swish"], "swish"));
            g.AddNode(Node("Dropout", ["swish"], ["d"], "dropout", ("ratio", 0.25f)));
            g.AddNode(Node("MatMul", ["d", "w2"], ["o"], "fc2"));
            g.AddNode(Node("Tanh", ["o"], ["t"], "tanh"));
            g.AddNode(Node("Unsqueeze", ["t"], ["u"], "unsqueeze", ("axes", new long[] { 0, 2 })));
            g.AddNode(Node("ArgMax", ["o"], ["arg"], "argmax", ("axis", 1L)));
            g.AddOutput(Output("u"));
            g.AddOutput(Output("arg", OnnxDataType.Int64));
            return (m, new() { ["x"] = Values(11, 3, 1, 6) });
        }

        private static (OnnxModel, Dictionary<string, RuntimeTensor>) Text()
        {
            var m = OnnxModel.Create("text", 13, irVersion: 7);
            var g = m.Graph;
            g.AddInput(new OnnxValueInfo("ids", OnnxDataType.Int64, [new OnnxDim(2, null), new OnnxDim(5, null)]));
            g.AddInitializer(Weights("emb", 12, 11, 8));
            g.AddInitializer(OnnxTensor.FromFloats("eps", [], [1e-5f]));
            g.AddInitializer(OnnxTensor.FromFloats("two", [], [2f]));
            g.AddInitializer(Weights("ln.g", 13, 8));
            g.AddInitializer(Weights("ln.b", 14, 8));
            g.AddInitializer(OnnxTensor.FromInt64s("shape", [4], [2, 5, 2, 4]));
            g.AddInitializer(OnnxTensor.FromInt64s("ax1", [1], [1]));
            g.AddInitializer(Weights("cls", 15, 8, 3));
            g.AddNode(Node("Gather", ["emb", "ids"], ["e"], "embed"));
            g.AddNode(Node("ReduceMean", ["e"], ["mu"], "mu", ("axes", new long[] { -1 })));
            g.AddNode(Node("Sub", ["e", "mu"], ["xc"], "center"));
            g.AddNode(Node("Pow", ["xc", "two"], ["sq"], "square"));
            g.AddNode(Node("ReduceMean", ["sq"], ["var"], "var", ("axes", new long[] { -1 })));
            g.AddNode(Node("Add", ["var", "eps"], ["ve"], "addeps"));
            g.AddNode(Node("Sqrt", ["ve"], ["sd"], "sqrt"));
            g.AddNode(Node("Div", ["xc", "sd"], ["z"], "norm"));
            g.AddNode(Node("Mul", ["z", "ln.g"], ["zg"], "gamma"));
            g.AddNode(Node("Add", ["zg", "ln.b"], ["ln"], "beta"));
            g.AddNode(Node("Reshape", ["ln", "shape"], ["heads"], "reshape"));
            g.AddNode(Node("Transpose", ["heads"], ["ht"], "transpose", ("perm", new long[] { 0, 2, 1, 3 })));
            g.AddNode(Node("Split", ["ht"], ["h0", "h1"], "split", ("axis", 1L)));
            g.AddNode(Node("Sub", ["h0", "h1"], ["hd"], "diff"));
            g.AddNode(Node("Squeeze", ["hd", "ax1"], ["sq2"], "squeeze"));
            g.AddNode(Node("ReduceSum", ["ln", "ax1"], ["pooled"], "pool", ("keepdims", 0L)));
            g.AddNode(Node("MatMul", ["pooled", "cls"], ["logits"], "classifier"));
            g.AddNode(Node("Softmax", ["logits"], ["prob"], "softmax", ("axis", -1L)));
            g.AddNode(Node("Shape", ["sq2"], ["shp"], "shape"));
            g.AddOutput(Output("prob"));
            g.AddOutput(Output("sq2"));
            g.AddOutput(Output("shp", OnnxDataType.Int64));
            var ids = new long[] { 0, 3, 5, 10, 2, 7, 7, 1, 9, 4 };
            return (m, new() { ["ids"] = RuntimeTensor.FromInt64s(ids, 2, 5) });
        }

        private static (OnnxModel, Dictionary<string, RuntimeTensor>) Transformer()
        {
            var m = OnnxModel.Create("block", 17, irVersion: 8);
            var g = m.Graph;
            g.AddInput(Float("x", 2, 4, 8));
            g.AddInitializer(Weights("ln.g", 16, 8));
            g.AddInitializer(Weights("ln.b", 17, 8));
            g.AddInitializer(Weights("wq", 18, 8, 8));
            g.AddInitializer(Weights("wk", 19, 8, 8));
            g.AddInitializer(OnnxTensor.FromFloats("sqrt2", [], [MathF.Sqrt(2f)]));
            g.AddInitializer(OnnxTensor.FromFloats("half", [], [0.5f]));
            g.AddInitializer(OnnxTensor.FromFloats("one", [], [1f]));
            g.AddNode(Node("LayerNormalization", ["x", "ln.g", "ln.b"], ["n"], "ln", ("axis", -1L)));
            g.AddNode(Node("MatMul", ["n", "wq"], ["q"], "q"));
            g.AddNode(Node("MatMul", ["n", "wk"], ["k"], "k"));
            g.AddNode(Node("Transpose", ["k"], ["kt"], "kt", ("perm", new long[] { 0, 2, 1 })));
            g.AddNode(Node("MatMul", ["q", "kt"], ["s"], "scores"));
            g.AddNode(Node("Softmax", ["s"], ["a"], "attn", ("axis", -1L)));
            g.AddNode(Node("MatMul", ["a", "n"], ["ctx"], "ctx"));
            g.AddNode(Node("Div", ["ctx", "sqrt2"], ["cd"], "gelu.div"));
            g.AddNode(Node("Erf", ["cd"], ["erf"], "gelu.erf"));
            g.AddNode(Node("Add", ["erf", "one"], ["e1"], "gelu.add"));
            g.AddNode(Node("Mul", ["ctx", "e1"], ["m"], "gelu.mul"));
            g.AddNode(Node("Mul", ["m", "half"], ["gelu"], "gelu.half"));
            g.AddNode(Node("ReduceMean", ["gelu"], ["pooled"], "pool", ("axes", new long[] { 1 }), ("keepdims", 0L)));
            g.AddOutput(Output("pooled"));
            return (m, new() { ["x"] = Values(20, 2, 4, 8) });
        }
    }

    // ---------------------------------------------------------------- helpers

    private static Dictionary<string, RuntimeTensor> Run(OnnxModel model, Dictionary<string, RuntimeTensor> inputs)
    {
        using var session = new OnnxRuntimeSession(model);
        return session.Run(inputs).ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    private static OnnxNode Node(string op, string[] inputs, string[] outputs, string? name, params (string Name, object Value)[] attributes) =>
        TestGraphs.Node(op, inputs, outputs, name, attributes);

    private static OnnxValueInfo Float(string name, params long[] shape) => TestGraphs.Float(name, shape);

    private static OnnxValueInfo Output(string name, OnnxDataType type = OnnxDataType.Float) => new(name, type, null);

    private static float[] RandomValues(int seed, long count)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, (int)count).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
    }

    private static RuntimeTensor Values(int seed, params long[] shape) =>
        RuntimeTensor.FromFloats(RandomValues(seed, shape.Aggregate(1L, (a, b) => a * b)), shape);

    private static OnnxTensor Weights(string name, int seed, params long[] dims) =>
        OnnxTensor.FromFloats(name, dims, RandomValues(seed, dims.Aggregate(1L, (a, b) => a * b)));
}
