using Whittle.Data;

namespace Whittle.Zoo;

/// <summary>
/// The sizes every text classifier of the Zoo shares: vocabulary (embedding rows), sequence
/// length, classes and seed. Immutable; validated when made.
/// </summary>
public sealed class TextModelOptions
{
    /// <summary>Validates and stores the sizes.</summary>
    /// <param name="vocabularySize">Rows of the token embedding, <see cref="Vocabulary.Count"/>; at least 3.</param>
    /// <param name="sequenceLength">Token ids per text, <see cref="TokenizerOptions.SequenceLength"/>.</param>
    /// <param name="classes">Output classes.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    public TextModelOptions(int vocabularySize = ZooDefaults.VocabularySize, int sequenceLength = TokenizerOptions.DefaultSequenceLength,
        int classes = ZooDefaults.Classes, long seed = ZooDefaults.Seed)
    {
        // A vocabulary has <pad>, <unk> and at least one word.
        OptionChecks.AtLeast(vocabularySize, 3, nameof(VocabularySize));
        OptionChecks.Positive(sequenceLength, nameof(SequenceLength));
        VocabularySize = vocabularySize;
        SequenceLength = sequenceLength;
        Classes = ZooOptionChecks.Classes(classes);
        Seed = seed;
    }

    /// <summary>Rows of the token embedding.</summary>
    public int VocabularySize { get; }

    /// <summary>Token ids per text.</summary>
    public int SequenceLength { get; }

    /// <summary>Output classes.</summary>
    public int Classes { get; }

    /// <summary>Seed of the initial weights.</summary>
    public long Seed { get; }

    /// <summary>The token-id input of a text model: <see cref="ZooDefaults.InputName"/>, int64 [batch, sequence length].</summary>
    internal GraphValue Input(OnnxGraphBuilder builder) =>
        builder.Input(ZooDefaults.InputName, [GraphValue.DynamicDimension, SequenceLength], Whittle.Onnx.OnnxDataType.Int64);
}
