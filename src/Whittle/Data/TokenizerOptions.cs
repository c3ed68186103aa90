namespace Whittle.Data;

/// <summary>
/// How <see cref="WordTokenizer"/> splits text and how <see cref="Vocabulary.Build"/> chooses its
/// words and pads sequences. Immutable; every value is checked here, and every default lives here.
/// </summary>
public sealed class TokenizerOptions
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="lowercase">Fold every word to lower case (invariant culture), so "The" and "the" share an id.</param>
    /// <param name="stripPunctuation">
    /// Treat punctuation and symbol characters as spaces; when false each such character is a
    /// token of its own ("end." gives "end" and ".").
    /// </param>
    /// <param name="sequenceLength">Every encoded text is exactly this many ids: truncated after the first ones, padded with <see cref="Vocabulary.PadId"/>.</param>
    /// <param name="maxSize">The most entries in the vocabulary, counting <c>&lt;pad&gt;</c> and <c>&lt;unk&gt;</c>; at least 3.</param>
    /// <param name="minFrequency">A word enters the vocabulary only when it occurs at least this often in the texts it is built from.</param>
    public TokenizerOptions(bool lowercase = true, bool stripPunctuation = true, int sequenceLength = DefaultSequenceLength,
        int maxSize = DefaultMaxSize, int minFrequency = DefaultMinFrequency)
    {
        OptionChecks.Positive(sequenceLength, nameof(SequenceLength));
        // The vocabulary needs room for <pad>, <unk> and at least one word.
        OptionChecks.AtLeast(maxSize, 3, nameof(MaxSize));
        OptionChecks.Positive(minFrequency, nameof(MinFrequency));
        Lowercase = lowercase;
        StripPunctuation = stripPunctuation;
        SequenceLength = sequenceLength;
        MaxSize = maxSize;
        MinFrequency = minFrequency;
    }

    /// <summary>The default <see cref="SequenceLength"/>: 100 words, longer than most fortunes.</summary>
    public const int DefaultSequenceLength = 100;

    /// <summary>The default <see cref="MaxSize"/>.</summary>
    public const int DefaultMaxSize = 20_000;

    /// <summary>The default <see cref="MinFrequency"/>: words seen once are mostly names and typos.</summary>
    public const int DefaultMinFrequency = 2;

    /// <summary>True when words are folded to lower case.</summary>
    public bool Lowercase { get; }

    /// <summary>True when punctuation and symbols are dropped rather than kept as tokens.</summary>
    public bool StripPunctuation { get; }

    /// <summary>The number of ids of every encoded text.</summary>
    public int SequenceLength { get; }

    /// <summary>The most vocabulary entries, including the two special ones.</summary>
    public int MaxSize { get; }

    /// <summary>The fewest occurrences that admit a word.</summary>
    public int MinFrequency { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"lowercase={Lowercase}, stripPunctuation={StripPunctuation}, sequenceLength={SequenceLength}, maxSize={MaxSize}, minFrequency={MinFrequency}";
}
