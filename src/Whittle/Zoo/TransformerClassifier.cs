using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>
/// A small Transformer encoder classifier (Vaswani et al., 2017, pre-norm form): token plus
/// learned position embeddings, then per layer multi-head self-attention built from MatMul and
/// Softmax with the padding positions masked out, and a GELU feed-forward block, each behind a
/// LayerNorm with a residual connection; a final LayerNorm, the mean over the non-padding
/// positions and a linear classifier. Input: int64 token ids [batch, sequence length]; output:
/// logits [batch, classes].
/// </summary>
public static class TransformerClassifier
{
    /// <summary>The registry name.</summary>
    public const string Name = "transformer";

    /// <summary>Builds the model with the given options (defaults when null).</summary>
    public static OnnxModel Create(TransformerClassifierOptions? options = null)
    {
        options ??= new TransformerClassifierOptions();
        var text = options.Text;
        int d = options.ModelDim, heads = options.Heads, headDim = d / heads;
        var b = new OnnxGraphBuilder(Name, text.Seed);
        var ids = text.Input(b);
        var tokens = b.Embedding(ids, text.VocabularySize, d, name: "token_embedding");
        var positions = b.Int64Constant("positions", Enumerable.Range(0, text.SequenceLength).Select(p => (long)p).ToArray());
        var x = b.Add(tokens, b.Embedding(positions, text.SequenceLength, d, name: "position_embedding"), name: "embedding");
        if (options.Dropout > 0) x = b.Dropout(x, options.Dropout, name: "embedding_dropout");
        var mask = b.PaddingMask(ids, name: "mask");
        var bias = b.AttentionMaskBias(mask, name: "attention_bias");

        for (int layer = 0; layer < options.Layers; layer++)
        {
            using var scope = b.Scope($"layers.{layer}");
            var h = b.LayerNorm(x, name: "ln1");
            GraphValue Heads(GraphValue v, string name, int[] permutation) =>
                b.Transpose(b.Reshape(v, [0, 0, heads, headDim], name: $"{name}_split"), permutation, name: $"{name}_heads");
            var q = Heads(b.Linear(h, d, name: "q"), "q", [0, 2, 1, 3]);
            var k = Heads(b.Linear(h, d, name: "k"), "k", [0, 2, 3, 1]);
            var v = Heads(b.Linear(h, d, name: "v"), "v", [0, 2, 1, 3]);
            var scores = b.Add(b.Scale(b.MatMul(q, k, name: "scores"), 1f / MathF.Sqrt(headDim), name: "scaled"), bias, name: "masked");
            var attention = b.Softmax(scores, -1, name: "attention");
            var context = b.MatMul(attention, v, name: "context");
            var merged = b.Reshape(b.Transpose(context, [0, 2, 1, 3], name: "context_t"), [0, 0, d], name: "context_merged");
            x = b.Add(x, b.Linear(merged, d, name: "out"), name: "residual1");
            var f = b.Linear(b.Gelu(b.Linear(b.LayerNorm(x, name: "ln2"), options.FeedForwardDim, name: "ff1"), name: "gelu"), d, name: "ff2");
            x = b.Add(x, f, name: "residual2");
        }
        x = b.LayerNorm(x, name: "ln_final");
        var pooled = b.MaskedMean(x, mask, name: "pool");
        if (options.Dropout > 0) pooled = b.Dropout(pooled, options.Dropout, name: "dropout");
        return ZooOptionChecks.Finish(b, b.Linear(pooled, text.Classes, name: "fc"), Name);
    }
}

/// <summary>The shape of a <see cref="TransformerClassifier"/>. Immutable; validated when made.</summary>
public sealed class TransformerClassifierOptions
{
    /// <summary>Creates the options; every argument is checked here.</summary>
    /// <param name="text">Vocabulary, sequence length, classes and seed; defaults when null.</param>
    /// <param name="modelDim">Width of the token representations; divisible by <paramref name="heads"/>.</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="layers">Encoder layers.</param>
    /// <param name="feedForwardDim">Hidden width of each feed-forward block.</param>
    /// <param name="dropout">Dropout after the embeddings and before the classifier.</param>
    public TransformerClassifierOptions(TextModelOptions? text = null, int modelDim = 64, int heads = 4, int layers = 2, int feedForwardDim = 128, float dropout = 0.1f)
    {
        Text = text ?? new TextModelOptions();
        OptionChecks.Positive(modelDim, nameof(ModelDim));
        OptionChecks.Positive(heads, nameof(Heads));
        OptionChecks.Positive(layers, nameof(Layers));
        OptionChecks.Positive(feedForwardDim, nameof(FeedForwardDim));
        if (modelDim % heads != 0) throw new InvalidOptionException(nameof(Heads), $"Heads must divide ModelDim, got {heads} heads for a width of {modelDim}");
        ModelDim = modelDim;
        Heads = heads;
        Layers = layers;
        FeedForwardDim = feedForwardDim;
        Dropout = ZooOptionChecks.Probability(dropout, nameof(Dropout));
    }

    /// <summary>Vocabulary, sequence length, classes and seed.</summary>
    public TextModelOptions Text { get; }

    /// <summary>Width of the token representations.</summary>
    public int ModelDim { get; }

    /// <summary>Attention heads.</summary>
    public int Heads { get; }

    /// <summary>Encoder layers.</summary>
    public int Layers { get; }

    /// <summary>Hidden width of each feed-forward block.</summary>
    public int FeedForwardDim { get; }

    /// <summary>Dropout after the embeddings and before the classifier.</summary>
    public float Dropout { get; }
}
