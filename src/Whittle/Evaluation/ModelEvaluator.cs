using System.Diagnostics;
using Whittle.Data;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Evaluation;

/// <summary>How a model is evaluated in ONNX Runtime. Immutable; validated here.</summary>
public sealed class EvaluationOptions
{
    /// <summary>The options with every default.</summary>
    public static EvaluationOptions Default { get; } = new();

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="batchSize">Samples per inference run (a model with a fixed batch uses its own).</param>
    /// <param name="topK">Classification: also report top-k accuracy for this k (clamped to the class count).</param>
    /// <param name="k">Ranking: the cut-off of HR@K and NDCG@K.</param>
    /// <param name="limit">Evaluate only the first N samples; null for all.</param>
    /// <param name="runtime">ORT settings; null for <see cref="RuntimeOptions.Default"/>.</param>
    /// <exception cref="InvalidOptionException">A value is out of range.</exception>
    public EvaluationOptions(int batchSize = 256, int topK = 5, int k = RankingMetrics.DefaultK, int? limit = null, RuntimeOptions? runtime = null)
    {
        if (batchSize < 1) throw new InvalidOptionException(nameof(BatchSize), $"the batch size must be at least 1, not {batchSize}");
        if (topK < 1) throw new InvalidOptionException(nameof(TopK), $"top-k needs k of at least 1, not {topK}");
        if (k < 1) throw new InvalidOptionException(nameof(K), $"the ranking cut-off must be at least 1, not {k}");
        if (limit is < 1) throw new InvalidOptionException(nameof(Limit), $"the sample limit must be at least 1, not {limit}");
        BatchSize = batchSize;
        TopK = topK;
        K = k;
        Limit = limit;
        Runtime = runtime ?? RuntimeOptions.Default;
    }

    /// <summary>Samples per inference run.</summary>
    public int BatchSize { get; }

    /// <summary>The k of top-k accuracy.</summary>
    public int TopK { get; }

    /// <summary>The cut-off of HR@K and NDCG@K.</summary>
    public int K { get; }

    /// <summary>At most this many samples, or null for all.</summary>
    public int? Limit { get; }

    /// <summary>ORT settings.</summary>
    public RuntimeOptions Runtime { get; }
}

/// <summary>A classifier judged on labelled samples in ONNX Runtime.</summary>
/// <param name="Samples">Samples evaluated.</param>
/// <param name="Accuracy">Share of correct arg-max predictions.</param>
/// <param name="Loss">Mean cross-entropy of the scores taken as logits (NaN for a single-score output).</param>
/// <param name="TopK">The k of <paramref name="TopKAccuracy"/>.</param>
/// <param name="TopKAccuracy">Share of samples whose label is among the k highest scores.</param>
/// <param name="Report">Per-class precision, recall, F1, their averages and the confusion matrix.</param>
/// <param name="Predictions">The predicted class of every sample.</param>
/// <param name="Seconds">Wall time of the inference.</param>
public sealed record ClassifierEvaluation(int Samples, double Accuracy, double Loss, int TopK, double TopKAccuracy, ClassificationReport Report,
    int[] Predictions, double Seconds)
{
    /// <summary>Macro-averaged F1.</summary>
    public double MacroF1 => Report.Macro.F1;
}

/// <summary>A recommender judged by ranking each held-out positive among sampled negatives, next to two baselines on the same candidates.</summary>
/// <param name="TrainInteractions">Interactions of the training part.</param>
/// <param name="Lists">Candidate lists (one per held-out positive).</param>
/// <param name="Negatives">Sampled negatives per list.</param>
/// <param name="Model">HR@K, NDCG@K and MRR of the model.</param>
/// <param name="Popularity">The same for ranking by training popularity.</param>
/// <param name="Random">The same for a random order.</param>
/// <param name="Synthetic">Whether the data is synthetic.</param>
/// <param name="Seconds">Wall time.</param>
public sealed record RankingEvaluation(int TrainInteractions, int Lists, int Negatives, RankingReport Model, RankingReport Popularity, RankingReport Random,
    bool Synthetic, double Seconds);

