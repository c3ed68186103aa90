using Whittle.Evaluation;

namespace Whittle.Tests.Evaluation;

/// <summary>
/// Exact-value tables computed by hand from the confusion matrix; the same numbers come out
/// of scikit-learn 1.2.1's precision_recall_fscore_support(..., labels=range(n),
/// zero_division=0), which was used once as a cross-check (the tests do not need Python).
/// </summary>
public class ClassificationReportTests
{
    // Every value is a ratio of small integers, so only double rounding separates the
    // hand-computed fraction from the computed one.
    private const double Tolerance = 1e-12;

    [Fact]
    public void Three_classes_match_hand_computed_table()
    {
        // labels      0 0 0 0 1 1 1 2 2 2
        // predictions 0 0 1 2 1 1 0 2 2 1
        // matrix [actual, predicted] = [[2,1,1],[1,2,0],[0,1,2]], column sums 3 4 3, support 4 3 3
        // accuracy = 6/10
        // class 0: TP 2 FP 1 FN 2 -> P 2/3, R 2/4, F1 2*2/(4+1+2) = 4/7
        // class 1: TP 2 FP 2 FN 1 -> P 2/4, R 2/3, F1 4/(4+2+1)   = 4/7
        // class 2: TP 2 FP 1 FN 1 -> P 2/3, R 2/3, F1 4/(4+1+1)   = 2/3
        // macro    P (2/3+1/2+2/3)/3 = 11/18, R (1/2+2/3+2/3)/3 = 11/18, F1 (4/7+4/7+2/3)/3 = 38/63
        // weighted P (4*2/3+3*1/2+3*2/3)/10 = 37/60, R (4*1/2+3*2/3+3*2/3)/10 = 6/10,
        //          F1 (4*4/7+3*4/7+3*2/3)/10 = 6/10
        // micro    TP 6, FP 4, FN 4 -> P = R = F1 = 6/10
        var report = ClassificationReport.FromPredictions(
            [0, 0, 0, 0, 1, 1, 1, 2, 2, 2],
            [0, 0, 1, 2, 1, 1, 0, 2, 2, 1],
            classCount: 3);

        Assert.Equal(0.6, report.Accuracy, Tolerance);
        AssertClass(report.Classes[0], 2.0 / 3, 2.0 / 4, 4.0 / 7, 4);
        AssertClass(report.Classes[1], 2.0 / 4, 2.0 / 3, 4.0 / 7, 3);
        AssertClass(report.Classes[2], 2.0 / 3, 2.0 / 3, 2.0 / 3, 3);
        AssertAverage(report.Macro, 11.0 / 18, 11.0 / 18, 38.0 / 63);
        AssertAverage(report.Weighted, 37.0 / 60, 6.0 / 10, 6.0 / 10);
        AssertAverage(report.Micro, 6.0 / 10, 6.0 / 10, 6.0 / 10);
    }

    [Fact]
    public void Class_never_predicted_has_precision_zero_not_NaN()
    {
        // labels      0 0 1 1 2 2
        // predictions 0 0 1 1 1 1      class 2 is never predicted
        // class 0: TP 2 FP 0 FN 0 -> 1, 1, 1
        // class 1: TP 2 FP 2 FN 0 -> P 2/4, R 1, F1 4/(4+2) = 2/3
        // class 2: TP 0 FP 0 FN 2 -> P 0/0 := 0, R 0/2 = 0, F1 0/(0+0+2) = 0
        // macro (supports are equal, so weighted = macro): P 1.5/3 = 1/2, R 2/3, F1 (5/3)/3 = 5/9
        // micro: TP 4 FP 2 FN 2 -> 4/6 = accuracy
        var report = ClassificationReport.FromPredictions([0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 1, 1], 3);

        Assert.Equal(4.0 / 6, report.Accuracy, Tolerance);
        AssertClass(report.Classes[0], 1, 1, 1, 2);
        AssertClass(report.Classes[1], 2.0 / 4, 1, 2.0 / 3, 2);
        AssertClass(report.Classes[2], 0, 0, 0, 2);
        AssertAverage(report.Macro, 1.0 / 2, 2.0 / 3, 5.0 / 9);
        AssertAverage(report.Weighted, 1.0 / 2, 2.0 / 3, 5.0 / 9);
        AssertAverage(report.Micro, 4.0 / 6, 4.0 / 6, 4.0 / 6);
    }

