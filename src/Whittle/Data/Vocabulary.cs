using System.Text.Json;
using System.Text.Json.Nodes;
using Whittle.Onnx;

namespace Whittle.Data;

/// <summary>
/// The word-to-id table of a text model, with the tokenizer settings and class names it was
/// built with: everything needed to turn a text into the model's input exactly as in training.
/// Id 0 is <c>&lt;pad&gt;</c>, id 1 is <c>&lt;unk&gt;</c> (every word not in the table), then the
/// words by descending frequency (ties in ordinal order). It is saved next to the model
/// (<see cref="PathFor"/>) so evaluation and later tools tokenize identically. Immutable.
/// </summary>
public sealed class Vocabulary
{
    /// <summary>The id that pads short texts.</summary>
    public const int PadId = 0;

    /// <summary>The id of every word not in the vocabulary.</summary>
    public const int UnknownId = 1;

    /// <summary>The padding token's text.</summary>
    public const string PadToken = "<pad>";

    /// <summary>The unknown-word token's text.</summary>
    public const string UnknownToken = "<unk>";

    /// <summary>The file extension <see cref="PathFor"/> puts in place of the model's.</summary>
    public const string FileExtension = ".vocab.json";

    private const string FormatName = "whittle-vocabulary";
    private const int FormatVersion = 1;

    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;
    private readonly string[] _classNames;

    /// <summary>Wraps a token table; <paramref name="tokens"/> must start with <c>&lt;pad&gt;</c>, <c>&lt;unk&gt;</c> and hold no repeats.</summary>
    /// <param name="tokens">The tokens in id order.</param>
    /// <param name="classNames">The class names, in the model's output order.</param>
    /// <param name="options">The tokenizer settings the table was built with.</param>
    public Vocabulary(IReadOnlyList<string> tokens, IReadOnlyList<string> classNames, TokenizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(options);
        if (tokens.Count < 2 || tokens[PadId] != PadToken || tokens[UnknownId] != UnknownToken)
            throw new ArgumentException($"A vocabulary starts with {PadToken} (id 0) and {UnknownToken} (id 1).", nameof(tokens));
        if (tokens.Count > options.MaxSize)
            throw new ArgumentException($"{tokens.Count} tokens exceed the maximum size {options.MaxSize}.", nameof(tokens));
        _ids = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        for (int i = 0; i < tokens.Count; i++)
        {
            if (string.IsNullOrEmpty(tokens[i])) throw new ArgumentException($"Token {i} is empty.", nameof(tokens));
            if (!_ids.TryAdd(tokens[i], i)) throw new ArgumentException($"Token '{tokens[i]}' appears twice.", nameof(tokens));
        }
        if (classNames.Count < 2) throw new ArgumentException("A text classifier needs at least two classes.", nameof(classNames));
        if (classNames.Distinct(StringComparer.Ordinal).Count() != classNames.Count) throw new ArgumentException("A class name appears twice.", nameof(classNames));
        _tokens = tokens.ToArray();
        _classNames = classNames.ToArray();
        Options = options;
    }

    /// <summary>The number of ids, including <c>&lt;pad&gt;</c> and <c>&lt;unk&gt;</c>: the rows of the model's embedding table.</summary>
    public int Count => _tokens.Length;

    /// <summary>The tokens in id order.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>The class names in the model's output order.</summary>
    public IReadOnlyList<string> ClassNames => _classNames;

    /// <summary>The tokenizer settings, including the sequence length.</summary>
    public TokenizerOptions Options { get; }

