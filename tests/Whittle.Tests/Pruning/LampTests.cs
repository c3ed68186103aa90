using Whittle.Pruning;

namespace Whittle.Tests.Pruning;

/// <summary>LAMP scores and global LAMP masks by hand (Lee et al. 2021, eq. 2).</summary>
public class LampTests
{
    [Fact]
    public void ScoresAreEachSquareOverTheSquaresOfItselfAndEveryLargerWeight()
    {
        // Ascending |w|: 0, 1, 2, 3 (squares 0, 1, 4, 9; suffix sums 14, 14, 13, 9).
        var scores = Sparsity.LampScores([1f, -3f, 2f, 0f]);
        Assert.Equal(1.0 / 14, scores[0], 12);
        Assert.Equal(1.0, scores[1], 12);
        Assert.Equal(4.0 / 13, scores[2], 12);
        Assert.Equal(0.0, scores[3], 12);
        // Ties by position: the earlier weight ranks lower. |w| = 2, 2: 4/8 then 4/4.
        Assert.Equal(new[] { 0.5, 1.0 }, Sparsity.LampScores([2f, -2f]));
        // A tensor of zeros: its last ranked weight scores 1, the rest 0.
        Assert.Equal(new[] { 0.0, 0.0, 1.0 }, Sparsity.LampScores([0f, 0f, 0f]));
    }

    [Fact]
    public void ScoresDoNotDependOnTheLayersScale()
    {
        // Folding a BatchNorm rescales a layer; LAMP ranks its weights the same.
        var w = new[] { 0.3f, -1.2f, 0.05f, 2f, -0.7f };
        var scaled = w.Select(x => x * 40f).ToArray();
        var a = Sparsity.LampScores(w);
        var b = Sparsity.LampScores(scaled);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 6); // float32 products of the scaled weights
    }

    [Fact]
    public void GlobalLampKeepsEveryLayerWhereGlobalMagnitudeEmptiesTheSmallOne()
    {
        var tensors = new List<float[]> { new[] { 1f, -3f, 2f, 0f }, new[] { 0.1f, 0.2f } };
        // Scores A: 1/14, 1, 4/13, 0; B: 0.01/0.05 = 0.2, 1. Removing 3 of 6: A[3], A[0], B[0].
        var lamp = Sparsity.GlobalLampMasks(tensors, 0.5);
        Assert.Equal(new[] { false, true, true, false }, lamp[0]);
        Assert.Equal(new[] { false, true }, lamp[1]);
        // Raw magnitude removes A[3], B[0], B[1]: layer B is gone.
        var magnitude = Sparsity.GlobalMagnitudeMasks(tensors, 0.5);
        Assert.Equal(new[] { false, false }, magnitude[1]);
        // Caps still hold: B may lose nothing, so the third weight comes from A (A[2], score 4/13).
        var capped = Sparsity.GlobalLampMasks(tensors, 0.5, [1.0, 0.0]);
        Assert.Equal(new[] { false, true, false, false }, capped[0]);
        Assert.Equal(new[] { true, true }, capped[1]);
    }

    [Fact]
    public void AtAnySparsityBelowOneEveryLayerKeepsItsLargestWeight()
    {
        var random = new Random(3);
        var tensors = Enumerable.Range(0, 5).Select(i => Enumerable.Range(0, 50 + 30 * i).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(10, i - 2))).ToArray()).ToList();
        int total = tensors.Sum(t => t.Length);
        var masks = Sparsity.GlobalLampMasks(tensors, (total - tensors.Count) / (double)total);
        for (int t = 0; t < tensors.Count; t++)
        {
            int largest = Array.IndexOf(tensors[t], tensors[t].MaxBy(Math.Abs));
            Assert.True(masks[t][largest]);
        }
    }
}
