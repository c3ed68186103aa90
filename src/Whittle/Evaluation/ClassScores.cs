namespace Whittle.Evaluation;

/// <summary>
/// Predictions and top-k accuracy from per-class scores (logits or probabilities) laid out
/// row-major as <c>[sampleCount, classCount]</c>: sample <c>i</c>'s scores are
/// <c>scores[(i * classCount)..((i + 1) * classCount)]</c>.
/// </summary>
/// <remarks>
/// <para>
/// Ranking is a strict total order, so results never depend on sort stability:
/// a higher score ranks first; equal scores rank the lower class index first; NaN ranks
/// below every number, including negative infinity (so a model that emits NaN is never
/// credited for it). <see cref="Argmax(ReadOnlySpan{float})"/> returns the class ranked first,
/// which makes top-1 accuracy equal to the accuracy of <see cref="Argmax(ReadOnlySpan{float}, int)"/>.
/// </para>
/// <para>
/// Ties are the case to watch: with scores <c>[0.5, 0.5, 0.1]</c> and true class 1, class 0
/// outranks class 1, so the sample is wrong at k = 1 and right at k = 2. This matches
/// NumPy's <c>argmax</c> (first maximum) for top-1.
/// </para>
/// </remarks>
public static class ClassScores
{
    /// <summary>Index of the highest score in one row; the lowest such index on ties.</summary>
    /// <param name="row">Scores of one sample, one per class.</param>
    /// <exception cref="ArgumentException"><paramref name="row"/> is empty.</exception>
    public static int Argmax(ReadOnlySpan<float> row)
    {
        if (row.IsEmpty)
        {
            throw new ArgumentException("A score row must hold at least one class.", nameof(row));
        }
        int best = 0;
        for (int c = 1; c < row.Length; c++)
        {
            // Strictly greater keeps the lower index on ties.
            if (CompareScores(row[c], row[best]) > 0)
            {
                best = c;
            }
        }
        return best;
    }

    /// <summary>Predicted class of every sample: the row-wise <see cref="Argmax(ReadOnlySpan{float})"/>.</summary>
    /// <param name="scores">Row-major scores, <c>[sampleCount, classCount]</c>.</param>
    /// <param name="classCount">Number of classes (row length).</param>
    /// <returns>One class index per sample.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="classCount"/> is less than 1.</exception>
    /// <exception cref="ArgumentException"><paramref name="scores"/> is empty or its length is not a multiple of <paramref name="classCount"/>.</exception>
    public static int[] Argmax(ReadOnlySpan<float> scores, int classCount)
    {
        int sampleCount = SampleCount(scores, classCount);
        var predictions = new int[sampleCount];
        for (int i = 0; i < sampleCount; i++)
        {
            predictions[i] = Argmax(scores.Slice(i * classCount, classCount));
        }
        return predictions;
    }

    /// <summary>
    /// Whether <paramref name="label"/> is among the <paramref name="k"/> highest-ranked
    /// classes of one row: fewer than <paramref name="k"/> classes outrank it.
    /// </summary>
    /// <param name="row">Scores of one sample, one per class.</param>
    /// <param name="label">True class index in <c>[0, row.Length)</c>.</param>
    /// <param name="k">How many top classes count as a hit, in <c>[1, row.Length]</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="label"/> or <paramref name="k"/> is out of range.</exception>
    public static bool IsInTopK(ReadOnlySpan<float> row, int label, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(label);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(label, row.Length);
        ThrowIfKOutOfRange(k, row.Length);
        return RankOf(row, label) < k;
    }

    /// <summary>
    /// Fraction of samples whose true class is among the <paramref name="k"/> highest-ranked
    /// classes (scikit-learn's <c>top_k_accuracy_score</c>, with the tie rule in the class remarks).
    /// </summary>
    /// <param name="scores">Row-major scores, <c>[labels.Length, classCount]</c>.</param>
    /// <param name="classCount">Number of classes (row length).</param>
    /// <param name="labels">True class index of each sample, in <c>[0, classCount)</c>.</param>
    /// <param name="k">How many top classes count as a hit, in <c>[1, classCount]</c>.</param>
    /// <returns>A value in [0, 1]; for k = 1 it equals the accuracy of <see cref="Argmax(ReadOnlySpan{float}, int)"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="classCount"/> is less than 1 or <paramref name="k"/> is outside <c>[1, classCount]</c>.</exception>
    /// <exception cref="ArgumentException">The shapes disagree, the input is empty, or a label is
    /// outside <c>[0, classCount)</c> (the message names the first such index and value).</exception>
    public static double TopKAccuracy(ReadOnlySpan<float> scores, int classCount, ReadOnlySpan<int> labels, int k)
    {
        int sampleCount = SampleCount(scores, classCount);
        ThrowIfKOutOfRange(k, classCount);
        if (labels.Length != sampleCount)
        {
            throw new ArgumentException(
                $"scores hold {sampleCount} samples of {classCount} classes but there are {labels.Length} labels.",
                nameof(labels));
        }

        int hits = 0;
        for (int i = 0; i < sampleCount; i++)
        {
            int label = labels[i];
            if ((uint)label >= (uint)classCount)
            {
                throw new ArgumentException(
                    $"labels[{i}] = {label} is outside the class range [0, {classCount}).", nameof(labels));
            }
            if (RankOf(scores.Slice(i * classCount, classCount), label) < k)
            {
                hits++;
            }
        }
        return (double)hits / sampleCount;
    }

    // Zero-based rank of a class: how many classes outrank it. Counting avoids sorting and
    // is O(classCount) per sample.
    private static int RankOf(ReadOnlySpan<float> row, int classIndex)
    {
        float score = row[classIndex];
        int rank = 0;
        for (int c = 0; c < row.Length; c++)
        {
            int comparison = CompareScores(row[c], score);
            if (comparison > 0 || (comparison == 0 && c < classIndex))
            {
                rank++;
            }
        }
        return rank;
    }

    // float.CompareTo is a total order that puts NaN below every number (NaN equals NaN) and
    // treats -0 and +0 as equal, which is exactly the ranking documented on the class.
    private static int CompareScores(float a, float b) => a.CompareTo(b);

    private static int SampleCount(ReadOnlySpan<float> scores, int classCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        if (scores.IsEmpty)
        {
            throw new ArgumentException("scores are empty: there is no sample.", nameof(scores));
        }
        if (scores.Length % classCount != 0)
        {
            throw new ArgumentException(
                $"scores hold {scores.Length} values, not a multiple of {classCount} classes.", nameof(scores));
        }
        return scores.Length / classCount;
    }

    private static void ThrowIfKOutOfRange(int k, int classCount)
    {
        if (k < 1 || k > classCount)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {classCount}], the number of classes.");
        }
    }
}
