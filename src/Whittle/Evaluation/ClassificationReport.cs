namespace Whittle.Evaluation;

/// <summary>How per-class precision, recall and F1 are combined into one number.</summary>
public enum Averaging
{
    /// <summary>
    /// Unweighted mean over all <see cref="ConfusionMatrix.ClassCount"/> classes, including
    /// classes that occur in neither labels nor predictions (they contribute 0).
    /// </summary>
    Macro,

    /// <summary>
    /// Computed from true/false positives and negatives summed over all classes. For
    /// single-label classification over all classes, micro precision = recall = F1 = accuracy.
    /// </summary>
    Micro,

    /// <summary>Mean over all classes weighted by each class's support (number of true samples).</summary>
    Weighted,
}

/// <summary>Precision, recall, F1 and support of one class.</summary>
/// <param name="ClassIndex">Index of the class in <c>[0, ClassCount)</c>.</param>
/// <param name="Name">Display name of the class.</param>
/// <param name="Precision">TP / (TP + FP); 0 when the class is never predicted.</param>
/// <param name="Recall">TP / (TP + FN); 0 when the class is absent from the labels.</param>
/// <param name="F1">2TP / (2TP + FP + FN), the harmonic mean of precision and recall; 0 when both are 0.</param>
/// <param name="Support">Number of samples whose true class is this class.</param>
public readonly record struct ClassMetrics(
    int ClassIndex,
    string Name,
    double Precision,
    double Recall,
    double F1,
    int Support);

/// <summary>Precision, recall and F1 combined over classes by one <see cref="Averaging"/> rule.</summary>
/// <param name="Precision">Averaged precision.</param>
/// <param name="Recall">Averaged recall.</param>
/// <param name="F1">Averaged F1. For macro and weighted averages this is the average of the
/// per-class F1 values, not the harmonic mean of the averaged precision and recall.</param>
public readonly record struct AveragedMetrics(double Precision, double Recall, double F1);

/// <summary>
/// Accuracy and per-class and averaged precision, recall and F1 of a single-label
/// classifier, computed from a <see cref="ConfusionMatrix"/>.
/// </summary>
/// <remarks>
/// <para>
/// Degenerate cases follow scikit-learn's <c>zero_division=0</c>: a class that is never
/// predicted has precision 0, a class absent from the labels has recall 0, and F1 is 0 when
/// precision + recall = 0. No value is ever NaN.
/// </para>
/// <para>
/// Every average runs over all <see cref="ConfusionMatrix.ClassCount"/> classes, so the
/// numbers equal scikit-learn's <c>precision_recall_fscore_support(y_true, y_pred,
/// labels=range(class_count), zero_division=0)</c>. A class that occurs in neither the
/// labels nor the predictions therefore has precision = recall = F1 = 0 and still lowers
/// the macro average. That differs from scikit-learn called without <c>labels</c>, which
/// averages only over the classes that occur; passing the model's full class count is
/// deliberate, so that a model that never predicts a class cannot hide it.
/// </para>
/// </remarks>
public sealed class ClassificationReport
{
    private readonly ClassMetrics[] _classes;

    /// <summary>Computes every metric from <paramref name="matrix"/>.</summary>
    /// <param name="matrix">Counts of (actual, predicted) pairs.</param>
    public ClassificationReport(ConfusionMatrix matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        Matrix = matrix;

        int classCount = matrix.ClassCount;
        _classes = new ClassMetrics[classCount];
        long truePositives = 0, falsePositives = 0, falseNegatives = 0;
        for (int c = 0; c < classCount; c++)
        {
            int tp = matrix.TruePositives(c);
            int fp = matrix.FalsePositives(c);
            int fn = matrix.FalseNegatives(c);
            _classes[c] = new ClassMetrics(
                c,
                matrix.ClassNames[c],
                Precision(tp, fp),
                Recall(tp, fn),
                F1(tp, fp, fn),
                matrix.Support(c));
            truePositives += tp;
            falsePositives += fp;
            falseNegatives += fn;
        }

        Accuracy = (double)matrix.Correct / matrix.Total;
        Macro = new AveragedMetrics(
            _classes.Average(m => m.Precision),
            _classes.Average(m => m.Recall),
            _classes.Average(m => m.F1));
        Micro = new AveragedMetrics(
            Precision(truePositives, falsePositives),
            Recall(truePositives, falseNegatives),
            F1(truePositives, falsePositives, falseNegatives));
        // Total > 0 is guaranteed by ConfusionMatrix, so the weighted mean is always defined.
        double total = matrix.Total;
        Weighted = new AveragedMetrics(
            _classes.Sum(m => m.Precision * m.Support) / total,
            _classes.Sum(m => m.Recall * m.Support) / total,
            _classes.Sum(m => m.F1 * m.Support) / total);
    }

    /// <summary>Counts the pairs and computes every metric in one call.</summary>
    /// <param name="labels">True class index of each sample.</param>
    /// <param name="predictions">Predicted class index of each sample.</param>
    /// <param name="classCount">Number of classes; every average runs over all of them.</param>
    /// <param name="classNames">Optional display names, one per class.</param>
    /// <exception cref="ArgumentException">See <see cref="ConfusionMatrix(ReadOnlySpan{int}, ReadOnlySpan{int}, int, IReadOnlyList{string}?)"/>.</exception>
    public static ClassificationReport FromPredictions(
        ReadOnlySpan<int> labels,
        ReadOnlySpan<int> predictions,
        int classCount,
        IReadOnlyList<string>? classNames = null)
        => new(new ConfusionMatrix(labels, predictions, classCount, classNames));

    /// <summary>The counts the metrics were computed from.</summary>
    public ConfusionMatrix Matrix { get; }

    /// <summary>Fraction of samples predicted correctly, in [0, 1].</summary>
    public double Accuracy { get; }

    /// <summary>Metrics of each class, indexed by class.</summary>
    public IReadOnlyList<ClassMetrics> Classes => _classes;

    /// <summary>Unweighted mean of the per-class metrics over all classes.</summary>
    public AveragedMetrics Macro { get; }

    /// <summary>Metrics of the summed TP/FP/FN counts; each equals <see cref="Accuracy"/> for single-label data.</summary>
    public AveragedMetrics Micro { get; }

    /// <summary>Mean of the per-class metrics weighted by support; weighted recall equals <see cref="Accuracy"/>.</summary>
    public AveragedMetrics Weighted { get; }

    /// <summary>The average selected by <paramref name="averaging"/>.</summary>
    /// <param name="averaging">Which average to return.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="averaging"/> is not a defined value.</exception>
    public AveragedMetrics Average(Averaging averaging) => averaging switch
    {
        Averaging.Macro => Macro,
        Averaging.Micro => Micro,
        Averaging.Weighted => Weighted,
        _ => throw new ArgumentOutOfRangeException(nameof(averaging), averaging, "Unknown averaging."),
    };

    // Zero denominators follow scikit-learn's zero_division=0 rather than producing NaN.
    private static double Precision(long truePositives, long falsePositives)
        => Ratio(truePositives, truePositives + falsePositives);

    private static double Recall(long truePositives, long falseNegatives)
        => Ratio(truePositives, truePositives + falseNegatives);

    // 2TP / (2TP + FP + FN) is the harmonic mean of precision and recall written in counts:
    // one division of integers, and it is 0 exactly when precision + recall = 0.
    private static double F1(long truePositives, long falsePositives, long falseNegatives)
        => Ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives);

    private static double Ratio(long numerator, long denominator)
        => denominator == 0 ? 0.0 : (double)numerator / denominator;
}
