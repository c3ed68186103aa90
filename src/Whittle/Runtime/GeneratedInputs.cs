using Whittle.Onnx;

namespace Whittle.Runtime;

/// <summary>
/// Inputs made up from a model's signature, for verification and timing without data: floats
/// uniform in [0, 1); integer id inputs (tokens, users, items) uniform over the rows of the
/// embedding table they index, so a comparison exercises real rows rather than only row 0.
/// Symbolic dimensions other than the batch become 1.
/// </summary>
public static class GeneratedInputs
{
    /// <summary>One batch of generated inputs for every input of <paramref name="session"/>'s model.</summary>
    /// <param name="model">The model (its embedding tables bound the ids).</param>
    /// <param name="session">A session of the same model (its input signatures).</param>
    /// <param name="batchSize">The batch size; a model with a fixed batch dimension must be given that one.</param>
    /// <param name="seed">Seed of the values.</param>
    public static Dictionary<string, RuntimeTensor> Create(OnnxModel model, OnnxRuntimeSession session, int batchSize, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(session);
        var inputs = session.SampleInputs(batchSize, seed);
        var rng = new Random(seed);
        foreach (var sig in session.Inputs.Where(i => i.ElementType is OnnxDataType.Int64 or OnnxDataType.Int32))
        {
            long rows;
            try { rows = EmbeddingTables.RowsIndexedBy(model, sig.Name); }
            catch (OnnxException) { continue; }
            var t = inputs[sig.Name];
            var ids = Enumerable.Range(0, t.Length).Select(_ => rng.NextInt64(rows)).ToArray();
            inputs[sig.Name] = sig.ElementType == OnnxDataType.Int64
                ? RuntimeTensor.FromInt64s(ids, t.Shape)
                : RuntimeTensor.FromInt32s(Array.ConvertAll(ids, x => (int)x), t.Shape);
        }
        return inputs;
    }

    /// <summary>The batch size generated inputs use: the model's fixed batch, else <paramref name="preferred"/>.</summary>
    public static int BatchSize(OnnxRuntimeSession session, int preferred) =>
        session.Inputs.Select(i => i.FixedBatchSize).FirstOrDefault(b => b is not null) ?? preferred;
}
