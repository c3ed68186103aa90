using Whittle.Data;

namespace Whittle.Tests.Data;

public sealed class RecommenderDataTests
{
    [Fact]
    public void InteractionReaderSkipsAHeaderAndReadsRatingsAndTimestamps()
    {
        using var dir = new TempDirectory();
        var path = dir.WriteText("r.csv", "user,item,rating,timestamp\n0,2,4.5,100\n1,0,3,50\n\n0,1,1,200\n");
        var data = DatasetSpec.Parse("interactions:" + path).OpenInteractions();
        Assert.Equal([new Interaction(0, 2, 4.5f, 100), new Interaction(1, 0, 3f, 50), new Interaction(0, 1, 1f, 200)], data.Interactions);
        Assert.Equal(2, data.UserCount);
        Assert.Equal(3, data.ItemCount);
        Assert.True(data.HasTimestamps);
        Assert.False(data.IsSynthetic);
    }

    [Theory]
    [InlineData("0,1\n-3,2\n", 2, "user id '-3' is not a non-negative integer")]
    [InlineData("0,1\n3,x\n", 2, "item id 'x' is not a non-negative integer")]
    [InlineData("0,1,5\n3\n", 2, "expected user,item[,rating][,timestamp]")]
    [InlineData("0,1,5\n3,4\n", 2, "2 fields where earlier lines have 3")]
    [InlineData("0,1,5,t\n", 1, "timestamp 't' is not an integer")]
    public void AMalformedInteractionLineIsNamed(string content, int line, string problem)
    {
        using var dir = new TempDirectory();
        var path = dir.WriteText("bad.csv", content);
        var e = Assert.Throws<DataFormatException>(() => InteractionReader.Read(path));
        Assert.Equal(line, e.Line);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void AUserIdOutOfTheModelsRangeIsAClearError()
    {
        var data = new InteractionData([new(0, 1), new(57, 2)], 58, 3, "ratings.csv", "interactions");
        var e = Assert.Throws<DataFormatException>(() => data.CheckFits(50, 3, "ncf.onnx"));
        Assert.Equal("ratings.csv: user id 57 is out of range: ncf.onnx has 50 user rows (ids 0..49)", e.Message);
        Assert.Contains("item id 2 is out of range", Assert.Throws<DataFormatException>(() => data.CheckFits(60, 2, "ncf.onnx")).Message);
        data.CheckFits(58, 3, "ncf.onnx");
    }

    [Fact]
    public void LeaveOneOutHoldsOutTheLatestItemOfEveryUserWithTwoOrMore()
    {
        var data = new InteractionData(
        [
            new(0, 1, null, 5), new(0, 2, null, 9), new(0, 3, null, 7),
            new(1, 4, null, 1),
            new(2, 0, null, 3), new(2, 4, null, 3), new(2, 0, null, 1),
        ], 3, 5, "x", "x");
        var (train, test) = InteractionSplit.Split(data);
        // User 0: latest is item 2. User 1 has one item and keeps it. User 2: equal times, the later line (item 4) wins.
        Assert.Equal([new Interaction(0, 2, null, 9), new Interaction(2, 4, null, 3)], test.Interactions);
        Assert.Equal(5, train.Count);
    }

    [Fact]
    public void LeaveOneOutWithoutTimestampsAndRandomSplitsAreFixedBySeed()
    {
        var data = SyntheticRecsys.Generate(new SyntheticRecsysOptions(users: 50, items: 40, density: 0.2));
        var plain = data.WithInteractions(data.Interactions.Select(x => x with { Timestamp = null }).ToArray());
        var (_, a) = InteractionSplit.Split(plain, seed: 1);
        Assert.Equal(50, a.Count);
        Assert.Equal(Enumerable.Range(0, 50), a.Interactions.Select(x => x.User));
        Assert.Equal(a.Interactions, InteractionSplit.Split(plain, seed: 1).Test.Interactions);
        Assert.NotEqual(a.Interactions, InteractionSplit.Split(plain, seed: 2).Test.Interactions);

        var (train, test) = InteractionSplit.Split(data, InteractionSplitKind.Random, seed: 3, testFraction: 0.25);
        Assert.Equal((int)Math.Round(0.25 * data.Count, MidpointRounding.AwayFromZero), test.Count);
        Assert.Equal(data.Count, train.Count + test.Count);
    }

    [Fact]
    public void ImplicitFeedbackPairsEachPositiveWithUnseenNegatives()
    {
        var train = new InteractionData([new(0, 1), new(0, 1), new(0, 3), new(1, 0)], 2, 6, "x", "x");
        var pairs = ImplicitFeedback.TrainingPairs(train, negatives: 3, seed: 9);
        Assert.Equal(3 * 4, pairs.Count); // three distinct positives, each with three negatives
        Assert.Equal(3, pairs.Labels.ToArray().Count(l => l == 1));
        var seen = train.ItemsPerUser();
        for (int i = 0; i < pairs.Count; i++)
        {
            var row = pairs.GetFeatures(i);
            Assert.Equal(pairs.GetLabel(i) == 1, seen[(int)row[0]].Contains((int)row[1]));
        }
        Assert.Equal(pairs.Features.ToArray(), ImplicitFeedback.TrainingPairs(train, 3, seed: 9).Features.ToArray());
    }

    [Fact]
    public void CandidatesPutThePositiveFirstAndDrawDistinctNeverSeenNegatives()
    {
        var data = SyntheticRecsys.Generate(new SyntheticRecsysOptions(users: 30, items: 60, density: 0.1, seed: 4));
        var (_, test) = InteractionSplit.Split(data);
        var candidates = RankingCandidates.Sample(test, data, negatives: 20, seed: 2);
        var seen = data.ItemsPerUser();
        Assert.Equal(test.Count, candidates.Count);
        for (int i = 0; i < candidates.Count; i++)
        {
            var items = candidates.ItemsOf(i);
            Assert.Equal(21, items.Count);
            Assert.Equal(test.Interactions[i].Item, items[0]);
            Assert.Equal(21, items.Distinct().Count());
            Assert.All(items.Skip(1), item => Assert.DoesNotContain(item, seen[candidates.Users[i]]));
        }
        Assert.Equal(candidates.ItemsOf(3), RankingCandidates.Sample(test, data, 20, seed: 2).ItemsOf(3));
        var e = Assert.Throws<DataFormatException>(() => RankingCandidates.Sample(test, data, negatives: 59));
        Assert.Contains("cannot sample 59 negatives", e.Message);
    }

    [Fact]
    public void SyntheticDataIsReproducibleFromItsSeedLabelledSyntheticAndSkewedTowardsPopularItems()
    {
        var options = SyntheticRecsysOptions.Parse("users=200,items=100,density=0.05,skew=1.5,seed=7");
        Assert.Equal("users=200,items=100,density=0.05,factors=8,skew=1.5,seed=7", options.ToString());
        var a = SyntheticRecsys.Generate(options);
        Assert.Equal(a.Interactions, SyntheticRecsys.Generate(options).Interactions);
        Assert.NotEqual(a.Interactions, SyntheticRecsys.Generate(SyntheticRecsysOptions.Parse("users=200,items=100,density=0.05,skew=1.5,seed=8")).Interactions);
        Assert.True(a.IsSynthetic);
        Assert.Contains("synthetic", a.Description);
        Assert.InRange(a.Count, 0.8 * 200 * 5, 1.2 * 200 * 5);
        Assert.All(a.ItemsPerUser(), items => Assert.True(items.Count >= 3));
        var counts = a.CountPerItem().OrderDescending().ToArray();
        Assert.True(counts.Take(10).Sum() > 3 * counts.Skip(90).Sum(), "the ten most popular items should dominate the ten least popular");
    }

    [Theory]
    [InlineData("users=1", "users")]
    [InlineData("colour=red", "unknown setting 'colour'")]
    [InlineData("items=ten", "not an integer")]
    [InlineData("density", "not key=value")]
    public void BadSyntheticSettingsAreClearErrors(string text, string problem)
    {
        Assert.Contains(problem, Assert.Throws<DataFormatException>(() => SyntheticRecsysOptions.Parse(text)).Message);
    }

    [Fact]
    public void SpecsKnowTheirFamilyAndRefuseTheWrongOpener()
    {
        Assert.Equal(DatasetFamily.Text, DatasetSpec.Parse("fortunes").Family);
        Assert.Equal(DatasetFamily.Interactions, DatasetSpec.Parse("synthetic-recsys").Family);
        Assert.Equal(DatasetFamily.Interactions, DatasetSpec.Parse("synthetic-recsys:users=30").Family);
        Assert.Equal(DatasetFamily.Tensors, DatasetSpec.Parse("fashion-mnist-mini").Family);
        Assert.Contains("is text data", Assert.Throws<DataFormatException>(() => DatasetSpec.Parse("fortunes").Open()).Message);
        Assert.Contains("not text", Assert.Throws<DataFormatException>(() => DatasetSpec.Parse("synthetic-recsys").OpenText()).Message);
        Assert.Contains("categories choose fortune files", Assert.Throws<DataFormatException>(() => DatasetSpec.Parse("text-tsv:x.tsv").OpenText(["a"])).Message);
    }
}
