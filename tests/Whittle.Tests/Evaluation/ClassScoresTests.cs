using Whittle.Evaluation;

namespace Whittle.Tests.Evaluation;

public class ClassScoresTests
{
    // 4 samples x 3 classes, row-major.
    //   sample 0: [0.1, 0.7, 0.2] label 1 -> rank 0 (nothing outranks 0.7)
    //   sample 1: [0.5, 0.3, 0.2] label 2 -> rank 2 (0.5 and 0.3 outrank 0.2)
    //   sample 2: [0.4, 0.4, 0.2] label 1 -> rank 1 (tie with class 0; the lower index wins)
    //   sample 3: [0.2, 0.3, 0.5] label 0 -> rank 2
    // top-1 hits: sample 0 -> 1/4; top-2 hits: samples 0, 2 -> 2/4; top-3: all -> 1
    // argmax: [1, 0, 0, 2] (sample 2's tie goes to class 0), accuracy vs labels = 1/4
    private static readonly float[] Scores =
    [
        0.1f, 0.7f, 0.2f,
        0.5f, 0.3f, 0.2f,
        0.4f, 0.4f, 0.2f,
        0.2f, 0.3f, 0.5f,
    ];

    private static readonly int[] Labels = [1, 2, 1, 0];

    [Theory]
    [InlineData(1, 0.25)]
    [InlineData(2, 0.5)]
    [InlineData(3, 1.0)]
    public void TopK_accuracy_matches_hand_ranks(int k, double expected)
    {
        Assert.Equal(expected, ClassScores.TopKAccuracy(Scores, 3, Labels, k));
    }

    [Fact]
    public void Argmax_takes_the_first_maximum()
    {
        Assert.Equal([1, 0, 0, 2], ClassScores.Argmax(Scores, 3));
        Assert.Equal(1, ClassScores.Argmax([0f, 2f, 2f, 1f]));
    }

    [Fact]
    public void Top1_accuracy_equals_accuracy_of_argmax_predictions()
    {
        // Random logits with deliberate ties (values rounded to one decimal among 5 classes).
        var random = new Random(1234);
        const int samples = 500, classes = 5;
        float[] scores = Enumerable.Range(0, samples * classes).Select(_ => MathF.Round((float)random.NextDouble(), 1)).ToArray();
        int[] labels = Enumerable.Range(0, samples).Select(_ => random.Next(classes)).ToArray();

        double top1 = ClassScores.TopKAccuracy(scores, classes, labels, k: 1);
        double accuracy = ClassificationReport.FromPredictions(labels, ClassScores.Argmax(scores, classes), classes).Accuracy;

        Assert.Equal(accuracy, top1);
    }

    [Fact]
    public void TopK_accuracy_never_decreases_with_k()
    {
        var random = new Random(99);
        const int samples = 200, classes = 6;
        float[] scores = Enumerable.Range(0, samples * classes).Select(_ => (float)random.Next(4)).ToArray();
        int[] labels = Enumerable.Range(0, samples).Select(_ => random.Next(classes)).ToArray();

        double[] byK = Enumerable.Range(1, classes).Select(k => ClassScores.TopKAccuracy(scores, classes, labels, k)).ToArray();

        for (int k = 1; k < classes; k++)
        {
            Assert.True(byK[k] >= byK[k - 1], $"top-{k + 1} {byK[k]} < top-{k} {byK[k - 1]}");
        }
        Assert.Equal(1.0, byK[^1]);
    }

    [Fact]
    public void Ties_rank_lower_class_index_first()
    {
        float[] row = [0.5f, 0.5f, 0.1f];

        Assert.True(ClassScores.IsInTopK(row, label: 0, k: 1));
        Assert.False(ClassScores.IsInTopK(row, label: 1, k: 1));
        Assert.True(ClassScores.IsInTopK(row, label: 1, k: 2));
        Assert.False(ClassScores.IsInTopK(row, label: 2, k: 2));
    }

    [Fact]
    public void NaN_ranks_below_every_number()
    {
        // NaN is never credited: below even negative infinity; all-NaN ties fall to index order.
        Assert.Equal(2, ClassScores.Argmax([float.NaN, 0.1f, 0.2f]));
        Assert.Equal(1, ClassScores.Argmax([float.NaN, float.NegativeInfinity]));
        Assert.Equal(0, ClassScores.Argmax([float.NaN, float.NaN]));
        Assert.False(ClassScores.IsInTopK([float.NaN, float.NegativeInfinity], label: 0, k: 1));
        Assert.True(ClassScores.IsInTopK([float.NaN, float.NaN], label: 0, k: 1));
    }

    [Fact]
    public void Negative_and_positive_zero_tie()
    {
        Assert.Equal(0, ClassScores.Argmax([-0f, 0f]));
    }

    [Fact]
    public void Bad_shapes_labels_and_k_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => ClassScores.TopKAccuracy([1f, 2f, 3f], 2, [0], 1));
        Assert.Throws<ArgumentException>(() => ClassScores.TopKAccuracy([1f, 2f, 3f, 4f], 2, [0], 1));
        Assert.Throws<ArgumentException>(() => ClassScores.TopKAccuracy([], 2, [], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassScores.TopKAccuracy([1f, 2f], 2, [0], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassScores.TopKAccuracy([1f, 2f], 2, [0], 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassScores.Argmax([1f, 2f], 0));
        Assert.Throws<ArgumentException>(() => ClassScores.Argmax(ReadOnlySpan<float>.Empty));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassScores.IsInTopK([1f, 2f], label: 2, k: 1));

        var badLabel = Assert.Throws<ArgumentException>(() => ClassScores.TopKAccuracy([1f, 2f, 3f, 4f], 2, [1, 7], 1));
        Assert.Contains("labels[1] = 7", badLabel.Message);
    }
}
