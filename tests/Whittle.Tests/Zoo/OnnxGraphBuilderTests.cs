using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Zoo;

namespace Whittle.Tests.Zoo;

public class OnnxGraphBuilderTests
{
    private static float[] Sequence(int count, float scale = 0.1f) => Enumerable.Range(0, count).Select(i => (i % 17 - 8) * scale).ToArray();

    private static RuntimeTensor RunSingle(OnnxModel model, RuntimeTensor input)
    {
        using var session = new OnnxRuntimeSession(model);
        return session.Run(input);
    }

    [Fact]
    public void TheReadmeExampleBuildsAValidModelWithPyTorchNames()
    {
        var b = new OnnxGraphBuilder("example", seed: 3);
        var x = b.Input("input", [-1, 1, 28, 28]);
        x = b.Conv(x, outChannels: 16, kernel: 3, padding: 1, name: "conv1");
        Assert.Equal(new long[] { -1, 16, 28, 28 }, x.Shape);
        x = b.BatchNorm(x);
        x = b.Relu(x);
        x = b.MaxPool(x, 2);
        Assert.Equal(new long[] { -1, 16, 14, 14 }, x.Shape);
        x = b.Flatten(x);
        Assert.Equal(new long[] { -1, 16 * 14 * 14 }, x.Shape);
        x = b.Linear(x, 10, name: "fc");
        var logits = b.Output(x, "logits");
        Assert.Equal("logits", logits.Name);
        var model = b.Build();

        Assert.True(model.Validate().IsValid);
        Assert.Equal(17, model.GetOpset());
        Assert.Equal(8, model.IrVersion);
        Assert.Equal(["conv1", "bn", "relu", "maxpool", "flatten", "fc"], model.Graph.Nodes.Select(n => n.Name));
        Assert.Equal(["conv1.weight", "conv1.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "fc.weight", "fc.bias"],
            model.Graph.Initializers.Select(t => t.Name));
        Assert.Equal([16L, 1, 3, 3], model.Graph.FindInitializer("conv1.weight")!.Dims);
        Assert.Equal([10L, 3136], model.Graph.FindInitializer("fc.weight")!.Dims);
        Assert.Equal("float32[batch,1,28,28]", model.Graph.Inputs[0].TypeDescription);
        Assert.Equal("float32[batch,10]", model.Graph.Outputs[0].TypeDescription);
        // The Gemm writes the output name directly: no Identity node.
        Assert.Equal("logits", model.Graph.FindNode("fc")!.Outputs[0]);

        var output = RunSingle(model, RuntimeTensor.FromFloats(Sequence(3 * 784), 3, 1, 28, 28));
        Assert.Equal(new long[] { 3, 10 }, output.Shape);
    }

    [Fact]
    public void BatchNormStartsAsPyTorchDoesWithOnnxMomentum()
    {
        var b = new OnnxGraphBuilder();
        var x = b.Input("x", [-1, 4, 5]);
        var y = b.BatchNorm(x, name: "norm");
        b.Output(y);
        var model = b.Build();
        Assert.Equal([1f, 1, 1, 1], model.Graph.FindInitializer("norm.weight")!.ToFloatArray());
        Assert.Equal([0f, 0, 0, 0], model.Graph.FindInitializer("norm.bias")!.ToFloatArray());
        Assert.Equal([0f, 0, 0, 0], model.Graph.FindInitializer("norm.running_mean")!.ToFloatArray());
        Assert.Equal([1f, 1, 1, 1], model.Graph.FindInitializer("norm.running_var")!.ToFloatArray());
        var node = model.Graph.FindNode("norm")!;
        Assert.Equal(1e-5f, node.GetFloat("epsilon"));
        Assert.Equal(0.9f, node.GetFloat("momentum"));
        // With fresh statistics BN is x / sqrt(1 + eps).
        var input = Sequence(2 * 4 * 5);
        var output = RunSingle(model, RuntimeTensor.FromFloats(input, 2, 4, 5)).AsFloats();
        for (int i = 0; i < input.Length; i++) Assert.Equal(input[i] / MathF.Sqrt(1 + 1e-5f), output[i], 6);

        // BatchNorm1d on [N, features] (after a Linear) is the same operator.
        var features = new OnnxGraphBuilder();
        features.Output(features.BatchNorm(features.Linear(features.Input("x", [-1, 3]), 4)));
        Assert.Equal(new long[] { 2, 4 }, RunSingle(features.Build(), RuntimeTensor.FromFloats(Sequence(6), 2, 3)).Shape);
    }

    [Fact]
    public void ConvolutionsTrackShapesForStrideDilationGroupsAndOneDimension()
    {
        var b = new OnnxGraphBuilder();
        var image = b.Input("image", [-1, 8, 15, 15]);
        var strided = b.Conv(image, 12, kernel: 3, stride: 2, padding: 1, name: "strided");
        var dilated = b.Conv(image, 4, kernel: 3, dilation: 2, name: "dilated");
        var depthwise = b.Conv(image, 8, kernel: 3, padding: 1, groups: 8, bias: false, name: "depthwise");
        var grouped = b.Conv(image, 6, kernel: 1, groups: 2, name: "grouped");
        var sequence = b.Input("sequence", [-1, 5, 20]);
        var conv1d = b.Conv(sequence, 7, kernel: 4, stride: 2, padding: 1, name: "conv1d");
        var pooled1d = b.AveragePool(conv1d, 3, stride: 1, padding: 1, name: "avg1d");
        Assert.Equal(new long[] { -1, 12, 8, 8 }, strided.Shape);
        Assert.Equal(new long[] { -1, 4, 11, 11 }, dilated.Shape);
        Assert.Equal(new long[] { -1, 8, 15, 15 }, depthwise.Shape);
        Assert.Equal(new long[] { -1, 6, 15, 15 }, grouped.Shape);
        Assert.Equal(new long[] { -1, 7, 10 }, conv1d.Shape);
        Assert.Equal(new long[] { -1, 7, 10 }, pooled1d.Shape);
        foreach (var v in new[] { strided, dilated, depthwise, grouped, pooled1d }) b.Output(v);
        var model = b.Build();

        Assert.Equal([8L, 1, 3, 3], model.Graph.FindInitializer("depthwise.weight")!.Dims);
        Assert.Null(model.Graph.FindInitializer("depthwise.bias"));
        Assert.Equal(8, model.Graph.FindNode("depthwise")!.GetInt("group"));
        Assert.Equal([6L, 4, 1, 1], model.Graph.FindInitializer("grouped.weight")!.Dims);
        Assert.Equal([7L, 5, 4], model.Graph.FindInitializer("conv1d.weight")!.Dims);
        Assert.Equal([2L, 2], model.Graph.FindNode("dilated")!.GetInts("dilations")!);
        Assert.Equal(1, model.Graph.FindNode("avg1d")!.GetInt("count_include_pad"));

        // ONNX Runtime computes the same shapes the builder tracked.
        using var session = new OnnxRuntimeSession(model);
        var results = session.Run(new Dictionary<string, RuntimeTensor>
        {
            ["image"] = RuntimeTensor.FromFloats(Sequence(2 * 8 * 15 * 15), 2, 8, 15, 15),
            ["sequence"] = RuntimeTensor.FromFloats(Sequence(2 * 5 * 20), 2, 5, 20),
        });
        Assert.Equal(new long[] { 2, 12, 8, 8 }, results["strided"].Shape);
        Assert.Equal(new long[] { 2, 4, 11, 11 }, results["dilated"].Shape);
        Assert.Equal(new long[] { 2, 8, 15, 15 }, results["depthwise"].Shape);
        Assert.Equal(new long[] { 2, 6, 15, 15 }, results["grouped"].Shape);
        Assert.Equal(new long[] { 2, 7, 10 }, results["avg1d"].Shape);
    }

    [Fact]
    public void LinearIsGemmForMatricesAndMatMulPlusAddForSequencesWithTheSameWeights()
    {
        var b = new OnnxGraphBuilder(seed: 11);
        var features = b.Input("features", [-1, 6]);
        var tokens = b.Input("tokens", [-1, -1, 6]);
        using (b.Scope("a")) b.Output(b.Linear(features, 4, name: "proj"), "from_matrix");
        using (b.Scope("b")) b.Output(b.Linear(tokens, 4, name: "proj"), "from_sequence");
        var model = b.Build();

        Assert.Equal(1, model.Graph.FindNode("a.proj")!.GetInt("transB"));
        Assert.Equal("Gemm", model.Graph.FindNode("a.proj")!.OpType);
        Assert.Equal("MatMul", model.Graph.FindNode("b.proj.matmul")!.OpType);
        Assert.Equal("Add", model.Graph.FindNode("b.proj")!.OpType);
        var gemmWeight = model.Graph.FindInitializer("a.proj.weight")!;
        var matmulWeight = model.Graph.FindInitializer("b.proj.weight")!;
        Assert.Equal([4L, 6], gemmWeight.Dims);
        Assert.Equal([6L, 4], matmulWeight.Dims);

        // x W^T + b, computed here, equals what ORT computes for both forms.
        using var session = new OnnxRuntimeSession(model);
        var x = Sequence(2 * 6);
        var outputs = session.Run(new Dictionary<string, RuntimeTensor>
        {
            ["features"] = RuntimeTensor.FromFloats(x, 2, 6),
            ["tokens"] = RuntimeTensor.FromFloats(x, 1, 2, 6),
        });
        foreach (var scope in new[] { "a", "b" })
        {
            var w = model.Graph.FindInitializer($"{scope}.proj.weight")!.ToFloatArray();
            var bias = model.Graph.FindInitializer($"{scope}.proj.bias")!.ToFloatArray();
            bool transposed = scope == "b";
            var actual = outputs[scope == "a" ? "from_matrix" : "from_sequence"].AsFloats();
            for (int n = 0; n < 2; n++)
                for (int o = 0; o < 4; o++)
                {
                    double expected = bias[o];
                    for (int i = 0; i < 6; i++) expected += x[n * 6 + i] * w[transposed ? i * 4 + o : o * 6 + i];
                    Assert.Equal(expected, actual[n * 4 + o], 5);
                }
        }
    }

    [Fact]
    public void LinearDrawsTheSameWeightsWhateverTheInputRank()
    {
        OnnxTensor Weight(long[] shape)
        {
            var b = new OnnxGraphBuilder(seed: 5);
            b.Output(b.Linear(b.Input("x", shape), 3, name: "fc"));
            return b.Build().Graph.FindInitializer("fc.weight")!;
        }
        var gemm = Weight([-1, 4]).ToFloatArray();
        var matmul = Weight([-1, 2, 4]).ToFloatArray();
        for (int o = 0; o < 3; o++)
            for (int i = 0; i < 4; i++)
                Assert.Equal(gemm[o * 4 + i], matmul[i * 3 + o]);
    }

    [Fact]
    public void ActivationsComputeWhatTheirNamesSay()
    {
        var b = new OnnxGraphBuilder();
        var x = b.Input("x", [-1, 4]);
        b.Output(b.Relu(x), "relu");
        b.Output(b.Relu6(x), "relu6");
        b.Output(b.Gelu(x), "gelu");
        b.Output(b.Sigmoid(x), "sigmoid");
        b.Output(b.Tanh(x), "tanh");
        b.Output(b.Dropout(x, 0.3f), "dropout");
        b.Output(b.Softmax(x), "softmax");
        b.Output(b.Scale(x, 0.25f), "scaled");
        var model = b.Build();
        Assert.False(model.Graph.OpHistogram().ContainsKey("Gelu"));
        // Scalars are Constant nodes, shared, and never initializers.
        Assert.Empty(model.Graph.Initializers);
        Assert.Equal(1, model.Graph.Nodes.Count(n => n.OpType == "Constant" && n.Outputs[0] == "const_6"));

        var input = new[] { -7f, -0.5f, 0.5f, 7f };
        using var session = new OnnxRuntimeSession(model);
        var r = session.Run(new Dictionary<string, RuntimeTensor> { ["x"] = RuntimeTensor.FromFloats(input, 1, 4) });
        Assert.Equal([0f, 0f, 0.5f, 7f], r["relu"].AsFloats());
        Assert.Equal([0f, 0f, 0.5f, 6f], r["relu6"].AsFloats());
        Assert.Equal(input, r["dropout"].AsFloats());
        Assert.Equal(input.Select(v => v * 0.25f), r["scaled"].AsFloats());
        var expectedGelu = new[] { -0.0f, -0.15426877f, 0.34573123f, 7f };
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(expectedGelu[i], r["gelu"].AsFloats()[i], 5);
            Assert.Equal(1 / (1 + Math.Exp(-input[i])), r["sigmoid"].AsFloats()[i], 5);
            Assert.Equal(Math.Tanh(input[i]), r["tanh"].AsFloats()[i], 5);
        }
        Assert.Equal(1f, r["softmax"].AsFloats().Sum(), 5);
    }

