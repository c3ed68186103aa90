using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Evaluation;

/// <summary>Two models run on the same inputs: every shared output compared.</summary>
/// <param name="Samples">Samples (batch rows) compared.</param>
/// <param name="Inputs">Where the inputs came from, e.g. "generated (batch 4, seed 0)" or "256 held-out samples".</param>
/// <param name="Outputs">One comparison per output of the reference.</param>
public sealed record ComparisonReport(int Samples, string Inputs, IReadOnlyList<OutputDifference> Outputs)
{
    /// <summary>The largest absolute difference over all outputs.</summary>
    public double MaxAbsDifference => Outputs.Select(o => o.MaxAbsDifference).DefaultIfEmpty(0).Max();

    /// <summary>The lowest mean cosine over all outputs.</summary>
    public double MinMeanCosine => Outputs.Select(o => o.Cosine).DefaultIfEmpty(1).Min();
}

/// <summary>
/// The one model-against-model comparison in ONNX Runtime: the reference and the candidate run on
/// the same batches, outputs are matched by name and shape and compared with
/// <see cref="OutputComparer"/>. A missing output or a changed shape is an error.
/// </summary>
public static class ModelComparison
{
    /// <summary>Compares the two models on the given batches.</summary>
    /// <param name="reference">The model the candidate should agree with.</param>
    /// <param name="candidate">The model being checked.</param>
    /// <param name="batches">Input batches both models take.</param>
    /// <param name="inputsDescription">Says where the inputs came from (for reports).</param>
    /// <param name="runtime">ORT settings for both sessions; null for <see cref="RuntimeOptions.Default"/>.</param>
    /// <exception cref="RuntimeException">The candidate does not load or run, lacks an output of the reference, or changes its shape.</exception>
    public static ComparisonReport Compare(OnnxModel reference, OnnxModel candidate, IEnumerable<IReadOnlyDictionary<string, RuntimeTensor>> batches,
        string inputsDescription, RuntimeOptions? runtime = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(batches);
        using var a = new OnnxRuntimeSession(reference, runtime);
        using var b = new OnnxRuntimeSession(candidate, runtime);
        return Compare(a, b, batches, inputsDescription);
    }

    /// <summary>Compares the two models on generated inputs (<see cref="GeneratedInputs"/>; the model's fixed batch, else <paramref name="batchSize"/>).</summary>
    /// <param name="reference">The model the candidate should agree with.</param>
    /// <param name="candidate">The model being checked.</param>
    /// <param name="batchSize">Batch size of the generated inputs when the model does not fix one.</param>
    /// <param name="seed">Seed of the generated values.</param>
    /// <param name="runtime">ORT settings; null for the default.</param>
    /// <param name="sequenceLength">The size of symbolic non-batch dimensions (a transformer's sequence).</param>
    public static ComparisonReport CompareOnGeneratedInputs(OnnxModel reference, OnnxModel candidate, int batchSize = 4, int seed = 0, RuntimeOptions? runtime = null,
        int sequenceLength = GeneratedInputs.DefaultSequenceLength)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(candidate);
        using var a = new OnnxRuntimeSession(reference, runtime);
        using var b = new OnnxRuntimeSession(candidate, runtime);
        int batch = GeneratedInputs.BatchSize(a, batchSize);
        return Compare(a, b, [GeneratedInputs.Create(reference, a, batch, seed, sequenceLength)],
            $"generated from the input shapes (batch {batch}{(GeneratedInputs.HasSymbolicSequence(a) ? $", sequence {sequenceLength}" : "")}, seed {seed})");
    }

    private static ComparisonReport Compare(OnnxRuntimeSession a, OnnxRuntimeSession b, IEnumerable<IReadOnlyDictionary<string, RuntimeTensor>> batches, string inputs)
    {
        var names = a.Outputs.Select(o => o.Name).ToList();
        var missing = names.Where(n => b.Outputs.All(o => o.Name != n)).ToList();
        if (missing.Count > 0) throw new RuntimeException($"{b.Label}: output(s) {string.Join(", ", missing)} of the reference are missing");
        var comparers = names.ToDictionary(n => n, n => new OutputComparer(n), StringComparer.Ordinal);
        int samples = 0;
        foreach (var batch in batches)
        {
            var ra = a.Run(batch, names);
            var rb = b.Run(batch, names);
            foreach (var name in names)
            {
                var (x, y) = (ra[name], rb[name]);
                if (!x.Shape.SequenceEqual(y.Shape))
                    throw new RuntimeException($"{b.Label}: output '{name}' has shape [{string.Join(",", y.Shape)}]; the reference's is [{string.Join(",", x.Shape)}]");
                if (x.ElementType != OnnxDataType.Float || y.ElementType != OnnxDataType.Float) continue;
                comparers[name].Add(x.AsFloats(), y.AsFloats(), x.Shape);
            }
            samples += (int)batch.Values.First().Shape.FirstOrDefault(1);
        }
        return new ComparisonReport(samples, inputs, names.Where(n => comparers[n].Values > 0).Select(n => comparers[n].Result()).ToList());
    }
}
