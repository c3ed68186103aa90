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

/// <summary>Agreement of one model output between the float and the quantized model.</summary>
/// <param name="Output">Output name.</param>
/// <param name="SqnrDb">Signal-to-noise ratio of the quantized output, in dB.</param>
/// <param name="Cosine">Cosine similarity of the two outputs, sample by sample, averaged.</param>
/// <param name="MaxAbsError">Largest |x − x̂|.</param>
/// <param name="Top1Agreement">For [batch, classes] outputs: the share of samples with the same arg-max; otherwise null.</param>
public sealed record OutputAgreement(string Output, double SqnrDb, double Cosine, double MaxAbsError, double? Top1Agreement);

/// <summary>The verification of a quantized model against its float original.</summary>
/// <param name="Samples">Samples compared.</param>
/// <param name="Outputs">Per output agreement.</param>
/// <param name="Layers">Per quantized activation error, worst (lowest SQNR) first.</param>
public sealed record VerificationReport(int Samples, IReadOnlyList<OutputAgreement> Outputs, IReadOnlyList<LayerError> Layers);

/// <summary>
/// Runs the float and the quantized model side by side in ONNX Runtime on held-out samples:
/// the outputs must be finite and agree, and every quantized activation is compared with its
/// float value (SQNR), which shows where the error enters: the table a user reads to decide
/// what to exclude.
/// </summary>
public static class QuantizationVerifier
{
    /// <summary>Compares <paramref name="quantized"/> with <paramref name="reference"/> (the prepared float model whose value names it shares).</summary>
    /// <exception cref="QuantizationException">The quantized model does not load or run in ORT, or produces non-finite values.</exception>
    public static VerificationReport Verify(OnnxModel reference, QdqModel quantized, IEnumerable<IReadOnlyDictionary<string, RuntimeTensor>> batches,
        RuntimeOptions? runtime = null)
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
        var outputStats = outputs.ToDictionary(o => o, _ => new Agreement(), StringComparer.Ordinal);
        var layerStats = layers.ToDictionary(l => l, _ => new Agreement(), StringComparer.Ordinal);
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
            foreach (var l in layers) layerStats[l].Add(f[l].AsFloats(), q[quantized.Dequantized[l]].AsFloats(), null);
            samples += (int)(batch.Values.First().Shape.FirstOrDefault(1));
        }
        if (samples == 0) throw new QuantizationException("verification needs at least one batch of samples");

        var producers = reference.Graph.Nodes.SelectMany(n => n.Outputs.Select(o => (o, n))).GroupBy(p => p.o).ToDictionary(g => g.Key, g => g.First().n, StringComparer.Ordinal);
        var layerErrors = layers.Select(l =>
        {
            var p = producers.GetValueOrDefault(l);
            return new LayerError(l, p?.DisplayName ?? "(input)", p?.OpType ?? "", layerStats[l].SqnrDb, layerStats[l].MaxAbs);
        }).OrderBy(e => e.SqnrDb).ToList();
        var outputAgreement = outputs.Where(o => outputStats[o].Count > 0)
            .Select(o => new OutputAgreement(o, outputStats[o].SqnrDb, outputStats[o].MeanCosine, outputStats[o].MaxAbs, outputStats[o].Top1)).ToList();
        return new VerificationReport(samples, outputAgreement, layerErrors);
    }

    /// <summary>Streaming signal and noise energy, cosine per sample and arg-max agreement.</summary>
    private sealed class Agreement
    {
        private double _signal, _noise, _cosineSum;
        private long _rows, _sameTop1;
        private bool _classScores = true;

        public long Count { get; private set; }
        public double MaxAbs { get; private set; }

        public double SqnrDb => _noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(_signal / _noise);
        public double MeanCosine => _rows == 0 ? 1 : _cosineSum / _rows;
        public double? Top1 => _classScores && _rows > 0 ? (double)_sameTop1 / _rows : null;

        public void Add(float[] reference, float[] quantized, long[]? shape)
        {
            if (reference.Length != quantized.Length) throw new QuantizationException($"float and quantized values differ in size ({reference.Length} vs {quantized.Length})");
            for (int i = 0; i < reference.Length; i++)
            {
                double x = reference[i], d = x - quantized[i];
                _signal += x * x;
                _noise += d * d;
                MaxAbs = Math.Max(MaxAbs, Math.Abs(d));
            }
            Count += reference.Length;
            if (shape is null) return;
            int rows = shape.Length >= 1 && shape[0] > 0 ? (int)shape[0] : 1;
            int width = reference.Length / rows;
            _classScores &= shape.Length == 2 && width > 1;
            for (int r = 0; r < rows; r++)
            {
                var a = reference.AsSpan(r * width, width);
                var b = quantized.AsSpan(r * width, width);
                int am = 0, bm = 0;
                for (int k = 0; k < width; k++)
                {
                    if (a[k] > a[am]) am = k;
                    if (b[k] > b[bm]) bm = k;
                }
                _cosineSum += QuantizationError.Cosine(a, b);
                if (am == bm) _sameTop1++;
                _rows++;
            }
        }
    }
}
