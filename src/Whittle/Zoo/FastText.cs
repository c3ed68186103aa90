using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>
/// A fastText-style bag of embeddings (Joulin et al., 2016): the mean of the token embeddings
/// over the non-padding positions, then a linear classifier. No recurrence, no convolution:
/// the baseline every text model has to beat. Input: int64 token ids [batch, sequence length];
/// output: logits [batch, classes].
/// </summary>
public static class FastText
{
    /// <summary>The registry name.</summary>
    public const string Name = "fasttext";

    /// <summary>Builds the model with the given options (defaults when null).</summary>
    public static OnnxModel Create(FastTextOptions? options = null)
    {
        options ??= new FastTextOptions();
        var text = options.Text;
        var b = new OnnxGraphBuilder(Name, text.Seed);
        var ids = text.Input(b);
        var embedded = b.Embedding(ids, text.VocabularySize, options.EmbeddingDim, name: "embedding");
        var mask = b.PaddingMask(ids, name: "mask");
        var mean = b.MaskedMean(embedded, mask, name: "mean");
        return ZooOptionChecks.Finish(b, b.Linear(mean, text.Classes, name: "fc"), Name);
    }
}

/// <summary>The shape of a <see cref="FastText"/> model. Immutable; validated when made.</summary>
public sealed class FastTextOptions
{
    /// <summary>Creates the options; every argument is checked here.</summary>
    /// <param name="text">Vocabulary, sequence length, classes and seed; defaults when null.</param>
    /// <param name="embeddingDim">Width of a token's embedding.</param>
    public FastTextOptions(TextModelOptions? text = null, int embeddingDim = 64)
    {
        Text = text ?? new TextModelOptions();
        OptionChecks.Positive(embeddingDim, nameof(EmbeddingDim));
        EmbeddingDim = embeddingDim;
    }

    /// <summary>Vocabulary, sequence length, classes and seed.</summary>
    public TextModelOptions Text { get; }

    /// <summary>Width of a token's embedding.</summary>
    public int EmbeddingDim { get; }
}
