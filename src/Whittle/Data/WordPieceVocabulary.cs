using Microsoft.ML.Tokenizers;

namespace Whittle.Data;

/// <summary>
/// A BERT model's own WordPiece vocabulary (<c>vocab.txt</c>, one token per line, the line number its
/// id), tokenizing texts with Microsoft.ML.Tokenizers' <see cref="BertTokenizer"/> the way the model
/// was trained: basic tokenization, lower case (uncased models), <c>[CLS]</c> text <c>[SEP]</c>, then
/// padding with <c>[PAD]</c> to a fixed length.
/// </summary>
public sealed class WordPieceVocabulary
{
    private readonly BertTokenizer _tokenizer;

    private WordPieceVocabulary(BertTokenizer tokenizer, string path, int size)
    {
        _tokenizer = tokenizer;
        Path = path;
        Size = size;
    }

    /// <summary>The file the vocabulary came from.</summary>
    public string Path { get; }

    /// <summary>Tokens in the vocabulary (the rows a word-embedding table must have).</summary>
    public int Size { get; }

    /// <summary>The id of <c>[PAD]</c>.</summary>
    public int PadId => _tokenizer.PaddingTokenId;

    /// <summary>Where a model's WordPiece vocabulary is looked for: <c>model.vocab.txt</c>, else <c>vocab.txt</c> in the model's directory (as Hugging Face exports lay them out); null when neither exists.</summary>
    /// <param name="modelPath">The model file.</param>
    public static string? FindBeside(string modelPath)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        var own = System.IO.Path.ChangeExtension(modelPath, null) + ".vocab.txt";
        if (File.Exists(own)) return own;
        var shared = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(modelPath)) ?? ".", "vocab.txt");
        return File.Exists(shared) ? shared : null;
    }

    /// <summary>Loads <paramref name="path"/>.</summary>
    /// <param name="path">A <c>vocab.txt</c>.</param>
    /// <param name="lowercase">Fold texts to lower case first (true for uncased models such as all-MiniLM-L6-v2).</param>
    /// <exception cref="DataFormatException">The file is missing, empty, or lacks the special tokens BERT needs.</exception>
    public static WordPieceVocabulary Load(string path, bool lowercase = true)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new DataFormatException(path, "the WordPiece vocabulary (vocab.txt) does not exist");
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0) throw new DataFormatException(path, "the WordPiece vocabulary is empty");
        var missing = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]" }.Where(t => !lines.Contains(t)).ToList();
        if (missing.Count > 0)
            throw new DataFormatException(path, $"not a BERT WordPiece vocabulary: it lacks {string.Join(", ", missing)}");
        BertTokenizer tokenizer;
        try
        {
            using var stream = File.OpenRead(path);
            tokenizer = BertTokenizer.Create(stream, new BertOptions { LowerCaseBeforeTokenization = lowercase });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new DataFormatException(path, $"cannot read the WordPiece vocabulary: {e.Message}");
        }
        return new WordPieceVocabulary(tokenizer, path, lines.Length);
    }

    /// <summary>
    /// The ids of one text, exactly <paramref name="sequenceLength"/> of them: <c>[CLS]</c>, the first
    /// sequenceLength − 2 WordPiece tokens, <c>[SEP]</c>, then <c>[PAD]</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The length leaves no room for a token.</exception>
    public int[] Encode(string text, int sequenceLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 3);
        var tokens = _tokenizer.EncodeToIds(text, sequenceLength - 2, addSpecialTokens: false, out _, out _);
        var ids = new int[sequenceLength];
        Array.Fill(ids, PadId);
        ids[0] = _tokenizer.ClassificationTokenId;
        for (int i = 0; i < tokens.Count; i++) ids[i + 1] = tokens[i];
        ids[tokens.Count + 1] = _tokenizer.SeparatorTokenId;
        return ids;
    }

    /// <summary>The texts of <paramref name="corpus"/> as token ids [count, sequenceLength] (float32, exact for any BERT vocabulary), with the corpus's labels.</summary>
    public TensorDataset Encode(TextCorpus corpus, int sequenceLength)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        var features = new float[(long)corpus.Count * sequenceLength];
        for (int i = 0; i < corpus.Count; i++)
        {
            var ids = Encode(corpus.Texts[i], sequenceLength);
            for (int t = 0; t < sequenceLength; t++) features[(long)i * sequenceLength + t] = ids[t];
        }
        return new TensorDataset(features, [sequenceLength], corpus.Labels.ToArray(), corpus.ClassNames.Count, corpus.ClassNames);
    }
}