/// <summary>A model judged on bound data: classification or ranking, on the test split (or the one asked for).</summary>
/// <param name="Task">What was judged.</param>
/// <param name="Data">Says what the data is.</param>
/// <param name="Split">The split evaluated.</param>
/// <param name="Classification">The classification result, for classifiers.</param>
/// <param name="Ranking">The ranking result, for recommenders.</param>
public sealed record ModelEvaluation(ModelTask Task, string Data, DatasetSplit Split, ClassifierEvaluation? Classification, RankingEvaluation? Ranking);

/// <summary>
/// The one judge: every accuracy, F1, loss and ranking number Whittle reports about a model comes
/// from here, measured in ONNX Runtime, the runtime users deploy with.
/// </summary>
public static class ModelEvaluator
{
    /// <summary>Evaluates on bound data: a classifier on the test split (else the training split, or <paramref name="split"/>), a recommender on its held-out positives.</summary>
    /// <param name="model">The model.</param>
    /// <param name="data">Data bound to the model (<see cref="ModelData.Bind(OnnxModel, string, DataOptions?, bool)"/>).</param>
    /// <param name="options">How to evaluate; null for the defaults.</param>
    /// <param name="split">The split of a classifier's data; null for the test split when there is one.</param>
    /// <param name="progress">Receives the samples done.</param>
    /// <exception cref="WhittleException">The data has no labels or no such split, or does not fit the model's outputs.</exception>
    public static ModelEvaluation Evaluate(OnnxModel model, BoundData data, EvaluationOptions? options = null, DatasetSplit? split = null, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        options ??= EvaluationOptions.Default;
        if (data.Task == ModelTask.Embedding)
            throw new DataFormatException($"{data.Spec}: {model.SourcePath ?? model.Graph.Name} is a sentence-embedding model: it has no classes to evaluate; 'whittle quantize --data' compares its pooled embeddings (cosine, nearest neighbours) with another model's");
        if (data.Task == ModelTask.Ranking)
            return new ModelEvaluation(ModelTask.Ranking, data.Description, DatasetSplit.Test, null, Rank(model, data.Interactions!, data.Options, options));
        var chosen = split ?? (data.Test is not null ? DatasetSplit.Test : DatasetSplit.Train);
        var samples = (chosen == DatasetSplit.Test ? data.Test : data.Train)
            ?? throw new DataFormatException($"{data.Spec}: the data has no {chosen.ToString().ToLowerInvariant()} split");
        return new ModelEvaluation(ModelTask.Classification, data.Description, chosen, Classify(model, samples, options, progress), null);
    }

    /// <summary>Accuracy, top-k, precision/recall/F1, confusion and loss of a classifier on labelled samples.</summary>
    /// <param name="model">The classifier: one input (or one [batch] input per feature column), first output scores [batch, classes].</param>
    /// <param name="data">Labelled samples; reshaped to the model's input when the element count matches.</param>
    /// <param name="options">How to evaluate; null for the defaults.</param>
    /// <param name="progress">Receives the samples done.</param>
    /// <exception cref="WhittleException">Unlabelled or empty data, a label the model has no score for, or an output that is not [batch, classes].</exception>
    public static ClassifierEvaluation Classify(OnnxModel model, TensorDataset data, EvaluationOptions? options = null, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        options ??= EvaluationOptions.Default;
        var label = model.SourcePath ?? model.Graph.Name;
        if (!data.HasLabels) throw new DataFormatException($"{label}: the data has no labels, so it cannot be evaluated");
        if (options.Limit is { } limit && data.Count > limit) data = data.Take(limit);
        if (data.Count == 0) throw new DataFormatException($"{label}: the data holds no samples to evaluate");
        using var session = new OnnxRuntimeSession(model, options.Runtime);
        var shape = session.Inputs.Count == 1 ? ModelData.MatchSampleShape(session.Inputs[0], data, label) : data.SampleShape.ToArray();
        int batch = session.Inputs[0].FixedBatchSize ?? options.BatchSize;
        var watch = Stopwatch.StartNew();
        var scores = session.RunBatches(data.Features, shape, batch, progress);
        var seconds = watch.Elapsed.TotalSeconds;
        if (scores.Shape.Length != 2)
            throw new RuntimeException($"{label}: output '{session.Outputs[0].Name}' has shape [{string.Join(",", scores.Shape)}]; a classifier's scores are [batch, classes]");
        int classes = (int)scores.Shape[1];
        var labels = data.Labels.Span;
        int maxLabel = 0;
        foreach (var l in labels) maxLabel = Math.Max(maxLabel, l);
        if (maxLabel >= classes || data.ClassCount > classes)
            throw new DataFormatException($"{label}: the data has labels up to {Math.Max(maxLabel, data.ClassCount - 1)} but the model scores {classes} classes (0..{classes - 1})");
        var logits = scores.AsFloats();
        var predictions = ClassScores.Argmax(logits, classes);
        var names = Enumerable.Range(0, classes).Select(c => c < data.ClassNames.Count ? data.ClassNames[c] : c.ToString()).ToArray();
        var report = ClassificationReport.FromPredictions(labels, predictions, classes, names);
        int k = Math.Min(options.TopK, classes);
        return new ClassifierEvaluation(data.Count, report.Accuracy, classes > 1 ? CrossEntropy(logits, labels, classes) : double.NaN, k,
            ClassScores.TopKAccuracy(logits, classes, labels, k), report, predictions, seconds);
    }

