using Whittle.Onnx;

namespace Whittle.Runtime;

/// <summary>
/// Inputs made up from a model's signature, for verification and timing without data: the one
/// place where Whittle invents inputs. Symbolic dimensions other than the batch (a transformer's
/// sequence) get <see cref="DefaultSequenceLength"/> or the length asked for, so a transformer is
/// verified and timed at the lengths users run rather than at 1. Floats are uniform in [0, 1);
/// integer inputs follow what they are: an attention mask is all ones, token type (segment) ids
/// are zeros, and id inputs (tokens, users, items) are uniform over the rows of the embedding table
/// they index, so a comparison exercises real rows rather than only row 0.
/// </summary>
public static class GeneratedInputs
{
    /// <summary>The length a symbolic non-batch dimension gets by default: 128, a sentence-embedding model's usual sequence.</summary>
    public const int DefaultSequenceLength = 128;

    /// <summary>One batch of generated inputs for every input of <paramref name="session"/>'s model.</summary>
    /// <param name="model">The model (its embedding tables bound the ids).</param>
    /// <param name="session">A session of the same model (its input signatures).</param>
    /// <param name="batchSize">The batch size; a model with a fixed batch dimension must be given that one.</param>
    /// <param name="seed">Seed of the values.</param>
    /// <param name="sequenceLength">The size of every symbolic dimension other than the batch.</param>
    /// <exception cref="InvalidOptionException">The sequence length is below 1.</exception>
    public static Dictionary<string, RuntimeTensor> Create(OnnxModel model, OnnxRuntimeSession session, int batchSize, int seed = 0, int sequenceLength = DefaultSequenceLength)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(session);
        var inputs = session.SampleInputs(batchSize, seed, sequenceLength);
        var rng = new Random(seed);
        foreach (var sig in session.Inputs.Where(i => i.ElementType is OnnxDataType.Int64 or OnnxDataType.Int32))
        {
            var t = inputs[sig.Name];
            long[] values;
            switch (RoleOf(sig.Name))
            {
                case IntegerInputRole.AttentionMask:
                    values = Enumerable.Repeat(1L, t.Length).ToArray();
                    break;
                case IntegerInputRole.TokenType:
                    // Already zeros: one segment, as a single sentence is encoded.
                    continue;
                default:
                    long rows;
                    try { rows = EmbeddingTables.RowsIndexedBy(model, sig.Name); }
                    catch (OnnxException) { continue; }
                    values = Enumerable.Range(0, t.Length).Select(_ => rng.NextInt64(rows)).ToArray();
                    break;
            }
            inputs[sig.Name] = sig.ElementType == OnnxDataType.Int64
                ? RuntimeTensor.FromInt64s(values, t.Shape)
                : RuntimeTensor.FromInt32s(Array.ConvertAll(values, x => (int)x), t.Shape);
        }
        return inputs;
    }

    /// <summary>The batch size generated inputs use: the model's fixed batch, else <paramref name="preferred"/>.</summary>
    public static int BatchSize(OnnxRuntimeSession session, int preferred) =>
        session.Inputs.Select(i => i.FixedBatchSize).FirstOrDefault(b => b is not null) ?? preferred;

    /// <summary>
    /// The shape generated for <paramref name="input"/>: fixed dimensions as declared, a dynamic first
    /// dimension <paramref name="batchSize"/>, every other dynamic one <paramref name="sequenceLength"/>.
    /// </summary>
    /// <exception cref="InvalidOptionException">The sequence length is below 1.</exception>
    public static long[] Shape(TensorSignature input, int batchSize, int sequenceLength = DefaultSequenceLength)
    {
        ArgumentNullException.ThrowIfNull(input);
        OptionChecks.Positive(sequenceLength, "SequenceLength");
        return input.Shape.Select((d, i) => d >= 0 ? d : i == 0 ? batchSize : sequenceLength).ToArray();
    }

    /// <summary>True when some input has a dynamic dimension besides the batch (a sequence), so a length must be chosen for it.</summary>
    public static bool HasSymbolicSequence(OnnxRuntimeSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session.Inputs.Any(i => i.Shape.Skip(1).Any(d => d < 0));
    }

    /// <summary>What an integer input of a transformer is, from the names Hugging Face exports use.</summary>
    internal static IntegerInputRole RoleOf(string name)
    {
        var n = name.ToLowerInvariant();
        if (n.Contains("attention_mask") || n is "mask" or "input_mask") return IntegerInputRole.AttentionMask;
        if (n.Contains("token_type") || n.Contains("segment")) return IntegerInputRole.TokenType;
        return IntegerInputRole.Ids;
    }
}

/// <summary>What an integer model input holds.</summary>
internal enum IntegerInputRole
{
    /// <summary>Ids into an embedding table (tokens, users, items).</summary>
    Ids,

    /// <summary>1 where a token is real, 0 where it is padding.</summary>
    AttentionMask,

    /// <summary>Segment ids (0 for a single sentence).</summary>
    TokenType,
}