    /// <summary>
    /// Counts the words of <paramref name="texts"/> and keeps those occurring at least
    /// <see cref="TokenizerOptions.MinFrequency"/> times, the most frequent first, up to
    /// <see cref="TokenizerOptions.MaxSize"/> entries in all.
    /// </summary>
    /// <param name="texts">The training texts (never the test texts: their words would leak into the model).</param>
    /// <param name="classNames">The class names, in the model's output order.</param>
    /// <param name="options">Tokenizer settings.</param>
    public static Vocabulary Build(IEnumerable<string> texts, IReadOnlyList<string> classNames, TokenizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(options);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string text in texts)
            foreach (string token in WordTokenizer.Tokenize(text, options))
                counts[token] = counts.GetValueOrDefault(token) + 1;
        counts.Remove(PadToken);
        counts.Remove(UnknownToken);
        var words = counts.Where(kv => kv.Value >= options.MinFrequency)
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(options.MaxSize - 2)
            .Select(kv => kv.Key);
        return new Vocabulary([PadToken, UnknownToken, .. words], classNames, options);
    }

    /// <summary>The id of <paramref name="token"/>, or <see cref="UnknownId"/>.</summary>
    /// <param name="token">A token as <see cref="WordTokenizer"/> produces it.</param>
    public int IdOf(string token) => _ids.GetValueOrDefault(token, UnknownId);

    /// <summary>
    /// The ids of <paramref name="text"/>: exactly <see cref="TokenizerOptions.SequenceLength"/>
    /// of them, the first words kept and the rest padded with <see cref="PadId"/>.
    /// </summary>
    /// <param name="text">Any text.</param>
    public int[] Encode(string text)
    {
        var ids = new int[Options.SequenceLength];
        var tokens = WordTokenizer.Tokenize(text, Options);
        for (int i = 0; i < ids.Length && i < tokens.Count; i++) ids[i] = IdOf(tokens[i]);
        return ids;
    }

    /// <summary>
    /// Encodes every text of <paramref name="corpus"/> into a dataset of token ids, [N, sequence
    /// length], stored as float32 (exact for ids below 2^24) so the usual batching, splitting and
    /// training code takes it; the model casts them back to int64 ids.
    /// </summary>
    /// <param name="corpus">The texts; its class names must be this vocabulary's, in the same order.</param>
    /// <exception cref="DataFormatException">The corpus has other classes than the vocabulary (the model).</exception>
    public TensorDataset Encode(TextCorpus corpus)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (!corpus.ClassNames.SequenceEqual(_classNames, StringComparer.Ordinal))
            throw new DataFormatException(corpus.Location,
                $"the data's classes [{string.Join(", ", corpus.ClassNames)}] are not the vocabulary's [{string.Join(", ", _classNames)}] (the model was trained on other categories, or in another order)");
        int length = Options.SequenceLength;
        var features = new float[(long)corpus.Count * length];
        for (int i = 0; i < corpus.Count; i++)
        {
            int[] ids = Encode(corpus.Texts[i]);
            for (int t = 0; t < length; t++) features[(long)i * length + t] = ids[t];
        }
        return new TensorDataset(features, [length], corpus.Labels.ToArray(), _classNames.Length, _classNames);
    }

    /// <summary>Where the vocabulary of <paramref name="modelPath"/> lives: <c>model.onnx</c> → <c>model.vocab.json</c>.</summary>
    /// <param name="modelPath">The model file.</param>
    public static string PathFor(string modelPath)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        return Path.ChangeExtension(modelPath, null) + FileExtension;
    }

    /// <summary>
    /// Checks that a model's embedding table has one row per id; a vocabulary from another model
    /// would silently feed wrong words.
    /// </summary>
    /// <param name="embeddingRows">Rows of the table the model looks token ids up in.</param>
    /// <param name="vocabularyPath">The vocabulary file, for the message.</param>
    /// <param name="modelPath">The model file, for the message.</param>
    /// <exception cref="DataFormatException">The sizes differ.</exception>
    public void CheckEmbeddingRows(long embeddingRows, string vocabularyPath, string modelPath)
    {
        if (embeddingRows != Count)
            throw new DataFormatException(vocabularyPath,
                $"the vocabulary has {Count} tokens but the embedding table of {modelPath} has {embeddingRows} rows: it does not belong to this model");
    }

    /// <summary>Writes the vocabulary as JSON, atomically.</summary>
    /// <param name="path">The file to write, usually <see cref="PathFor"/> of the model.</param>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var json = new JsonObject
        {
            ["format"] = FormatName,
            ["version"] = FormatVersion,
            ["lowercase"] = Options.Lowercase,
            ["stripPunctuation"] = Options.StripPunctuation,
            ["sequenceLength"] = Options.SequenceLength,
            ["maxSize"] = Options.MaxSize,
            ["minFrequency"] = Options.MinFrequency,
            ["classes"] = new JsonArray(_classNames.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
            ["tokens"] = new JsonArray(_tokens.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
        };
        AtomicFile.WriteAllText(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Reads a vocabulary written by <see cref="Save"/>.</summary>
    /// <param name="path">The JSON file.</param>
    /// <exception cref="DataFormatException">The file is missing, not JSON, or not a valid vocabulary.</exception>
    public static Vocabulary Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        JsonNode? root;
        using (var stream = DataFiles.OpenRead(path))
        {
            try
            {
                root = JsonNode.Parse(stream);
            }
            catch (JsonException e)
            {
                throw new DataFormatException(path, $"not valid JSON: {e.Message}", inner: e);
            }
        }
        try
        {
            if (root is not JsonObject o || (string?)o["format"] != FormatName)
                throw new DataFormatException(path, $"not a Whittle vocabulary (no \"format\": \"{FormatName}\")");
            int version = (int?)o["version"] ?? 0;
            if (version != FormatVersion) throw new DataFormatException(path, $"vocabulary format version {version} is not supported (expected {FormatVersion})");
            var options = new TokenizerOptions(
                lowercase: Required<bool>(o, "lowercase", path),
                stripPunctuation: Required<bool>(o, "stripPunctuation", path),
                sequenceLength: Required<int>(o, "sequenceLength", path),
                maxSize: Required<int>(o, "maxSize", path),
                minFrequency: Required<int>(o, "minFrequency", path));
            var classes = Strings(o, "classes", path);
            var tokens = Strings(o, "tokens", path);
            return new Vocabulary(tokens, classes, options);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new DataFormatException(path, $"not a valid vocabulary: {e.Message}", inner: e);
        }
    }

    private static T Required<T>(JsonObject o, string name, string path) =>
        o[name] is JsonValue v ? v.GetValue<T>() : throw new DataFormatException(path, $"the vocabulary has no \"{name}\"");

    private static string[] Strings(JsonObject o, string name, string path) =>
        o[name] is JsonArray a
            ? a.Select(n => n is JsonValue v ? v.GetValue<string>() : throw new DataFormatException(path, $"\"{name}\" holds a non-string")).ToArray()
            : throw new DataFormatException(path, $"the vocabulary has no \"{name}\" list");
}
