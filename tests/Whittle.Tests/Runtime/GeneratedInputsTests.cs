using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Tests.Runtime;

/// <summary>Generated inputs: symbolic sequences get a length, transformer integer inputs get the values they mean.</summary>
public sealed class GeneratedInputsTests
{
    [Fact]
    public void SymbolicSequenceGetsTheLengthAndTokenInputsTheirValues()
    {
        var model = TinyEncoder.Create(vocabulary: 12);
        using var session = new OnnxRuntimeSession(model);
        var inputs = GeneratedInputs.Create(model, session, batchSize: 3, seed: 0, sequenceLength: 5);
        Assert.Equal([3L, 5L], inputs["input_ids"].Shape);
        var ids = (long[])inputs["input_ids"].Data;
        Assert.All(ids, id => Assert.InRange(id, 0, 11));
        Assert.True(ids.Distinct().Count() > 1, "ids cover the table, not only row 0");
        Assert.All((long[])inputs["attention_mask"].Data, v => Assert.Equal(1, v));
        Assert.All((long[])inputs["token_type_ids"].Data, v => Assert.Equal(0, v));
        Assert.Equal([3L, 5L, TinyEncoder.Width], session.Run(inputs)["last_hidden_state"].Shape);
        Assert.True(GeneratedInputs.HasSymbolicSequence(session));
    }

    [Fact]
    public void TheDefaultLengthIs128AndBelowOneIsRefused()
    {
        var model = TinyEncoder.Create();
        using var session = new OnnxRuntimeSession(model);
        Assert.Equal(128, GeneratedInputs.DefaultSequenceLength);
        Assert.Equal([2L, 128L], GeneratedInputs.Create(model, session, 2)["input_ids"].Shape);
        Assert.Equal([2L, 128L], session.SampleInputs(2)["attention_mask"].Shape);
        var e = Assert.Throws<InvalidOptionException>(() => GeneratedInputs.Create(model, session, 2, sequenceLength: 0));
        Assert.Equal("SequenceLength", e.Option);
    }

    [Fact]
    public void FixedShapesAreKept()
    {
        using var session = new OnnxRuntimeSession(OnnxModel.Load(TestPaths.FixtureModel("pytorch_transformer_opset17.onnx")));
        Assert.False(GeneratedInputs.HasSymbolicSequence(session));
        Assert.Equal([4L, 16L], session.SampleInputs(4, sequenceLength: 7)["input_ids"].Shape);
    }

    [Fact]
    public void SentenceEmbeddingModelsAreRecognizedAndClassifiersAreNot()
    {
        using (var session = new OnnxRuntimeSession(TinyEncoder.Create()))
        {
            var e = SentenceEmbedding.Detect(session);
            Assert.NotNull(e);
            Assert.Equal(("input_ids", "last_hidden_state", "attention_mask"), (e!.IdsInput, e.HiddenOutput, e.MaskInput));
            Assert.Equal("mean of last_hidden_state over attention_mask", e.Pooling);
        }
        using (var session = new OnnxRuntimeSession(OnnxModel.Load(TestPaths.FixtureModel("pytorch_transformer_opset17.onnx"))))
            Assert.Null(SentenceEmbedding.Detect(session));
        using (var session = new OnnxRuntimeSession(OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx"))))
            Assert.Null(SentenceEmbedding.Detect(session));
    }
}
