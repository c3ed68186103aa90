using System.Text.Json;
using Whittle.Data;
using Whittle.Onnx;

namespace Whittle.Tests.Cli;

/// <summary>Text classification and recommender ranking through zoo create, train and eval, on the bundled fortunes sample and small synthetic data.</summary>
[Collection(Whittle.Tests.Training.TorchCollection.Name)]
public sealed class ApplicationCommandsTests
{
    private static readonly string MiniFortunes = "fortunes:" + Path.Combine(TestPaths.Data, "fortunes-mini");
    private const string SmallRecsys = "synthetic-recsys:users=120,items=80,density=0.08,seed=2";

    private static JsonElement Json(CliRunner.Result r)
    {
        Assert.True(r.ExitCode == 0, r.Error + r.Output);
        return JsonDocument.Parse(r.Output).RootElement;
    }

    [Fact]
    public void TextModelTrainsAndEvaluatesWithTheVocabularySavedNextToIt()
    {
        var dir = TestPaths.TempDir();
        var created = Path.Combine(dir, "ft.onnx");
        var trained = Path.Combine(dir, "ft-trained.onnx");
        var zoo = CliRunner.Run("zoo", "create", "fasttext", "-o", created, "--data", MiniFortunes, "--categories", "computers,love,startrek,sports",
            "--max-length", "30", "--min-freq", "1");
        Assert.True(zoo.ExitCode == 0, zoo.Error);
        var vocabulary = Vocabulary.Load(Path.Combine(dir, "ft.vocab.json"));
        Assert.Equal(["computers", "love", "startrek", "sports"], vocabulary.ClassNames);
        Assert.Equal(30, vocabulary.Options.SequenceLength);
        Assert.Equal(vocabulary.Count, OnnxModel.Load(created).Graph.FindInitializer("embedding.weight")!.Dims[0]);

        // No --categories: the model's vocabulary names them.
        var train = Json(CliRunner.Run("train", created, "--data", MiniFortunes, "--epochs", "3", "--lr", "0.01", "-o", trained, "--json"));
        Assert.Equal(32, train.GetProperty("testSamples").GetInt32()); // 20% of 4 x 40
        var run = train.GetProperty("runs")[0];
        Assert.True(File.Exists(Path.Combine(dir, "ft-trained.vocab.json")));
        Assert.Equal(vocabulary.Tokens, Vocabulary.Load(Path.Combine(dir, "ft-trained.vocab.json")).Tokens);

        // eval tokenizes the test texts with the saved vocabulary exactly as train did: the same accuracy and F1 on the same split.
        var eval = Json(CliRunner.Run("eval", trained, "--data", MiniFortunes, "--json"));
        Assert.Equal(32, eval.GetProperty("samples").GetInt32());
        Assert.Equal(run.GetProperty("testAccuracy").GetDouble(), eval.GetProperty("accuracy").GetDouble(), 12);
        Assert.Equal(run.GetProperty("testMacroF1").GetDouble(), eval.GetProperty("macro").GetProperty("f1").GetDouble(), 12);
        Assert.Equal(["computers", "love", "startrek", "sports"], eval.GetProperty("classes").EnumerateArray().Select(c => c.GetProperty("name").GetString()));

        var text = CliRunner.Run("eval", trained, "--data", MiniFortunes);
        Assert.Contains("Per class", text.Output);
        Assert.Contains("startrek", text.Output);
    }

    [Fact]
    public void AVocabularyThatDoesNotMatchTheModelIsRefused()
    {
        var dir = TestPaths.TempDir();
        var model = Path.Combine(dir, "m.onnx");
        Assert.Equal(0, CliRunner.Run("zoo", "create", "fasttext", "-o", model, "--data", MiniFortunes, "--max-length", "20").ExitCode);
        var other = Path.Combine(dir, "other.onnx");
        Assert.Equal(0, CliRunner.Run("zoo", "create", "fasttext", "-o", other, "--data", MiniFortunes, "--max-length", "20", "--min-freq", "1").ExitCode);
        File.Copy(Path.Combine(dir, "other.vocab.json"), Path.Combine(dir, "m.vocab.json"), overwrite: true);
        var r = CliRunner.Run("eval", model, "--data", MiniFortunes);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("m.vocab.json: the vocabulary has", r.Error);
        Assert.Contains("it does not belong to this model", r.Error);

        File.Delete(Path.Combine(dir, "m.vocab.json"));
        var missing = CliRunner.Run("eval", model, "--data", MiniFortunes);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no vocabulary next to m.onnx", missing.Error);
    }

