namespace Whittle.Evaluation;

/// <summary>
/// How closely a candidate's sentence embeddings follow a reference's, judged by what embeddings are
/// used for: the cosine of each text's two embeddings, and whether a nearest-neighbour search over
/// the same texts returns the same neighbours.
/// </summary>
/// <param name="Texts">Texts (embeddings) compared.</param>
/// <param name="Pooling">How token states became one embedding per text, e.g. <c>mean over attention_mask</c>.</param>
/// <param name="MeanCosine">Mean over texts of cosine(reference embedding, candidate embedding).</param>
/// <param name="MinCosine">The lowest of those cosines.</param>
/// <param name="K">Neighbours per text in <see cref="NeighbourOverlap"/>.</param>
/// <param name="NeighbourOverlap">
/// Mean over texts of |reference top-K ∩ candidate top-K| / K, each top-K the K texts with the highest
/// cosine to it among the others; null when there are not more than K texts, or the inputs are generated
/// (neighbours among random token ids mean nothing).
/// </param>
public sealed record EmbeddingAgreement(int Texts, string Pooling, double MeanCosine, double MinCosine, int K, double? NeighbourOverlap)
{
    /// <summary>The default number of neighbours compared: 10, as a search page shows.</summary>
    public const int DefaultK = 10;

    /// <summary>
    /// Mean pooling, as sentence-transformers does it: per text, the sum of the token states weighted by
    /// the attention mask, over the sum of the mask (at least 1e-9, so an all-padding text is zeros).
    /// </summary>
    /// <param name="hidden">Token states [batch, sequence, width], row-major.</param>
    /// <param name="mask">The attention mask [batch, sequence] (1 for a token, 0 for padding); empty for all ones.</param>
    /// <param name="batch">Texts in the batch.</param>
    /// <param name="sequence">Positions per text.</param>
    /// <returns>One embedding of <c>width</c> values per text.</returns>
    /// <exception cref="ArgumentException">The sizes do not agree.</exception>
    public static float[][] MeanPool(ReadOnlySpan<float> hidden, ReadOnlySpan<long> mask, int batch, int sequence)
    {
        if (batch < 1 || sequence < 1 || hidden.Length % (batch * sequence) != 0 || hidden.Length == 0)
            throw new ArgumentException($"{hidden.Length} token-state values are not [batch {batch}, sequence {sequence}, width]");
        if (mask.Length != 0 && mask.Length != batch * sequence)
            throw new ArgumentException($"the attention mask has {mask.Length} values; [batch {batch}, sequence {sequence}] needs {batch * sequence}");
        int width = hidden.Length / (batch * sequence);
        var pooled = new float[batch][];
        var sum = new double[width];
        for (int b = 0; b < batch; b++)
        {
            Array.Clear(sum);
            double weight = 0;
            for (int t = 0; t < sequence; t++)
            {
                double w = mask.Length == 0 ? 1 : mask[b * sequence + t];
                if (w == 0) continue;
                weight += w;
                var row = hidden.Slice((b * sequence + t) * width, width);
                for (int j = 0; j < width; j++) sum[j] += w * row[j];
            }
            double denominator = Math.Max(weight, 1e-9);
            pooled[b] = new float[width];
            for (int j = 0; j < width; j++) pooled[b][j] = (float)(sum[j] / denominator);
        }
        return pooled;
    }

    /// <summary>
    /// The K nearest neighbours of every embedding among the others, by cosine (highest first; equal
    /// cosines in index order, so the result is deterministic).
    /// </summary>
    /// <exception cref="ArgumentException">K is not in [1, count − 1].</exception>
    public static int[][] Neighbours(IReadOnlyList<float[]> embeddings, int k)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        int n = embeddings.Count;
        if (k < 1 || k > n - 1) throw new ArgumentException($"K must be in [1, {n - 1}] for {n} embeddings, not {k}");
        var result = new int[n][];
        var cosines = new double[n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) cosines[j] = j == i ? double.NegativeInfinity : OutputComparer.Cosine(embeddings[i], embeddings[j]);
            result[i] = Enumerable.Range(0, n).Where(j => j != i).OrderByDescending(j => cosines[j]).ThenBy(j => j).Take(k).ToArray();
        }
        return result;
    }

    /// <summary>Mean over embeddings of |top-K of the reference ∩ top-K of the candidate| / K (1 when every neighbour is kept).</summary>
    /// <exception cref="ArgumentException">The two sides differ in count, or K is not in [1, count − 1].</exception>
    public static double NeighbourOverlapOf(IReadOnlyList<float[]> reference, IReadOnlyList<float[]> candidate, int k = DefaultK)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(candidate);
        if (reference.Count != candidate.Count) throw new ArgumentException($"{reference.Count} reference embeddings against {candidate.Count} candidate ones");
        var a = Neighbours(reference, k);
        var b = Neighbours(candidate, k);
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (double)a[i].Intersect(b[i]).Count() / k;
        return sum / a.Length;
    }

    /// <summary>Compares two sets of embeddings of the same texts, in the same order.</summary>
    /// <param name="reference">The reference's embeddings (e.g. the float model's).</param>
    /// <param name="candidate">The candidate's.</param>
    /// <param name="pooling">How they were pooled (for reports).</param>
    /// <param name="k">Neighbours per text; the overlap is left out when there are not more than <paramref name="k"/> texts.</param>
    /// <param name="neighbours">False to leave the overlap out (generated inputs).</param>
    /// <exception cref="ArgumentException">No embeddings, or the two sides differ in count or width.</exception>
    public static EmbeddingAgreement Compare(IReadOnlyList<float[]> reference, IReadOnlyList<float[]> candidate, string pooling, int k = DefaultK, bool neighbours = true)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(pooling);
        if (reference.Count == 0) throw new ArgumentException("no embeddings to compare");
        if (reference.Count != candidate.Count) throw new ArgumentException($"{reference.Count} reference embeddings against {candidate.Count} candidate ones");
        if (k < 1) throw new ArgumentException($"K must be at least 1, not {k}");
        double sum = 0, min = double.PositiveInfinity;
        for (int i = 0; i < reference.Count; i++)
        {
            double c = OutputComparer.Cosine(reference[i], candidate[i]);
            sum += c;
            min = Math.Min(min, c);
        }
        double? overlap = neighbours && reference.Count > k ? NeighbourOverlapOf(reference, candidate, k) : null;
        return new EmbeddingAgreement(reference.Count, pooling, sum / reference.Count, min, k, overlap);
    }
}
