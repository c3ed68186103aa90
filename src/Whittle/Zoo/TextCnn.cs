using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>
/// TextCNN (Kim, 2014): token embedding (Gather), parallel 1-D convolutions of several widths
/// with ReLU, max over time, concatenation, dropout and a linear classifier. Input: int64 token
/// ids [batch, sequence length]; output: logits [batch, classes].
/// </summary>
public static class TextCnn
{
    /// <summary>The registry name.</summary>
    public const string Name = "textcnn";

    /// <summary>Builds the model with the given options (defaults when null).</summary>
    public static OnnxModel Create(TextCnnOptions? options = null)
    {
        options ??= new TextCnnOptions();
        var text = options.Text;
        var b = new OnnxGraphBuilder(Name, text.Seed);
        var ids = text.Input(b);
        var embedded = b.Embedding(ids, text.VocabularySize, options.EmbeddingDim, name: "embedding", std: options.EmbeddingStd);
        var channels = b.Transpose(embedded, [0, 2, 1], name: "embedding_t");
        var pooled = new List<GraphValue>();
        foreach (int width in options.KernelSizes)
        {
            var conv = b.Conv(channels, options.Filters, width, name: $"conv{width}");
            pooled.Add(b.ReduceMax(b.Relu(conv, name: $"relu{width}"), [2], name: $"pool{width}"));
        }
        var features = pooled.Count == 1 ? pooled[0] : b.Concat(pooled, 1, name: "concat");
        if (options.Dropout > 0) features = b.Dropout(features, options.Dropout, name: "dropout");
        return ZooOptionChecks.Finish(b, b.Linear(features, text.Classes, name: "fc"), Name);
    }
}

/// <summary>The shape of a <see cref="TextCnn"/>. Immutable; validated when made.</summary>
public sealed class TextCnnOptions
{
    /// <summary>Creates the options; every argument is checked here.</summary>
    /// <param name="text">Vocabulary, sequence length, classes and seed; defaults when null.</param>
    /// <param name="embeddingDim">Width of a token's embedding.</param>
    /// <param name="filters">Output channels of each convolution.</param>
    /// <param name="kernelSizes">Convolution widths in tokens, each at most the sequence length. Default 3, 4, 5.</param>
    /// <param name="dropout">Dropout before the classifier.</param>
    /// <param name="embeddingStd">
    /// Standard deviation of the initial word vectors. 0.25 is the scale of Kim's randomly
    /// initialized CNN-rand (PyTorch's nn.Embedding uses 1); small vectors let the optimizer
    /// move them in a few hundred steps, which a corpus of a few thousand texts needs.
    /// </param>
    public TextCnnOptions(TextModelOptions? text = null, int embeddingDim = 128, int filters = 100, IReadOnlyList<int>? kernelSizes = null, float dropout = 0.5f,
        float embeddingStd = 0.25f)
    {
        OptionChecks.Positive(embeddingStd, nameof(EmbeddingStd));
        EmbeddingStd = embeddingStd;
        Text = text ?? new TextModelOptions();
        OptionChecks.Positive(embeddingDim, nameof(EmbeddingDim));
        OptionChecks.Positive(filters, nameof(Filters));
        KernelSizes = ZooOptionChecks.PositiveList(kernelSizes, DefaultKernelSizes, nameof(KernelSizes), allowEmpty: false);
        if (KernelSizes.Any(k => k > Text.SequenceLength))
            throw new InvalidOptionException(nameof(KernelSizes), $"KernelSizes holds a kernel of {KernelSizes.Max()} tokens, longer than the sequence of {Text.SequenceLength}");
        if (KernelSizes.Distinct().Count() != KernelSizes.Count)
            throw new InvalidOptionException(nameof(KernelSizes), $"KernelSizes repeats a size, got [{string.Join(",", KernelSizes)}]");
        EmbeddingDim = embeddingDim;
        Filters = filters;
        Dropout = ZooOptionChecks.Probability(dropout, nameof(Dropout));
    }

    /// <summary>The kernel widths used when none are given.</summary>
    public static IReadOnlyList<int> DefaultKernelSizes { get; } = [3, 4, 5];

    /// <summary>Vocabulary, sequence length, classes and seed.</summary>
    public TextModelOptions Text { get; }

    /// <summary>Width of a token's embedding.</summary>
    public int EmbeddingDim { get; }

    /// <summary>Output channels of each convolution.</summary>
    public int Filters { get; }

    /// <summary>Convolution widths in tokens.</summary>
    public IReadOnlyList<int> KernelSizes { get; }

    /// <summary>Dropout before the classifier.</summary>
    public float Dropout { get; }

    /// <summary>Standard deviation of the initial word vectors.</summary>
    public float EmbeddingStd { get; }
}
