using Whittle.Data;
using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;

namespace Whittle.Tests.Quantization;

/// <summary>A sentence-embedding model is verified at a real sequence length and judged by its pooled embeddings.</summary>
public sealed class EmbeddingQuantizationTests
{
    private sealed class FlatTimer : ILatencyTimer
    {
        public List<long[]> Shapes { get; } = [];

        public IReadOnlyList<double[]> Time(IReadOnlyList<TimedModel> models, IReadOnlyDictionary<string, RuntimeTensor> inputs, RuntimeOptions runtime)
        {
            Shapes.Add(inputs["input_ids"].Shape);
            return models.Select(m => Enumerable.Repeat(m.Name == "float" ? 10.0 : 8.0, 5).ToArray()).ToList();
        }
    }

    [Fact]
    public void GeneratedInputsUseTheSequenceLengthAndReportEmbeddingCosineWithoutNeighbours()
    {
        var timer = new FlatTimer();
        var options = new ModelQuantizationOptions(QuantizationMode.Dynamic, verifySamples: 16, latencyBatch: 4, latencyTimer: timer, sequenceLength: 12);
        var r = ModelQuantizer.Quantize(TinyEncoder.Create(), null, options);
        Assert.Equal([4L, 12L], timer.Shapes.Single());
        Assert.Equal([8L, 12L, TinyEncoder.Width], r.Outputs.Single(o => o.Output == "last_hidden_state").Shape);
        Assert.All(r.Outputs, o => Assert.Null(o.Top1Agreement));
        var e = r.Embedding!;
        Assert.Equal(16, e.Texts);
        Assert.InRange(e.MeanCosine, 0.99, 1.0);
        Assert.True(e.MinCosine <= e.MeanCosine);
        Assert.Null(e.NeighbourOverlap);
        Assert.Contains("sequence 12", r.Inputs);
    }

    [Fact]
    public void TextsAreTokenizedWithTheModelsVocabularyAndNeighboursCompared()
    {
        var path = TinyEncoder.SaveWithFortunesVocabulary(TestPaths.TempDir());
        var model = OnnxModel.Load(path);
        var data = ModelData.Bind(model, "fortunes:" + Path.Combine(TestPaths.Data, "fortunes-mini"), new DataOptions(subwordLength: 24));
        Assert.Equal(ModelTask.Embedding, data.Task);
        var feeds = data.Feeds(data.Test!, 0, 2);
        Assert.Equal([2L, 24L], feeds["input_ids"].Shape);
        var ids = (long[])feeds["input_ids"].Data;
        var mask = (long[])feeds["attention_mask"].Data;
        Assert.Equal(2, ids[0]); // [CLS]
        for (int i = 0; i < ids.Length; i++) Assert.Equal(ids[i] == 0 ? 0 : 1, mask[i]);
        Assert.All((long[])feeds["token_type_ids"].Data, v => Assert.Equal(0, v));

        var options = new ModelQuantizationOptions(QuantizationMode.Dynamic, verifySamples: 24, latencyBatch: 4, latencyTimer: new FlatTimer());
        var r = ModelQuantizer.Quantize(model, data, options);
        var e = r.Embedding!;
        Assert.Equal(24, e.Texts);
        Assert.InRange(e.MeanCosine, 0.99, 1.0);
        Assert.NotNull(e.NeighbourOverlap);
        Assert.InRange(e.NeighbourOverlap!.Value, 0.5, 1.0);
        Assert.Null(r.Before); // labels are categories, not what an embedding model predicts
    }

    [Fact]
    public void ATextModelWithSeveralInputsAndNoVocabularyIsAClearError()
    {
        var dir = TestPaths.TempDir();
        var path = Path.Combine(dir, "encoder.onnx");
        TinyEncoder.Create().Save(path);
        var e = Assert.Throws<DataFormatException>(() => ModelData.Bind(OnnxModel.Load(path), "fortunes:" + Path.Combine(TestPaths.Data, "fortunes-mini")));
        Assert.Contains("vocab.txt", e.Message);
        // A vocabulary of another size than the embedding table.
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), TinyEncoder.Vocabulary(["the", "cat"]));
        var size = Assert.Throws<DataFormatException>(() => ModelData.Bind(OnnxModel.Load(path), "fortunes:" + Path.Combine(TestPaths.Data, "fortunes-mini")));
        Assert.Contains("7 tokens but the model's embedding table indexed by 'input_ids' has 12 rows", size.Message);
    }
}
