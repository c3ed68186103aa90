using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Zoo;

namespace Whittle.Cli.Commands;

/// <summary>The ranking numbers of one model next to the baselines on the same candidate lists.</summary>
public sealed record RankingJson(string Model, string Data, bool Synthetic, int TrainInteractions, int Lists, int Negatives, int K,
    RankingReport ModelScores, RankingReport Popularity, RankingReport Random, double Seconds);

/// <summary>
/// Loading text and recommender data for the verbs: the task a spec serves, the fixed test split,
/// the vocabulary that belongs to a model, the recommender id-range check, and the ranking
/// evaluation in ONNX Runtime.
/// </summary>
internal static class TaskData
{
    /// <summary>The task of <paramref name="spec"/>'s data, checked against the one asked for.</summary>
    public static TaskChoice ResolveTask(DatasetSpec spec, TaskChoice? requested)
    {
        var natural = spec.Family == DatasetFamily.Interactions ? TaskChoice.Ranking : TaskChoice.Classification;
        if (requested is { } task && task != natural)
            throw new UsageException($"--task {task.ToString().ToLowerInvariant()}: {spec} is {(spec.Family == DatasetFamily.Interactions ? "recommender interaction data, which is ranked" : "labelled data, which is classified")}");
        return natural;
    }

    /// <summary>The text split into the training part and the fixed test part.</summary>
    /// <param name="spec">A text spec.</param>
    /// <param name="settings">Categories, test fraction and split seed.</param>
    /// <param name="modelClasses">For fortunes without --categories: the model's classes (from its vocabulary), so eval needs no repeat of them.</param>
    public static (TextCorpus Train, TextCorpus Test) LoadText(DatasetSpec spec, TaskDataSettings settings, IReadOnlyList<string>? modelClasses = null)
    {
        var categories = settings.Categories ?? (spec.Kind == "fortunes" ? modelClasses : null);
        var corpus = spec.OpenText(categories);
        return corpus.SplitTest(settings.TestFraction, settings.SplitSeed);
    }

    /// <summary>The vocabulary saved next to <paramref name="modelPath"/>, checked against the model's embedding table.</summary>
    public static Vocabulary LoadVocabulary(OnnxModel model, string modelPath)
    {
        var path = Vocabulary.PathFor(modelPath);
        if (!File.Exists(path))
            throw new DataFormatException(path, $"no vocabulary next to {Path.GetFileName(modelPath)}: a text model needs the one it was trained with ('whittle zoo create ... --data' and 'whittle train' write it)");
        var vocabulary = Vocabulary.Load(path);
        vocabulary.CheckEmbeddingRows(EmbeddingTables.RowsIndexedBy(model, model.Graph.Inputs[0].Name), path, modelPath);
        return vocabulary;
    }

    /// <summary>All interactions, and their split into training and test parts (leave-one-out).</summary>
    public static (InteractionData All, InteractionData Train, InteractionData Test) LoadInteractions(DatasetSpec spec, TaskDataSettings settings)
    {
        var all = spec.OpenInteractions();
        var (train, test) = InteractionSplit.Split(all, InteractionSplitKind.LeaveOneOut, settings.SplitSeed);
        return (all, train, test);
    }

    /// <summary>Checks that the model is a user-item scorer whose tables cover every id of the data.</summary>
    public static void CheckRecommender(OnnxModel model, string modelPath, InteractionData data)
    {
        var names = model.Graph.Inputs.Select(i => i.Name).ToArray();
        if (!names.SequenceEqual([RecommenderOptions.UserInputName, RecommenderOptions.ItemInputName]))
            throw new UsageException($"{modelPath}: ranking needs a model with inputs user and item (e.g. 'whittle zoo create ncf'); it takes {string.Join(", ", names)}");
        data.CheckFits(EmbeddingTables.RowsIndexedBy(model, RecommenderOptions.UserInputName),
            EmbeddingTables.RowsIndexedBy(model, RecommenderOptions.ItemInputName), modelPath);
    }

    /// <summary>The model's scores of every candidate in ONNX Runtime, row-major [lists, negatives + 1].</summary>
    public static float[] ScoreCandidates(OnnxModel model, RankingCandidates candidates, int batchSize = 1024, RuntimeOptions? options = null)
    {
        int length = candidates.Negatives + 1;
        var pairs = new float[(long)candidates.Count * length * 2];
        for (int i = 0; i < candidates.Count; i++)
        {
            var items = candidates.ItemsOf(i);
            for (int j = 0; j < length; j++)
            {
                long at = ((long)i * length + j) * 2;
                pairs[at] = candidates.Users[i];
                pairs[at + 1] = items[j];
            }
        }
        using var session = new OnnxRuntimeSession(model, options);
        var scores = session.RunBatches(pairs, [2], batchSize);
        if (scores.Length != candidates.Count * length)
            throw new RuntimeException($"{model.SourcePath ?? model.Graph.Name}: expected one score per (user, item); the output is [{string.Join(",", scores.Shape)}]");
        return scores.AsFloats();
    }

    /// <summary>HR@K, NDCG@K and MRR of the model and of the popularity and random baselines, on the same candidates.</summary>
    public static RankingJson EvaluateRanking(OnnxModel model, string modelPath, InteractionData all, InteractionData train, InteractionData test,
        TaskDataSettings settings, RuntimeOptions? options = null)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var candidates = RankingCandidates.Sample(test, all, settings.Negatives, settings.SplitSeed);
        int length = settings.Negatives + 1;
        var modelReport = RankingMetrics.FromScores(ScoreCandidates(model, candidates, options: options), length, settings.K, settings.SplitSeed);
        var popularity = RankingMetrics.FromScores(RankingBaselines.Popularity(candidates, train), length, settings.K, settings.SplitSeed);
        var random = RankingMetrics.FromScores(RankingBaselines.Random(candidates, settings.SplitSeed), length, settings.K, settings.SplitSeed);
        return new RankingJson(modelPath, all.Description, all.IsSynthetic, train.Count, candidates.Count, settings.Negatives, settings.K,
            modelReport, popularity, random, watch.Elapsed.TotalSeconds);
    }
}
