using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Evaluation;

/// <summary>
/// A sentence-embedding model's signature: token ids in, token states <c>[batch, sequence, hidden]</c>
/// out, pooled into one embedding per text (mean over the attention mask, what sentence-transformers
/// does). Such a model is judged by its pooled embeddings (cosine, neighbours; <see cref="EmbeddingAgreement"/>),
/// not by an arg-max.
/// </summary>
/// <param name="IdsInput">The token-id input.</param>
/// <param name="HiddenOutput">The token-state output that is pooled.</param>
/// <param name="MaskInput">The attention-mask input that weighs the tokens; null when the model has none (every position counts).</param>
public sealed record SentenceEmbedding(string IdsInput, string HiddenOutput, string? MaskInput)
{
    /// <summary>How the embeddings are pooled, for reports.</summary>
    public string Pooling => MaskInput is null ? $"mean of {HiddenOutput} over all positions" : $"mean of {HiddenOutput} over {MaskInput}";

    /// <summary>
    /// The signature when <paramref name="session"/>'s model is a sentence-embedding model: an integer input
    /// [batch, sequence] with both dimensions dynamic, and a float output [batch, sequence, hidden] whose
    /// first two dimensions are dynamic and which is named <c>last_hidden_state</c> or shares the ids'
    /// sequence dimension name. Null otherwise (a classifier, an image model).
    /// </summary>
    public static SentenceEmbedding? Detect(OnnxRuntimeSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var ids = session.Inputs.Where(i => i.ElementType is OnnxDataType.Int64 or OnnxDataType.Int32 && i.Shape is [< 0, < 0]).ToList();
        var idsInput = ids.FirstOrDefault(i => GeneratedInputs.RoleOf(i.Name) == IntegerInputRole.Ids);
        if (idsInput is null) return null;
        string sequence = idsInput.SymbolicShape[1];
        var hidden = session.Outputs.Where(o => o.ElementType == OnnxDataType.Float && o.Shape is [< 0, < 0, _]).ToList();
        var output = hidden.FirstOrDefault(o => o.Name == "last_hidden_state")
            ?? hidden.FirstOrDefault(o => sequence.Length > 0 && o.SymbolicShape[1] == sequence);
        if (output is null) return null;
        var mask = ids.FirstOrDefault(i => GeneratedInputs.RoleOf(i.Name) == IntegerInputRole.AttentionMask);
        return new SentenceEmbedding(idsInput.Name, output.Name, mask?.Name);
    }

    /// <summary>The pooled embeddings of one batch: <paramref name="hidden"/> is this model's output for <paramref name="feeds"/>.</summary>
    /// <exception cref="ArgumentException">The output is not [batch, sequence, hidden].</exception>
    public float[][] Pool(IReadOnlyDictionary<string, RuntimeTensor> feeds, RuntimeTensor hidden)
    {
        ArgumentNullException.ThrowIfNull(feeds);
        ArgumentNullException.ThrowIfNull(hidden);
        if (hidden.Shape.Length != 3) throw new ArgumentException($"output '{HiddenOutput}' has shape [{string.Join(",", hidden.Shape)}]; pooling needs [batch, sequence, hidden]");
        int batch = (int)hidden.Shape[0], sequence = (int)hidden.Shape[1];
        long[] mask = [];
        if (MaskInput is not null && feeds.TryGetValue(MaskInput, out var m))
            mask = m.Data switch
            {
                long[] l => l,
                int[] i => Array.ConvertAll(i, x => (long)x),
                _ => throw new ArgumentException($"input '{MaskInput}' is {m.ElementType}, not an integer mask"),
            };
        return EmbeddingAgreement.MeanPool(hidden.AsFloats(), mask, batch, sequence);
    }
}