    [Fact]
    public void TransformerPiecesEmbeddingLayerNormAttentionAndMeanPoolingRun()
    {
        const int vocab = 50, dim = 16, heads = 4, seq = 6;
        var b = new OnnxGraphBuilder("tiny-transformer", seed: 9);
        var ids = b.Input("input_ids", [-1, seq], OnnxDataType.Int64);
        var h = b.Embedding(ids, vocab, dim, name: "embed");
        Assert.Equal(new long[] { -1, seq, dim }, h.Shape);
        GraphValue Heads(GraphValue v, string name) =>
            b.Transpose(b.Reshape(v, [0, 0, heads, dim / heads], name: $"{name}.split"), [0, 2, 1, 3], name: $"{name}.heads");
        GraphValue attended;
        using (b.Scope("attn"))
        {
            var q = Heads(b.Linear(h, dim, name: "q"), "q");
            var k = Heads(b.Linear(h, dim, name: "k"), "k");
            var v = Heads(b.Linear(h, dim, name: "v"), "v");
            Assert.Equal(new long[] { -1, heads, seq, dim / heads }, q.Shape);
            var scores = b.Scale(b.MatMul(q, b.Transpose(k, [0, 1, 3, 2], name: "k.t")), 1f / MathF.Sqrt(dim / heads));
            Assert.Equal(new long[] { -1, heads, seq, seq }, scores.Shape);
            var context = b.MatMul(b.Softmax(scores), v);
            context = b.Reshape(b.Transpose(context, [0, 2, 1, 3]), [0, 0, dim], name: "merge");
            Assert.Equal(new long[] { -1, seq, dim }, context.Shape);
            attended = b.Linear(context, dim, name: "out");
        }
        h = b.LayerNorm(b.Add(h, attended), name: "ln1");
        h = b.LayerNorm(b.Add(h, b.Linear(b.Gelu(b.Linear(h, 32, name: "ffn.0")), dim, name: "ffn.2")), name: "ln2");
        var pooled = b.ReduceMean(h, [1], name: "pool");
        Assert.Equal(new long[] { -1, dim }, pooled.Shape);
        b.Output(b.Linear(pooled, 3, name: "head"), "logits");
        var model = b.Build();

        Assert.True(model.Validate().IsValid);
        var ln = model.Graph.FindNode("ln1")!;
        Assert.Equal(-1, ln.GetInt("axis"));
        Assert.Equal(Enumerable.Repeat(1f, dim), model.Graph.FindInitializer("ln1.weight")!.ToFloatArray());
        Assert.Equal(Enumerable.Repeat(0f, dim), model.Graph.FindInitializer("ln1.bias")!.ToFloatArray());
        Assert.Equal([1L], model.Graph.FindNode("pool")!.GetInts("axes")!);
        Assert.Equal([(long)vocab, dim], model.Graph.FindInitializer("embed.weight")!.Dims);
        Assert.Equal(OnnxDataType.Int64, model.Graph.FindInitializer("attn.q.split.shape")!.DataType);

        using var session = new OnnxRuntimeSession(model);
        var input = RuntimeTensor.FromInt64s(Enumerable.Range(0, 2 * seq).Select(i => (long)(i * 7 % vocab)).ToArray(), 2, seq);
        var logits = session.Run(input);
        Assert.Equal(new long[] { 2, 3 }, logits.Shape);
        Assert.All(logits.AsFloats(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void EmbeddingsAreStandardNormal()
    {
        var b = new OnnxGraphBuilder(seed: 1);
        b.Output(b.Embedding(b.Input("ids", [-1], OnnxDataType.Int64), 200, 100, name: "table"));
        var values = b.Build().Graph.FindInitializer("table.weight")!.ToFloatArray();
        double mean = values.Average(v => (double)v);
        double std = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(mean, -0.03, 0.03);
        Assert.InRange(std, 0.97, 1.03);
        Assert.InRange(values.Count(v => Math.Abs(v) > 1.96) / (double)values.Length, 0.04, 0.06);
    }

    [Fact]
    public void RecommenderPiecesTwoEmbeddingsProductConcatAndSigmoidRun()
    {
        var b = new OnnxGraphBuilder("ncf", seed: 2);
        var users = b.Input("user", [-1], OnnxDataType.Int64);
        var items = b.Input("item", [-1], OnnxDataType.Int64);
        var gmf = b.Mul(b.Embedding(users, 30, 8, name: "gmf.user"), b.Embedding(items, 40, 8, name: "gmf.item"));
        var mlp = b.Concat([b.Embedding(users, 30, 8, name: "mlp.user"), b.Embedding(items, 40, 8, name: "mlp.item")], axis: 1);
        Assert.Equal(new long[] { -1, 16 }, mlp.Shape);
        mlp = b.Relu(b.Linear(mlp, 8, name: "mlp.fc1"));
        var joined = b.Concat([gmf, mlp], axis: -1, name: "joined");
        b.Output(b.Sigmoid(b.Linear(joined, 1, name: "predict")), "score");
        var model = b.Build();

        using var session = new OnnxRuntimeSession(model);
        var result = session.Run(new Dictionary<string, RuntimeTensor>
        {
            ["user"] = RuntimeTensor.FromInt64s([0, 5, 29], 3),
            ["item"] = RuntimeTensor.FromInt64s([39, 1, 7], 3),
        })["score"];
        Assert.Equal(new long[] { 3, 1 }, result.Shape);
        Assert.All(result.AsFloats(), p => Assert.InRange(p, 0f, 1f));
    }

    [Fact]
    public void TextConvolutionPiecesRun()
    {
        var b = new OnnxGraphBuilder("textcnn");
        var embedded = b.Embedding(b.Input("tokens", [-1, 12], OnnxDataType.Int64), 100, 10, name: "embed");
        var channelsFirst = b.Transpose(embedded, [0, 2, 1]);
        Assert.Equal(new long[] { -1, 10, 12 }, channelsFirst.Shape);
        var branches = new[] { 2, 3, 4 }.Select(k =>
            b.Flatten(b.GlobalAveragePool(b.Relu(b.Conv(channelsFirst, 5, kernel: k, name: $"conv{k}"))))).ToList();
        var features = b.Concat(branches, axis: 1);
        Assert.Equal(new long[] { -1, 15 }, features.Shape);
        b.Output(b.Linear(b.Dropout(features, 0.5f), 2, name: "fc"), "logits");
        using var session = new OnnxRuntimeSession(b.Build());
        Assert.Equal(new long[] { 4, 2 }, session.Run(session.SampleInput(session.Inputs[0], 4)).Shape);
    }

    [Fact]
    public void ScopesPrefixNamesAndUnnamedLayersAreNumbered()
    {
        var b = new OnnxGraphBuilder();
        var x = b.Input("x", [-1, 3, 8, 8]);
        using (b.Scope("layer1"))
        using (b.Scope("0"))
        {
            x = b.Relu(b.BatchNorm(b.Conv(x, 4, 3, padding: 1, bias: false, name: "conv1"), name: "bn1"));
            x = b.Relu(x);
        }
        x = b.Relu(x);
        b.Output(x);
        var model = b.Build();
        Assert.Equal(["layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu", "layer1.0.relu_1", "relu"], model.Graph.Nodes.Select(n => n.Name));
        Assert.NotNull(model.Graph.FindInitializer("layer1.0.bn1.running_mean"));
        Assert.Equal("relu", model.Graph.Outputs[0].Name);
    }

    [Fact]
    public void OutputOfAGraphInputOrATakenNameIsHandled()
    {
        var b = new OnnxGraphBuilder();
        var x = b.Input("x", [-1, 2]);
        var y = b.Relu(x, name: "act");
        var renamed = b.Output(y, "out");
        // The old handle still works after the rename, and both outputs stay.
        b.Output(b.Tanh(y, name: "second"));
        b.Output(x, "passthrough");
        var model = b.Build();
        Assert.Equal("out", renamed.Name);
        Assert.Equal(["out", "second", "passthrough"], model.Graph.Outputs.Select(o => o.Name));
        Assert.Equal("out", model.Graph.FindNode("second")!.Inputs[0]);
        Assert.Equal("Identity", model.Graph.FindNode("passthrough")!.OpType);
        Assert.True(model.Validate().IsValid);
    }

    [Fact]
    public void MistakesAreClearErrors()
    {
        var b = new OnnxGraphBuilder();
        var image = b.Input("image", [-1, 3, 8, 8]);
        var flat = b.Flatten(image);
        var unknownChannels = b.Input("unknown", [-1, -1, 8, 8]);
        b.Conv(image, 4, 3, name: "conv");

        Assert.Contains("already used", Assert.Throws<ArgumentException>(() => b.Conv(image, 4, 3, name: "conv")).Message);
        Assert.Contains("[N,C,L] or [N,C,H,W]", Assert.Throws<ArgumentException>(() => b.Conv(flat, 4, 3)).Message);
        Assert.Contains("dynamic", Assert.Throws<ArgumentException>(() => b.Conv(unknownChannels, 4, 3)).Message);
        Assert.Contains("groups", Assert.Throws<ArgumentException>(() => b.Conv(image, 4, 3, groups: 2)).Message);
        Assert.Contains("larger than the padded input", Assert.Throws<ArgumentException>(() => b.Conv(image, 4, 9)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Conv(image, 0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.MaxPool(image, 2, padding: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Dropout(image, 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.BatchNorm(image, momentum: 1.5f));
        Assert.Contains("Flatten first", Assert.Throws<ArgumentException>(() => b.Linear(b.Input("v", [5]), 2)).Message);
        Assert.Contains("int64", Assert.Throws<ArgumentException>(() => b.Embedding(image, 10, 4)).Message);
        Assert.Contains("broadcast", Assert.Throws<ArgumentException>(() => b.Add(image, b.Input("other", [-1, 4, 8, 8]))).Message);
        Assert.Contains("inner dimensions", Assert.Throws<ArgumentException>(() => b.MatMul(image, b.Input("matrix", [5, 4]))).Message);
        Assert.Throws<ArgumentException>(() => b.Reshape(image, [-1, -1]));
        Assert.Contains("192 elements", Assert.Throws<ArgumentException>(() => b.Reshape(b.Input("fixed", [1, 3, 8, 8]), [5, 5])).Message);
        Assert.Throws<ArgumentException>(() => b.Transpose(image, [0, 1, 1, 2]));
        Assert.Throws<ArgumentException>(() => b.Concat([image], 1));
        Assert.Contains("axis 1 differs", Assert.Throws<ArgumentException>(() => b.Concat([image, b.Input("five", [-1, 5, 9, 8])], 2)).Message);
        Assert.Throws<ArgumentException>(() => b.Input("bad", [-1, 0]));
        Assert.Throws<ArgumentException>(() => b.Input("image", [1]));

        var other = new OnnxGraphBuilder();
        Assert.Contains("another graph builder", Assert.Throws<ArgumentException>(() => other.Relu(image)).Message);
        Assert.Contains("no output", Assert.Throws<InvalidOperationException>(() => other.Build()).Message);

        var scope = b.Scope("outer");
        var inner = b.Scope("inner");
        Assert.Throws<InvalidOperationException>(() => scope.Dispose());
        inner.Dispose();
        Assert.Contains("still open", Assert.Throws<InvalidOperationException>(() => { b.Output(image, "out"); b.Build(); }).Message);
        scope.Dispose();
        b.Build();
        Assert.Throws<InvalidOperationException>(() => b.Relu(image));
        Assert.Throws<InvalidOperationException>(() => b.Build());
    }

    [Fact]
    public void EachParameterHasItsOwnStreamSoOtherLayersDoNotShiftIt()
    {
        float[] FcWeight(bool extraLayerFirst)
        {
            var b = new OnnxGraphBuilder(seed: 8);
            var x = b.Input("x", [-1, 4]);
            if (extraLayerFirst) x = b.Relu(b.Linear(x, 4, name: "extra"));
            b.Output(b.Linear(x, 3, name: "fc"));
            return b.Build().Graph.FindInitializer("fc.weight")!.ToFloatArray();
        }
        Assert.Equal(FcWeight(false), FcWeight(true));
    }
}
