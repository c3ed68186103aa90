using Whittle.Evaluation;

namespace Whittle.Tests.Evaluation;

public class ConfusionMatrixTests
{
    [Fact]
    public void Counts_are_indexed_actual_then_predicted()
    {
        // labels      0 0 0 0 1 1 1 2 2 2
        // predictions 0 0 1 2 1 1 0 2 2 1
        // row 0: (0,0)x2 (0,1)x1 (0,2)x1; row 1: (1,1)x2 (1,0)x1; row 2: (2,2)x2 (2,1)x1
        var matrix = new ConfusionMatrix(
            [0, 0, 0, 0, 1, 1, 1, 2, 2, 2],
            [0, 0, 1, 2, 1, 1, 0, 2, 2, 1],
            classCount: 3);

        Assert.Equal(new[,] { { 2, 1, 1 }, { 1, 2, 0 }, { 0, 1, 2 } }, matrix.ToArray());
        Assert.Equal(3, matrix.ClassCount);
        Assert.Equal(10, matrix.Total);
        Assert.Equal(6, matrix.Correct);
        Assert.Equal([4, 3, 3], Enumerable.Range(0, 3).Select(matrix.Support));
        Assert.Equal([3, 4, 3], Enumerable.Range(0, 3).Select(matrix.PredictedCount));
        // Class 1: TP = (1,1) = 2; FP = column 1 minus TP = 4 - 2; FN = row 1 minus TP = 3 - 2.
        Assert.Equal(2, matrix.TruePositives(1));
        Assert.Equal(2, matrix.FalsePositives(1));
        Assert.Equal(1, matrix.FalseNegatives(1));
        Assert.Equal(1, matrix[2, 1]);
    }

    [Fact]
    public void Class_names_default_to_indices_and_can_be_given()
    {
        var unnamed = new ConfusionMatrix([0, 1], [0, 1], classCount: 3);
        var named = new ConfusionMatrix([0, 1], [0, 1], classCount: 3, ["cat", "dog", "fox"]);

        Assert.Equal(["0", "1", "2"], unnamed.ClassNames);
        Assert.Equal(["cat", "dog", "fox"], named.ClassNames);
    }

    [Fact]
    public void Classes_absent_from_both_spans_still_get_a_row_and_column()
    {
        var matrix = new ConfusionMatrix([0, 1], [0, 1], classCount: 3);

        Assert.Equal(new[,] { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 0 } }, matrix.ToArray());
        Assert.Equal(0, matrix.Support(2));
    }

    [Fact]
    public void ToArray_returns_a_copy()
    {
        var matrix = new ConfusionMatrix([0], [0], classCount: 1);
        matrix.ToArray()[0, 0] = 99;

        Assert.Equal(1, matrix[0, 0]);
    }

    [Fact]
    public void Different_lengths_are_rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => new ConfusionMatrix([0, 1, 1], [0, 1], 2));

        Assert.Contains("3 labels, 2 predictions", error.Message);
    }

    [Fact]
    public void Empty_input_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => new ConfusionMatrix([], [], 2));
    }

    [Fact]
    public void Out_of_range_label_names_first_bad_index_and_value()
    {
        var error = Assert.Throws<ArgumentException>(() => new ConfusionMatrix([0, 1, 3, 5], [0, 1, 1, 1], 3));

        Assert.Equal("labels", error.ParamName);
        Assert.Contains("labels[2] = 3", error.Message);
        Assert.Contains("[0, 3)", error.Message);
    }

    [Fact]
    public void Negative_prediction_names_first_bad_index_and_value()
    {
        var error = Assert.Throws<ArgumentException>(() => new ConfusionMatrix([0, 1, 1], [0, -1, 1], 2));

        Assert.Equal("predictions", error.ParamName);
        Assert.Contains("predictions[1] = -1", error.Message);
    }

    [Fact]
    public void Class_count_below_one_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConfusionMatrix([0], [0], 0));
    }

    [Fact]
    public void Wrong_number_of_class_names_is_rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => new ConfusionMatrix([0], [0], 2, ["only one"]));

        Assert.Equal("classNames", error.ParamName);
    }

    [Fact]
    public void FromCounts_matches_counting_pairs()
    {
        var counted = new ConfusionMatrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], 2);
        var fromCounts = ConfusionMatrix.FromCounts(new[,] { { 1, 1 }, { 1, 2 } });

        Assert.Equal(counted.ToArray(), fromCounts.ToArray());
        Assert.Equal(counted.Total, fromCounts.Total);
        Assert.Equal(counted.Correct, fromCounts.Correct);
    }

    [Fact]
    public void FromCounts_rejects_non_square_negative_and_all_zero()
    {
        Assert.Throws<ArgumentException>(() => ConfusionMatrix.FromCounts(new int[2, 3]));
        Assert.Throws<ArgumentException>(() => ConfusionMatrix.FromCounts(new int[0, 0]));
        Assert.Throws<ArgumentException>(() => ConfusionMatrix.FromCounts(new int[2, 2]));
        var negative = Assert.Throws<ArgumentException>(() => ConfusionMatrix.FromCounts(new[,] { { 1, -1 }, { 0, 1 } }));
        Assert.Contains("counts[0, 1] = -1", negative.Message);
    }
}
