using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Quantization;

/// <summary>How closely one quantized activation follows its float original (error accumulated up to that layer).</summary>
/// <param name="Tensor">The activation's name in the float graph.</param>
/// <param name="Producer">The node that produces it.</param>
/// <param name="OpType">The producer's op type.</param>
/// <param name="SqnrDb">Signal-to-quantization-noise ratio: 10·log10(Σx² / Σ(x − x̂)²); higher is better.</param>
/// <param name="MaxAbsError">Largest |x − x̂|.</param>
public sealed record LayerError(string Tensor, string Producer, string OpType, double SqnrDb, double MaxAbsError);

/// <summary>The verification of a quantized model against its float original.</summary>
/// <param name="Samples">Samples compared.</param>
/// <param name="Outputs">Per output agreement.</param>
/// <param name="Layers">Per quantized activation error, worst (lowest SQNR) first.</param>
/// <param name="Embedding">A sentence-embedding model (<see cref="SentenceEmbedding"/>): how its pooled embeddings agree; null for other models.</param>
public sealed record VerificationReport(int Samples, IReadOnlyList<OutputDifference> Outputs, IReadOnlyList<LayerError> Layers, EmbeddingAgreement? Embedding = null);

/// <summary>
/// Runs the float and the quantized model side by side in ONNX Runtime on held-out samples:
/// the outputs must be finite and agree, and every quantized activation is compared with its
/// float value (SQNR), which shows where the error enters: the table a user reads to decide
/// what to exclude. A sentence-embedding model is also judged by what it is used for: the cosine of
/// its pooled embeddings and the overlap of their nearest neighbours (<see cref="EmbeddingAgreement"/>);
/// the arg-max of its outputs means nothing and is left out.
/// </summary>
public static class QuantizationVerifier
{
    /// <summary>Compares <paramref name="quantized"/> with <paramref name="reference"/> (the prepared float model whose value names it shares).</summary>
    /// <param name="reference">The float model.</param>
    /// <param name="quantized">The quantized model and where its activations are.</param>
    /// <param name="batches">Held-out batches both models take.</param>
    /// <param name="runtime">ORT settings; null for the default.</param>
    /// <param name="neighbours">Sentence-embedding models: compare nearest neighbours (false when the batches are generated ids, whose neighbours mean nothing).</param>
    /// <exception cref="QuantizationException">The quantized model does not load or run in ORT, or produces non-finite values.</exception>
    public static VerificationReport Verify(OnnxModel reference, QdqModel quantized, IEnumerable<IReadOnlyDictionary<string, RuntimeTensor>> batches,
        RuntimeOptions? runtime = null, bool neighbours = true)
    {
        var outputs = reference.Graph.Outputs.Select(o => o.Name).ToList();
        var layers = quantized.Dequantized.Keys.Where(k => !outputs.Contains(k)).Order(StringComparer.Ordinal).ToList();
        var graphInputs = reference.Graph.Inputs.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        layers.RemoveAll(graphInputs.Contains);

        using var floatSession = new OnnxRuntimeSession(IntermediateCapture.WithOutputs(reference, layers), runtime);
        OnnxRuntimeSession quantSession;
        try
        {
            quantSession = new OnnxRuntimeSession(IntermediateCapture.WithOutputs(quantized.Model, layers.Select(l => quantized.Dequantized[l])), runtime);
        }
        catch (RuntimeException e)
        {
            throw new QuantizationException($"the quantized model does not load in ONNX Runtime: {e.Message}", e);
        }
        using var _ = quantSession;
        var embedding = SentenceEmbedding.Detect(floatSession);
        List<float[]> floatEmbeddings = [], quantEmbeddings = [];
        var outputStats = outputs.ToDictionary(o => o, o => new OutputComparer(o), StringComparer.Ordinal);
        var layerStats = layers.ToDictionary(l => l, l => new OutputComparer(l), StringComparer.Ordinal);
        int samples = 0;
        foreach (var batch in batches)
        {
            var f = floatSession.Run(batch, [.. outputs, .. layers]);
            var q = quantSession.Run(batch, [.. outputs, .. layers.Select(l => quantized.Dequantized[l])]);
            foreach (var o in outputs)
            {
                var qv = q[o];
                if (qv.ElementType != OnnxDataType.Float) continue;
                var qf = qv.AsFloats();
                if (qf.Any(v => !float.IsFinite(v))) throw new QuantizationException($"the quantized model's output '{o}' holds non-finite values");
                outputStats[o].Add(f[o].AsFloats(), qf, qv.Shape);
            }
            foreach (var l in layers) layerStats[l].Add(f[l].AsFloats(), q[quantized.Dequantized[l]].AsFloats());
            if (embedding is not null)
            {
                floatEmbeddings.AddRange(embedding.Pool(batch, f[embedding.HiddenOutput]));
                quantEmbeddings.AddRange(embedding.Pool(batch, q[embedding.HiddenOutput]));
            }
            samples += (int)(batch.Values.First().Shape.FirstOrDefault(1));
        }
        if (samples == 0) throw new QuantizationException("verification needs at least one batch of samples");

        var producers = reference.Graph.Nodes.SelectMany(n => n.Outputs.Select(o => (o, n))).GroupBy(p => p.o).ToDictionary(g => g.Key, g => g.First().n, StringComparer.Ordinal);
        var layerErrors = layers.Select(l =>
        {
            var p = producers.GetValueOrDefault(l);
            var r = layerStats[l].Result();
            return new LayerError(l, p?.DisplayName ?? "(input)", p?.OpType ?? "", r.SqnrDb, r.MaxAbsDifference);
        }).OrderBy(e => e.SqnrDb).ToList();
        var outputAgreement = outputs.Where(o => outputStats[o].Values > 0).Select(o => outputStats[o].Result())
            // A sentence embedding (or a pooler beside it) has no classes: "same top-1" would be noise.
            .Select(r => embedding is null ? r : r with { Top1Agreement = null }).ToList();
        var agreement = embedding is null ? null
            : EmbeddingAgreement.Compare(floatEmbeddings, quantEmbeddings, embedding.Pooling, neighbours: neighbours);
        return new VerificationReport(samples, outputAgreement, layerErrors, agreement);
    }
}