    /// <summary>HR@K, NDCG@K and MRR of a recommender and of the popularity and random baselines, on the same sampled candidates.</summary>
    /// <param name="model">A (user, item) scorer.</param>
    /// <param name="interactions">All interactions and their leave-one-out split.</param>
    /// <param name="data">The candidate protocol (negatives, seed).</param>
    /// <param name="options">How to evaluate; null for the defaults.</param>
    public static RankingEvaluation Rank(OnnxModel model, InteractionSplits interactions, DataOptions data, EvaluationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(interactions);
        ArgumentNullException.ThrowIfNull(data);
        options ??= EvaluationOptions.Default;
        var watch = Stopwatch.StartNew();
        var candidates = RankingCandidates.Sample(interactions.Test, interactions.All, data.Negatives, data.SplitSeed);
        int length = data.Negatives + 1;
        var scores = ScoreCandidates(model, candidates, options);
        return new RankingEvaluation(interactions.Train.Count, candidates.Count, data.Negatives,
            RankingMetrics.FromScores(scores, length, options.K, data.SplitSeed),
            RankingMetrics.FromScores(RankingBaselines.Popularity(candidates, interactions.Train), length, options.K, data.SplitSeed),
            RankingMetrics.FromScores(RankingBaselines.Random(candidates, data.SplitSeed), length, options.K, data.SplitSeed),
            interactions.All.IsSynthetic, watch.Elapsed.TotalSeconds);
    }

    /// <summary>Mean cross-entropy of logits against labels, computed stably (log-sum-exp).</summary>
    public static double CrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int classes)
    {
        double loss = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            var row = logits.Slice(i * classes, classes);
            double max = double.NegativeInfinity;
            foreach (var v in row) max = Math.Max(max, v);
            double sum = 0;
            foreach (var v in row) sum += Math.Exp(v - max);
            loss += max + Math.Log(sum) - row[labels[i]];
        }
        return labels.Length == 0 ? double.NaN : loss / labels.Length;
    }

    /// <summary>The model's score of every candidate, row-major [lists, negatives + 1].</summary>
    private static float[] ScoreCandidates(OnnxModel model, RankingCandidates candidates, EvaluationOptions options)
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
        using var session = new OnnxRuntimeSession(model, options.Runtime);
        var scores = session.RunBatches(pairs, [2], Math.Max(options.BatchSize, 1024));
        if (scores.Length != candidates.Count * length)
            throw new RuntimeException($"{model.SourcePath ?? model.Graph.Name}: expected one score per (user, item); the output is [{string.Join(",", scores.Shape)}]");
        return scores.AsFloats();
    }
}
