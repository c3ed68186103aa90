using System.Globalization;

namespace Whittle.Evaluation;

/// <summary>
/// Counts of single-label classification outcomes: <c>this[actual, predicted]</c> is the
/// number of samples whose true class is <c>actual</c> and whose predicted class is
/// <c>predicted</c>. Rows are true classes, columns are predicted classes (scikit-learn's
/// <c>confusion_matrix</c> layout). Immutable once built.
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly int[,] _counts;
    private readonly int[] _support;
    private readonly int[] _predictedCount;

    /// <summary>
    /// Counts every (label, prediction) pair. Both spans hold class indices in
    /// <c>[0, classCount)</c>, one entry per sample, in the same sample order.
    /// </summary>
    /// <param name="labels">True class index of each sample.</param>
    /// <param name="predictions">Predicted class index of each sample.</param>
    /// <param name="classCount">Number of classes; fixes the matrix size even when some
    /// classes occur in neither span.</param>
    /// <param name="classNames">Optional display names, one per class; when omitted each
    /// class is named by its index ("0", "1", ...).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="classCount"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">The spans are empty or differ in length, an entry is
    /// outside <c>[0, classCount)</c> (the message names the first such index and value), or
    /// <paramref name="classNames"/> does not have <paramref name="classCount"/> entries.</exception>
    public ConfusionMatrix(
        ReadOnlySpan<int> labels,
        ReadOnlySpan<int> predictions,
        int classCount,
        IReadOnlyList<string>? classNames = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        if (labels.Length != predictions.Length)
        {
            throw new ArgumentException(
                $"labels and predictions differ in length: {labels.Length} labels, {predictions.Length} predictions.",
                nameof(predictions));
        }
        if (labels.IsEmpty)
        {
            throw new ArgumentException("labels and predictions are empty: there is nothing to count.", nameof(labels));
        }
        ThrowIfOutOfRange(labels, classCount, nameof(labels));
        ThrowIfOutOfRange(predictions, classCount, nameof(predictions));

        var counts = new int[classCount, classCount];
        for (int i = 0; i < labels.Length; i++)
        {
            counts[labels[i], predictions[i]]++;
        }

        _counts = counts;
        ClassNames = ResolveClassNames(classNames, classCount);
        (_support, _predictedCount, Total, Correct) = Summarize(counts);
    }

    private ConfusionMatrix(int[,] counts, IReadOnlyList<string> classNames)
    {
        _counts = counts;
        ClassNames = classNames;
        (_support, _predictedCount, Total, Correct) = Summarize(counts);
    }

    /// <summary>
    /// Builds a matrix from counts that were already tallied, e.g. the element-wise sum of
    /// matrices from several evaluation shards. The array is copied.
    /// </summary>
    /// <param name="counts">Square array, <c>counts[actual, predicted]</c>; all entries
    /// non-negative and at least one positive.</param>
    /// <param name="classNames">Optional display names, one per class.</param>
    /// <exception cref="ArgumentException">The array is not square, is empty, holds a
    /// negative count, sums to zero, or <paramref name="classNames"/> has the wrong length.</exception>
    public static ConfusionMatrix FromCounts(int[,] counts, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(counts);
        int classCount = counts.GetLength(0);
        if (classCount == 0 || counts.GetLength(1) != classCount)
        {
            throw new ArgumentException(
                $"counts must be a non-empty square array; it is {counts.GetLength(0)} x {counts.GetLength(1)}.",
                nameof(counts));
        }
        long total = 0;
        for (int actual = 0; actual < classCount; actual++)
        {
            for (int predicted = 0; predicted < classCount; predicted++)
            {
                int count = counts[actual, predicted];
                if (count < 0)
                {
                    throw new ArgumentException(
                        $"counts[{actual}, {predicted}] = {count} is negative.", nameof(counts));
                }
                total += count;
            }
        }
        if (total == 0)
        {
            throw new ArgumentException("counts are all zero: there is no sample to evaluate.", nameof(counts));
        }
        if (total > int.MaxValue)
        {
            throw new ArgumentException($"counts sum to {total}, more than {int.MaxValue} samples.", nameof(counts));
        }
        return new ConfusionMatrix((int[,])counts.Clone(), ResolveClassNames(classNames, classCount));
    }

    /// <summary>Number of classes; the matrix is <c>ClassCount x ClassCount</c>.</summary>
    public int ClassCount => _counts.GetLength(0);

    /// <summary>Display name of each class, indexed by class; the index as text when no names were given.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Number of samples counted.</summary>
    public int Total { get; }

    /// <summary>Number of samples whose prediction equals the label (the diagonal's sum).</summary>
    public int Correct { get; }

    /// <summary>Number of samples with true class <paramref name="actual"/> and predicted class <paramref name="predicted"/>.</summary>
    /// <param name="actual">True class index (row).</param>
    /// <param name="predicted">Predicted class index (column).</param>
    public int this[int actual, int predicted] => _counts[actual, predicted];

    /// <summary>Number of samples whose true class is <paramref name="classIndex"/> (the row sum).</summary>
    /// <param name="classIndex">Class index in <c>[0, ClassCount)</c>.</param>
    public int Support(int classIndex) => _support[classIndex];

    /// <summary>Number of samples predicted as <paramref name="classIndex"/> (the column sum).</summary>
    /// <param name="classIndex">Class index in <c>[0, ClassCount)</c>.</param>
    public int PredictedCount(int classIndex) => _predictedCount[classIndex];

    /// <summary>Samples of class <paramref name="classIndex"/> predicted as that class.</summary>
    /// <param name="classIndex">Class index in <c>[0, ClassCount)</c>.</param>
    public int TruePositives(int classIndex) => _counts[classIndex, classIndex];

    /// <summary>Samples of other classes predicted as <paramref name="classIndex"/>.</summary>
    /// <param name="classIndex">Class index in <c>[0, ClassCount)</c>.</param>
    public int FalsePositives(int classIndex) => _predictedCount[classIndex] - _counts[classIndex, classIndex];

    /// <summary>Samples of class <paramref name="classIndex"/> predicted as another class.</summary>
    /// <param name="classIndex">Class index in <c>[0, ClassCount)</c>.</param>
    public int FalseNegatives(int classIndex) => _support[classIndex] - _counts[classIndex, classIndex];

    /// <summary>A copy of the counts, <c>[actual, predicted]</c>.</summary>
    public int[,] ToArray() => (int[,])_counts.Clone();

    private static void ThrowIfOutOfRange(ReadOnlySpan<int> classIndices, int classCount, string paramName)
    {
        for (int i = 0; i < classIndices.Length; i++)
        {
            int value = classIndices[i];
            if ((uint)value >= (uint)classCount)
            {
                throw new ArgumentException(
                    $"{paramName}[{i}] = {value} is outside the class range [0, {classCount}).", paramName);
            }
        }
    }

    private static IReadOnlyList<string> ResolveClassNames(IReadOnlyList<string>? classNames, int classCount)
    {
        if (classNames is null)
        {
            return Enumerable.Range(0, classCount)
                .Select(index => index.ToString(CultureInfo.InvariantCulture))
                .ToArray();
        }
        if (classNames.Count != classCount)
        {
            throw new ArgumentException(
                $"classNames has {classNames.Count} entries but there are {classCount} classes.", nameof(classNames));
        }
        return classNames.ToArray();
    }

    private static (int[] Support, int[] PredictedCount, int Total, int Correct) Summarize(int[,] counts)
    {
        int classCount = counts.GetLength(0);
        var support = new int[classCount];
        var predictedCount = new int[classCount];
        int total = 0;
        int correct = 0;
        for (int actual = 0; actual < classCount; actual++)
        {
            for (int predicted = 0; predicted < classCount; predicted++)
            {
                int count = counts[actual, predicted];
                support[actual] += count;
                predictedCount[predicted] += count;
                total += count;
            }
            correct += counts[actual, actual];
        }
        return (support, predictedCount, total, correct);
    }
}