    [Fact]
    public void Class_absent_from_labels_has_recall_zero_and_counts_in_macro()
    {
        // labels      0 0 1 1      (class 2 never occurs as a label)
        // predictions 0 2 1 1
        // class 0: TP 1 FP 0 FN 1 -> P 1, R 1/2, F1 2/(2+0+1) = 2/3
        // class 1: TP 2 FP 0 FN 0 -> 1, 1, 1
        // class 2: TP 0 FP 1 FN 0 -> P 0/1 = 0, R 0/0 := 0, F1 0/(0+1+0) = 0, support 0
        // macro    P (1+1+0)/3 = 2/3, R (1/2+1+0)/3 = 1/2, F1 (2/3+1+0)/3 = 5/9
        // weighted (supports 2,2,0 of 4): P (2+2+0)/4 = 1, R (1+2)/4 = 3/4, F1 (4/3+2)/4 = 5/6
        // micro    TP 3 FP 1 FN 1 -> 3/4
        var report = ClassificationReport.FromPredictions([0, 0, 1, 1], [0, 2, 1, 1], 3);

        Assert.Equal(3.0 / 4, report.Accuracy, Tolerance);
        AssertClass(report.Classes[0], 1, 1.0 / 2, 2.0 / 3, 2);
        AssertClass(report.Classes[1], 1, 1, 1, 2);
        AssertClass(report.Classes[2], 0, 0, 0, 0);
        AssertAverage(report.Macro, 2.0 / 3, 1.0 / 2, 5.0 / 9);
        AssertAverage(report.Weighted, 1, 3.0 / 4, 5.0 / 6);
        AssertAverage(report.Micro, 3.0 / 4, 3.0 / 4, 3.0 / 4);
    }

    [Fact]
    public void Macro_average_runs_over_all_class_count_classes_even_unseen_ones()
    {
        // Class 2 occurs in neither labels nor predictions: its P, R and F1 are all 0 and it
        // still counts, so a perfect classifier on classes 0 and 1 gets macro (1+1+0)/3 = 2/3.
        // (scikit-learn without labels= would drop class 2 and report 1.)
        var report = ClassificationReport.FromPredictions([0, 1], [0, 1], classCount: 3);

        Assert.Equal(1, report.Accuracy, Tolerance);
        AssertClass(report.Classes[2], 0, 0, 0, 0);
        AssertAverage(report.Macro, 2.0 / 3, 2.0 / 3, 2.0 / 3);
        AssertAverage(report.Weighted, 1, 1, 1);
        AssertAverage(report.Micro, 1, 1, 1);
    }

    [Fact]
    public void All_correct_is_one_everywhere()
    {
        var report = ClassificationReport.FromPredictions([2, 0, 1, 1, 0, 2, 2], [2, 0, 1, 1, 0, 2, 2], 3);

        Assert.Equal(1, report.Accuracy);
        foreach (var metrics in report.Classes)
        {
            AssertClass(metrics, 1, 1, 1, metrics.Support);
        }
        Assert.Equal([2, 2, 3], report.Classes.Select(m => m.Support));
        AssertAverage(report.Macro, 1, 1, 1);
        AssertAverage(report.Micro, 1, 1, 1);
        AssertAverage(report.Weighted, 1, 1, 1);
    }

