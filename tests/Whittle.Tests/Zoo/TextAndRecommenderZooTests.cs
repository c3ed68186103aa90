using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Zoo;
using static TorchSharp.torch;

namespace Whittle.Tests.Zoo;

/// <summary>The text and recommender architectures: sizes by hand, and the Engine against ONNX Runtime on the same graph.</summary>
[Collection(Whittle.Tests.Training.TorchCollection.Name)]
public sealed class TextAndRecommenderZooTests
{
    private const int Vocabulary = 50, Sequence = 20, Classes = 3, Users = 10, Items = 7;

    private static TextModelOptions Text => new(Vocabulary, Sequence, Classes, seed: 3);

    private static RecommenderOptions Recommender => new(Users, Items, seed: 3);

    /// <summary>
    /// Trainable parameters counted by hand:
    /// <code>
    /// textcnn     embedding 50*8 (400) + conv k=3,4,5: 4*8*(3+4+5) + 3*4 (396) + fc 12*3+3 (39)            = 835
    /// fasttext    embedding 50*8 (400) + fc 8*3+3 (27)                                                    = 427
    /// transformer token 50*8 (400) + position 20*8 (160) + ln1 16 + q,k,v 3*(8*8+8) (216) + out 72
    ///             + ln2 16 + ff1 8*16+16 (144) + ff2 16*8+8 (136) + ln_final 16 + fc 27                   = 1,203
    /// mf          users 10*4 (40) + items 7*4 (28) + user bias 10 + item bias 7 + global bias 1          = 86
    /// ncf         gmf 10*4+7*4 (68) + mlp embeddings 10*4+7*4 (68) + mlp.0 8*6+6 (54) + mlp.1 6*4+4 (28)
    ///             + predict (4+4)*1+1 (9)                                                                 = 227
    /// </code>
    /// </summary>
    public static TheoryData<string, long> Counts => new()
    {
        { "textcnn", 835 }, { "fasttext", 427 }, { "transformer", 1203 }, { "mf", 86 }, { "ncf", 227 },
    };