    [Fact]
    public void SeveralSeedsOnTextReportMeanAndStdOfMacroF1()
    {
        var dir = TestPaths.TempDir();
        var model = Path.Combine(dir, "m.onnx");
        Assert.Equal(0, CliRunner.Run("zoo", "create", "fasttext", "-o", model, "--data", MiniFortunes, "--max-length", "20", "--categories", "food,law").ExitCode);
        var json = Json(CliRunner.Run("train", model, "--data", MiniFortunes, "--epochs", "1", "--seeds", "2", "-o", Path.Combine(dir, "t.onnx"), "--json"));
        var f1 = json.GetProperty("stability").GetProperty("testMacroF1");
        Assert.Equal(2, f1.GetProperty("count").GetInt32());
        Assert.True(f1.GetProperty("std").GetDouble() >= 0);
        var text = CliRunner.Run("train", model, "--data", MiniFortunes, "--epochs", "1", "--seeds", "2", "-o", Path.Combine(dir, "t2.onnx"));
        Assert.Contains("testMacroF1", text.Output);
        Assert.Contains(" ± ", text.Output);
    }

    [Fact]
    public void RecommenderTrainsAndIsRankedNextToPopularityAndRandomOnSyntheticData()
    {
        var dir = TestPaths.TempDir();
        var model = Path.Combine(dir, "mf.onnx");
        var zoo = CliRunner.Run("zoo", "create", "mf", "-o", model, "--data", SmallRecsys);
        Assert.True(zoo.ExitCode == 0, zoo.Error);
        Assert.Contains("120 users and 80 items", zoo.Output);
        var trained = Path.Combine(dir, "mf-trained.onnx");
        var train = Json(CliRunner.Run("train", model, "--data", SmallRecsys, "--epochs", "2", "--batch", "256", "--negatives", "50", "-o", trained, "--json"));
        var run = train.GetProperty("runs")[0];
        Assert.InRange(run.GetProperty("testHitRate").GetDouble(), 0, 1);

        var eval = Json(CliRunner.Run("eval", trained, "--data", SmallRecsys, "--negatives", "50", "--k", "5", "--json"));
        Assert.True(eval.GetProperty("synthetic").GetBoolean());
        Assert.Equal(120, eval.GetProperty("lists").GetInt32());
        Assert.Equal(5, eval.GetProperty("k").GetInt32());
        foreach (var ranker in new[] { "modelScores", "popularity", "random" })
            Assert.InRange(eval.GetProperty(ranker).GetProperty("hitRate").GetDouble(), 0, 1);
        // Reproducible from the seeds: the same candidates and the same numbers again.
        var again = Json(CliRunner.Run("eval", trained, "--data", SmallRecsys, "--negatives", "50", "--k", "5", "--json"));
        Assert.Equal(eval.GetProperty("popularity").GetProperty("ndcg").GetDouble(), again.GetProperty("popularity").GetProperty("ndcg").GetDouble());
        Assert.Equal(eval.GetProperty("modelScores").GetProperty("mrr").GetDouble(), again.GetProperty("modelScores").GetProperty("mrr").GetDouble());

        var text = CliRunner.Run("eval", trained, "--data", SmallRecsys, "--negatives", "50");
        Assert.Contains("(synthetic data)", text.Output);
        Assert.Contains("popularity", text.Output);
        Assert.Contains("HR@10", text.Output);
    }

    [Fact]
    public void AUserIdOutOfTheModelsRangeAndAWrongTaskAreClearErrors()
    {
        var dir = TestPaths.TempDir();
        var model = Path.Combine(dir, "ncf.onnx");
        Assert.Equal(0, CliRunner.Run("zoo", "create", "ncf", "-o", model, "--users", "50", "--items", "80").ExitCode);
        var r = CliRunner.Run("eval", model, "--data", SmallRecsys);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("user id 119 is out of range", r.Error);
        Assert.Contains("has 50 user rows", r.Error);

        var task = CliRunner.Run("eval", model, "--data", MiniFortunes, "--task", "ranking");
        Assert.Equal(2, task.ExitCode);
        Assert.Contains("--task ranking", task.Error);
        var kind = CliRunner.Run("zoo", "create", "textcnn", "-o", Path.Combine(dir, "t.onnx"), "--data", SmallRecsys);
        Assert.Equal(2, kind.ExitCode);
    }
}
