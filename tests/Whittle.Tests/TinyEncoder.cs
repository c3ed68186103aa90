using Whittle.Onnx;

namespace Whittle.Tests;

/// <summary>
/// A tiny BERT-shaped sentence-embedding model built by hand: int64 <c>input_ids</c>, <c>attention_mask</c>
/// and <c>token_type_ids</c> [batch, sequence] (both dimensions symbolic), word + token-type embeddings,
/// a two-MatMul feed-forward block with a residual, masked by the attention mask, out as
/// <c>last_hidden_state</c> [batch, sequence, 8], plus a mean "pooler" output [batch, 8].
/// </summary>
internal static class TinyEncoder
{
    public const int Width = 8;

    /// <summary>The model with a word-embedding table of <paramref name="vocabulary"/> rows.</summary>
    public static OnnxModel Create(int vocabulary = 12, int seed = 1)
    {
        var rng = new Random(seed);
        float[] Normal(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)(scale * (rng.NextDouble() * 2 - 1))).ToArray();
        var m = OnnxModel.Create("tiny_encoder", 13);
        var g = m.Graph;
        OnnxDim[] tokens = [new OnnxDim(null, "batch"), new OnnxDim(null, "sequence")];
        foreach (var name in new[] { "input_ids", "attention_mask", "token_type_ids" })
            g.AddInput(new OnnxValueInfo(name, OnnxDataType.Int64, tokens));
        g.AddInitializer(OnnxTensor.FromFloats("word_embeddings", [vocabulary, Width], Normal(vocabulary * Width, 1)));
        g.AddInitializer(OnnxTensor.FromFloats("token_type_embeddings", [2, Width], Normal(2 * Width, 0.1)));
        g.AddInitializer(OnnxTensor.FromFloats("ffn_in", [Width, 16], Normal(Width * 16, 0.5)));
        g.AddInitializer(OnnxTensor.FromFloats("ffn_out", [16, Width], Normal(16 * Width, 0.5)));
        g.AddInitializer(OnnxTensor.FromInt64s("axis2", [1], [2]));
        g.AddNode(new OnnxNode("Gather", ["word_embeddings", "input_ids"], ["words"], "word_lookup"));
        g.AddNode(new OnnxNode("Gather", ["token_type_embeddings", "token_type_ids"], ["types"], "type_lookup"));
        g.AddNode(new OnnxNode("Add", ["words", "types"], ["embedded"], "embed_sum"));
        g.AddNode(new OnnxNode("MatMul", ["embedded", "ffn_in"], ["hidden"], "ffn_in_matmul"));
        g.AddNode(new OnnxNode("Relu", ["hidden"], ["activated"], "ffn_relu"));
        g.AddNode(new OnnxNode("MatMul", ["activated", "ffn_out"], ["ffn"], "ffn_out_matmul"));
        g.AddNode(new OnnxNode("Add", ["embedded", "ffn"], ["residual"], "residual"));
        g.AddNode(new OnnxNode("Cast", ["attention_mask"], ["mask_float"], "mask_cast")).SetAttribute("to", (long)OnnxDataType.Float);
        g.AddNode(new OnnxNode("Unsqueeze", ["mask_float", "axis2"], ["mask3"], "mask_unsqueeze"));
        g.AddNode(new OnnxNode("Mul", ["residual", "mask3"], ["last_hidden_state"], "masked"));
        var pool = g.AddNode(new OnnxNode("ReduceMean", ["last_hidden_state"], ["pooler"], "pool"));
        pool.SetAttribute("axes", new long[] { 1 });
        pool.SetAttribute("keepdims", 0L);
        g.AddOutput(new OnnxValueInfo("last_hidden_state", OnnxDataType.Float, [new OnnxDim(null, "batch"), new OnnxDim(null, "sequence"), new OnnxDim(Width, null)]));
        g.AddOutput(new OnnxValueInfo("pooler", OnnxDataType.Float, [new OnnxDim(null, "batch"), new OnnxDim(Width, null)]));
        return m;
    }

    /// <summary>A BERT vocab.txt: the special tokens, then <paramref name="words"/>.</summary>
    public static string[] Vocabulary(IEnumerable<string> words) => ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", .. words];

    /// <summary>
    /// The tiny encoder saved in a new directory with a vocab.txt of the 200 most frequent words of the
    /// bundled fortunes (so texts differ in their ids), ready for <c>fortunes:data/fortunes-mini</c>.
    /// </summary>
    public static string SaveWithFortunesVocabulary(string directory)
    {
        var words = Directory.GetFiles(Path.Combine(TestPaths.Data, "fortunes-mini")).Where(f => Path.GetExtension(f).Length == 0)
            .SelectMany(f => File.ReadAllText(f).ToLowerInvariant().Split((char[])[' ', '\n', '\t', '.', ',', '%', '"', '!', '?', ':', ';', '(', ')', '-', '\''], StringSplitOptions.RemoveEmptyEntries))
            .GroupBy(w => w).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Take(200).Select(g => g.Key);
        var vocabulary = Vocabulary(words);
        File.WriteAllLines(Path.Combine(directory, "vocab.txt"), vocabulary);
        var path = Path.Combine(directory, "encoder.onnx");
        Create(vocabulary.Length).Save(path);
        return path;
    }
}