    [Fact]
    public void Binary_case_matches_hand_computed_table()
    {
        // labels      1 1 1 1 0 0 0 0 0 0
        // predictions 1 1 1 0 1 1 0 0 0 0
        // matrix [[4,2],[1,3]], support 6 4, accuracy 7/10
        // class 0: TP 4 FP 1 FN 2 -> P 4/5, R 4/6, F1 8/(8+1+2) = 8/11
        // class 1: TP 3 FP 2 FN 1 -> P 3/5, R 3/4, F1 6/(6+2+1) = 2/3
        // macro    P (4/5+3/5)/2 = 7/10, R (2/3+3/4)/2 = 17/24, F1 (8/11+2/3)/2 = 23/33
        // weighted P (6*4/5+4*3/5)/10 = 18/25, R 7/10, F1 (6*8/11+4*2/3)/10 = 116/165
        var report = ClassificationReport.FromPredictions(
            [1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
            [1, 1, 1, 0, 1, 1, 0, 0, 0, 0],
            classCount: 2);

        Assert.Equal(new[,] { { 4, 2 }, { 1, 3 } }, report.Matrix.ToArray());
        Assert.Equal(7.0 / 10, report.Accuracy, Tolerance);
        AssertClass(report.Classes[0], 4.0 / 5, 4.0 / 6, 8.0 / 11, 6);
        AssertClass(report.Classes[1], 3.0 / 5, 3.0 / 4, 2.0 / 3, 4);
        AssertAverage(report.Macro, 7.0 / 10, 17.0 / 24, 23.0 / 33);
        AssertAverage(report.Weighted, 18.0 / 25, 7.0 / 10, 116.0 / 165);
        AssertAverage(report.Micro, 7.0 / 10, 7.0 / 10, 7.0 / 10);
    }

    [Fact]
    public void All_wrong_gives_zero_not_NaN()
    {
        // Every class has TP 0, so every ratio is 0 whether or not its denominator is.
        var report = ClassificationReport.FromPredictions([0, 0, 1], [1, 1, 0], 3);

        Assert.Equal(0, report.Accuracy);
        Assert.All(report.Classes, m => AssertClass(m, 0, 0, 0, m.Support));
        AssertAverage(report.Macro, 0, 0, 0);
        AssertAverage(report.Micro, 0, 0, 0);
        AssertAverage(report.Weighted, 0, 0, 0);
    }

    [Fact]
    public void Average_selects_by_enum_and_names_come_from_matrix()
    {
        var report = ClassificationReport.FromPredictions([0, 1, 1], [0, 1, 0], 2, ["neg", "pos"]);

        Assert.Equal(report.Macro, report.Average(Averaging.Macro));
        Assert.Equal(report.Micro, report.Average(Averaging.Micro));
        Assert.Equal(report.Weighted, report.Average(Averaging.Weighted));
        Assert.Throws<ArgumentOutOfRangeException>(() => report.Average((Averaging)42));
        Assert.Equal(["neg", "pos"], report.Classes.Select(m => m.Name));
        Assert.Equal([0, 1], report.Classes.Select(m => m.ClassIndex));
    }

    [Fact]
    public void Report_from_counts_equals_report_from_pairs()
    {
        var fromPairs = ClassificationReport.FromPredictions([0, 0, 0, 0, 1, 1, 1, 2, 2, 2], [0, 0, 1, 2, 1, 1, 0, 2, 2, 1], 3);
        var fromCounts = new ClassificationReport(ConfusionMatrix.FromCounts(new[,] { { 2, 1, 1 }, { 1, 2, 0 }, { 0, 1, 2 } }));

        Assert.Equal(fromPairs.Classes, fromCounts.Classes);
        Assert.Equal(fromPairs.Macro, fromCounts.Macro);
        Assert.Equal(fromPairs.Micro, fromCounts.Micro);
        Assert.Equal(fromPairs.Weighted, fromCounts.Weighted);
    }

    private static void AssertClass(ClassMetrics metrics, double precision, double recall, double f1, int support)
    {
        Assert.Equal(precision, metrics.Precision, Tolerance);
        Assert.Equal(recall, metrics.Recall, Tolerance);
        Assert.Equal(f1, metrics.F1, Tolerance);
        Assert.Equal(support, metrics.Support);
    }

    private static void AssertAverage(AveragedMetrics metrics, double precision, double recall, double f1)
    {
        Assert.Equal(precision, metrics.Precision, Tolerance);
        Assert.Equal(recall, metrics.Recall, Tolerance);
        Assert.Equal(f1, metrics.F1, Tolerance);
    }
}