    private static OnnxModel Small(string name) => name switch
    {
        "textcnn" => TextCnn.Create(new TextCnnOptions(Text, embeddingDim: 8, filters: 4)),
        "fasttext" => FastText.Create(new FastTextOptions(Text, embeddingDim: 8)),
        "transformer" => TransformerClassifier.Create(new TransformerClassifierOptions(Text, modelDim: 8, heads: 2, layers: 1, feedForwardDim: 16)),
        "mf" => MatrixFactorization.Create(new MatrixFactorizationOptions(Recommender, factors: 4)),
        "ncf" => NeuralCollaborativeFiltering.Create(new NeuralCollaborativeFilteringOptions(Recommender, factors: 4, mlpLayers: [8, 6, 4])),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Counts))]
    public void ParameterCountsMatchTheHandCount(string name, long expected)
    {
        var model = Small(name);
        Assert.Equal(expected, model.Graph.Initializers.Where(t => t.DataType == OnnxDataType.Float).Sum(t => t.ElementCount));
        Assert.True(model.Validate().IsValid);
    }

    /// <summary>
    /// Differential: the Engine (TorchSharp, eval mode) and ONNX Runtime compute the same logits on
    /// the same graph, for ids that include padding (and a row of padding only).
    /// </summary>
    [Theory]
    [MemberData(nameof(Counts))]
    public void EngineAgreesWithOnnxRuntime(string name, long _)
    {
        var model = Small(name);
        var random = new Random(11);
        using var session = new OnnxRuntimeSession(model);
        using var module = new OnnxModule(model);
        module.eval();
        Dictionary<string, RuntimeTensor> feeds;
        Tensor[] engineInputs;
        const int batch = 6;
        if (session.Inputs.Count == 1)
        {
            var ids = new long[batch * Sequence];
            for (int row = 0; row < batch; row++)
            {
                int length = row == batch - 1 ? 0 : random.Next(1, Sequence + 1);
                for (int t = 0; t < length; t++) ids[row * Sequence + t] = random.Next(1, Vocabulary);
            }
            feeds = new() { [session.Inputs[0].Name] = RuntimeTensor.FromInt64s(ids, batch, Sequence) };
            engineInputs = [tensor(ids, [batch, Sequence])];
        }
        else
        {
            var users = Enumerable.Range(0, batch).Select(_ => (long)random.Next(Users)).ToArray();
            var items = Enumerable.Range(0, batch).Select(_ => (long)random.Next(Items)).ToArray();
            feeds = new() { ["user"] = RuntimeTensor.FromInt64s(users, batch), ["item"] = RuntimeTensor.FromInt64s(items, batch) };
            engineInputs = [tensor(users), tensor(items)];
        }
        var expected = session.Run(feeds)[ZooDefaults.OutputName];
        float[] actual;
        using (no_grad()) actual = TorchTensors.ToFloats(module.Run(engineInputs)[0]);
        Assert.Equal(new long[] { batch, name is "mf" or "ncf" ? 1 : Classes }, expected.Shape);
        var want = expected.AsFloats();
        Assert.All(want, v => Assert.True(float.IsFinite(v)));
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - actual[i]) <= 1e-4f, $"{name} logit {i}: ORT {want[i]}, Engine {actual[i]}");
        foreach (var t in engineInputs) t.Dispose();
    }

    [Fact]
    public void FeatureInputModuleSplitsPairsIntoUserAndItemAndCastsTokenIds()
    {
        var model = Small("ncf");
        using var module = new FeatureInputModule(new OnnxModule(model));
        module.eval();
        using var session = new OnnxRuntimeSession(model);
        float[] pairs = [0, 1, 9, 6, 4, 3];
        var expected = session.Run(new Dictionary<string, RuntimeTensor>
        {
            ["user"] = RuntimeTensor.FromInt64s([0, 9, 4], 3),
            ["item"] = RuntimeTensor.FromInt64s([1, 6, 3], 3),
        })["logits"].AsFloats();
        float[] actual;
        using (no_grad()) actual = TorchTensors.ToFloats(module.call(tensor(pairs, [3, 2])));
        Assert.Equal(expected, actual, (a, b) => Math.Abs(a - b) <= 1e-5f);
        Assert.Equal(module.Model.ParametersByInitializer.Count, module.parameters().Count());

        var text = Small("fasttext");
        using var textModule = new FeatureInputModule(new OnnxModule(text));
        textModule.eval();
        using var textSession = new OnnxRuntimeSession(text);
        var ids = Enumerable.Range(0, 2 * Sequence).Select(i => (long)(i % 7)).ToArray();
        var textExpected = textSession.Run(RuntimeTensor.FromInt64s(ids, 2, Sequence)).AsFloats();
        using (no_grad()) actual = TorchTensors.ToFloats(textModule.call(tensor(ids.Select(i => (float)i).ToArray(), [2, Sequence])));
        Assert.Equal(textExpected, actual, (a, b) => Math.Abs(a - b) <= 1e-5f);
    }

    [Fact]
    public void TheRegistryTakesSizesFromTheSettingsAndRefusesSettingsOfAnotherKind()
    {
        var textcnn = ModelZoo.Create("textcnn", new ZooModelSettings(classes: 4, inputShape: [30], vocabularySize: 123));
        Assert.Equal([123L, 128L], textcnn.Graph.FindInitializer("embedding.weight")!.Dims);
        Assert.Equal("int64[batch,30]", textcnn.Graph.Inputs[0].TypeDescription);
        var ncf = ModelZoo.Create("ncf", new ZooModelSettings(users: 40, items: 25));
        Assert.Equal(40, ncf.Graph.FindInitializer("gmf_user_embedding.weight")!.Dims[0]);
        Assert.Equal(25, ncf.Graph.FindInitializer("mlp_item_embedding.weight")!.Dims[0]);
        Assert.Equal(ZooInputKind.UserItemIds, ModelZoo.Get("mf").InputKind);
        Assert.Throws<InvalidOptionException>(() => ModelZoo.Create("mlp", new ZooModelSettings(vocabularySize: 100)));
        Assert.Throws<InvalidOptionException>(() => ModelZoo.Create("textcnn", new ZooModelSettings(users: 10)));
        Assert.Throws<InvalidOptionException>(() => ModelZoo.Create("mf", new ZooModelSettings(classes: 3)));
        Assert.Equal(3, ModelZoo.Create("transformer", new ZooModelSettings(depth: 3)).Graph.Nodes.Count(n => n.OpType == "Softmax"));
    }
}
