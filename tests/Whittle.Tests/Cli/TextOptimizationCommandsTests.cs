using System.Text.Json;
using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;

namespace Whittle.Tests.Cli;

/// <summary>prune and quantize take a text model with text data, as train and eval do (TextCNN on the bundled fortunes sample).</summary>
[Collection(Whittle.Tests.Training.TorchCollection.Name)]
public sealed class TextOptimizationCommandsTests
{
    private static readonly string MiniFortunes = "fortunes:" + Path.Combine(TestPaths.Data, "fortunes-mini");

    private static JsonElement Json(CliRunner.Result r)
    {
        Assert.True(r.ExitCode == 0, r.Error + r.Output);
        return JsonDocument.Parse(r.Output).RootElement;
    }

    private static string TrainedTextCnn(string dir)
    {
        var created = Path.Combine(dir, "cnn.onnx");
        var trained = Path.Combine(dir, "cnn-trained.onnx");
        Assert.Equal(0, CliRunner.Run("zoo", "create", "textcnn", "-o", created, "--data", MiniFortunes, "--categories", "computers,love,startrek,sports",
            "--max-length", "24", "--min-freq", "1").ExitCode);
        Json(CliRunner.Run("train", created, "--data", MiniFortunes, "--epochs", "2", "--lr", "0.005", "-o", trained, "--json"));
        return trained;
    }

    [Fact]
    public void ATextCnnIsChannelPrunedWithFineTuningAndQuantizedOnFortunes()
    {
        var dir = TestPaths.TempDir();
        var trained = TrainedTextCnn(dir);

        var pruned = Path.Combine(dir, "pruned.onnx");
        var prune = Json(CliRunner.Run("prune", trained, "--method", "channel", "--ratio", "0.5", "--finetune-epochs", "1", "--data", MiniFortunes, "-o", pruned, "--json"));
        Assert.True(prune.GetProperty("parametersAfter").GetInt64() < prune.GetProperty("parametersBefore").GetInt64());
        Assert.Equal(1, prune.GetProperty("fineTuning").GetArrayLength());
        // The vocabulary travels with the model, so eval of the pruned model tokenizes as training did.
        Assert.Equal(Vocabulary.Load(Vocabulary.PathFor(trained)).Tokens, Vocabulary.Load(Vocabulary.PathFor(pruned)).Tokens);
        var eval = Json(CliRunner.Run("eval", pruned, "--data", MiniFortunes, "--json"));
        Assert.Equal(prune.GetProperty("accuracyAfter").GetDouble(), eval.GetProperty("accuracy").GetDouble(), 12);

        var quantized = Path.Combine(dir, "q.onnx");
        var quantize = Json(CliRunner.Run("quantize", trained, "--data", MiniFortunes, "--objective", "size", "-o", quantized, "--json"));
        Assert.True(quantize.GetProperty("bytesAfter").GetInt64() < quantize.GetProperty("bytesBefore").GetInt64());
        Assert.True(quantize.GetProperty("outputs")[0].GetProperty("cosine").GetDouble() > 0.9);
        Assert.Equal(32, quantize.GetProperty("after").GetProperty("samples").GetInt32());
        Assert.True(File.Exists(Vocabulary.PathFor(quantized)));
    }

    [Fact]
    public void RecommenderDataIsRefusedByPruneInOneLine()
    {
        var dir = TestPaths.TempDir();
        var model = Path.Combine(dir, "mf.onnx");
        const string recsys = "synthetic-recsys:users=40,items=30,density=0.1,seed=1";
        Assert.Equal(0, CliRunner.Run("zoo", "create", "mf", "-o", model, "--data", recsys).ExitCode);
        var r = CliRunner.Run("prune", model, "--method", "magnitude", "--sparsity", "0.5", "--data", recsys, "-o", Path.Combine(dir, "p.onnx"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("recommender interaction data is not supported", r.Error);
        Assert.Single(r.Error.Trim().Split('\n'));
    }
}
