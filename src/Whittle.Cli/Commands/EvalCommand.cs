using System.CommandLine;
using Spectre.Console;
using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Cli.Commands;

/// <summary>
/// <c>whittle eval MODEL --data DATASET</c>: classification quality of a model in ONNX Runtime
/// (images, features, or text through the vocabulary saved next to the model), or, for
/// recommender data, HR@K/NDCG@K/MRR next to the popularity and random baselines.
/// </summary>
internal static class EvalCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<FileInfo>("MODEL") { Description = "The .onnx classifier (one input; first output = scores per class)" };
        var dataArgs = new DataArguments("fashion-mnist");
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N samples" };
        var split = new Option<DatasetSplit?>("--split") { Description = "Which split: test (default when the data has one) or train" };
        var batch = new Option<int>("--batch", "-b") { Description = "Batch size for inference", DefaultValueFactory = _ => 256 };
        var topK = new Option<int>("--top-k") { Description = "Also report top-k accuracy for this k", DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads", "-t") { Description = "Intra-op threads (0 = one per core)", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var taskArgs = new TaskDataArguments();
        var cmd = new Command("eval", "Accuracy, top-k, precision/recall/F1 (per class, macro, micro, weighted) and the confusion matrix of a classifier in ONNX Runtime; HR@K, NDCG@K and MRR of a recommender next to popularity and random baselines")
        {
            model, limit, split, batch, topK, threads, json,
        };
        dataArgs.AddTo(cmd);
        taskArgs.AddTo(cmd);
        cmd.SetAction(parse => Execute(console, new EvalRequest(parse.GetRequiredValue(model), parse.GetValue(dataArgs.Data)!, parse.GetValue(dataArgs.Normalize),
            parse.GetValue(dataArgs.Scale), parse.GetValue(limit), parse.GetValue(split), parse.GetValue(batch), parse.GetValue(topK),
            parse.GetValue(threads), taskArgs.Read(parse)), parse.GetValue(json)));
        return cmd;
    }

    internal sealed record EvalRequest(FileInfo Model, string Data, string? Normalize, float? Scale, int? Limit, DatasetSplit? Split,
        int Batch, int TopK, int Threads, TaskDataSettings Task);

    public sealed record ClassJson(int Class, string Name, double Precision, double Recall, double F1, int Support);

    public sealed record EvalJson(string Model, string Data, string DataOrigin, string Split, int Samples, double Accuracy,
        int TopK, double TopKAccuracy, AveragedMetrics Macro, AveragedMetrics Micro, AveragedMetrics Weighted,
        IReadOnlyList<ClassJson> Classes, int[][] ConfusionMatrix, int[] Predictions, double Seconds);

    private static int Execute(CliConsole console, EvalRequest request, bool json)
    {
        if (request.Batch < 1) throw new UsageException("--batch must be at least 1");
        if (request.Limit is < 1) throw new UsageException("--limit must be at least 1");
        var spec = DatasetSpec.Parse(request.Data);
        if (TaskData.ResolveTask(spec, request.Task.Task) == TaskChoice.Ranking)
        {
            var ranking = EvaluateRanking(request, spec);
            if (json) JsonOutput.Write(console, ranking);
            else PrintRanking(console.Out, ranking);
            return WhittleCli.Ok;
        }
        var result = Evaluate(console, request);
        if (json)
        {
            JsonOutput.Write(console, result);
            return WhittleCli.Ok;
        }
        Print(console.Out, result);
        return WhittleCli.Ok;
    }

    internal static EvalJson Evaluate(CliConsole console, EvalRequest request)
    {
        var model = OnnxModel.Load(request.Model.FullName);
        var loaded = DatasetSpec.Parse(request.Data).Family == DatasetFamily.Text
            ? LoadText(model, request)
            : DataArguments.Load(request.Data, request.Split, request.Normalize, request.Scale);
        var split = loaded.Split;
        var dataset = loaded.Dataset;
        if (!dataset.HasLabels) throw new DataFormatException($"{loaded.Location}: the data has no labels, so it cannot be evaluated");
        if (request.Limit is { } limit) dataset = dataset.Take(limit);

        using var session = new OnnxRuntimeSession(model, RuntimeOptions.Default with { IntraOpThreads = request.Threads });
        if (session.Inputs.Count != 1)
            throw new RuntimeException($"{request.Model.FullName}: eval needs a model with one input; it takes {string.Join(", ", session.Inputs)}");
        var input = session.Inputs[0];
        var sampleShape = MatchSampleShape(input, dataset, request.Model.FullName);
        int batch = input.FixedBatchSize ?? request.Batch;

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var scores = console.WithProgress($"eval {dataset.Count:N0} samples", dataset.Count,
            p => session.RunBatches(dataset.Features, sampleShape, batch, new SyncProgress<int>(n => p.Report(n))));
        var seconds = watch.Elapsed.TotalSeconds;
        if (scores.Shape.Length != 2)
            throw new RuntimeException($"{request.Model.FullName}: output '{session.Outputs[0].Name}' has shape [{string.Join(",", scores.Shape)}]; eval needs scores [batch, classes]");
        int classes = (int)scores.Shape[1];
        if (dataset.ClassCount > classes)
            throw new DataFormatException($"{loaded.Location}: the data has {dataset.ClassCount} classes but the model outputs {classes} scores");
        var logits = scores.AsFloats();
        var predictions = ClassScores.Argmax(logits, classes);
        var labels = dataset.Labels.ToArray();
        var names = Enumerable.Range(0, classes).Select(c => c < dataset.ClassNames.Count ? dataset.ClassNames[c] : c.ToString()).ToArray();
        var report = ClassificationReport.FromPredictions(labels, predictions, classes, names);
        int k = Math.Clamp(request.TopK, 1, classes);
        var topK = ClassScores.TopKAccuracy(logits, classes, labels, k);
        var matrix = report.Matrix;
        return new EvalJson(request.Model.FullName, loaded.Description, loaded.Origin.ToString(), split.ToString(), dataset.Count,
            report.Accuracy, k, topK, report.Macro, report.Micro, report.Weighted,
            report.Classes.Select(c => new ClassJson(c.ClassIndex, c.Name, c.Precision, c.Recall, c.F1, c.Support)).ToList(),
            Enumerable.Range(0, classes).Select(a => Enumerable.Range(0, classes).Select(p => matrix[a, p]).ToArray()).ToArray(),
            predictions, seconds);
    }

    /// <summary>
    /// Text: the fixed test split (or the training part with --split train), tokenized with the
    /// vocabulary saved next to the model, exactly as in training.
    /// </summary>
    private static LoadedDataset LoadText(OnnxModel model, EvalRequest request)
    {
        var vocabulary = TaskData.LoadVocabulary(model, request.Model.FullName);
        var (train, test) = TaskData.LoadText(DatasetSpec.Parse(request.Data), request.Task, vocabulary.ClassNames);
        var split = request.Split ?? DatasetSplit.Test;
        var part = split == DatasetSplit.Test ? test : train;
        return new LoadedDataset(vocabulary.Encode(part), split, DatasetOrigin.UserFiles, part.Location, part.Description);
    }

    private static RankingJson EvaluateRanking(EvalRequest request, DatasetSpec spec)
    {
        var model = OnnxModel.Load(request.Model.FullName);
        var (all, train, test) = TaskData.LoadInteractions(spec, request.Task);
        TaskData.CheckRecommender(model, request.Model.FullName, all);
        return TaskData.EvaluateRanking(model, request.Model.FullName, all, train, test, request.Task, RuntimeOptions.Default with { IntraOpThreads = request.Threads });
    }

    internal static void PrintRanking(IAnsiConsole o, RankingJson r)
    {
        o.MarkupLine($"[bold]{Markup.Escape(Path.GetFileName(r.Model))}[/] on {Markup.Escape(r.Data)}{(r.Synthetic ? " [yellow](synthetic data)[/]" : "")}: " +
            $"leave-one-out, {Format.Count(r.Lists)} test positives each ranked among {Format.Count(r.Negatives)} sampled negatives, {Format.Count(r.TrainInteractions)} training interactions ({r.Seconds:0.00} s)");
        var table = new Table().Title(r.Synthetic ? "Ranking (synthetic data, same candidates for every ranker)" : "Ranking (same candidates for every ranker)")
            .AddColumns("Ranker", $"HR@{r.K}", $"NDCG@{r.K}", "MRR");
        table.AddRow("[bold]model[/]", Format.Number(r.ModelScores.HitRate), Format.Number(r.ModelScores.Ndcg), Format.Number(r.ModelScores.Mrr));
        table.AddRow("popularity", Format.Number(r.Popularity.HitRate), Format.Number(r.Popularity.Ndcg), Format.Number(r.Popularity.Mrr));
        table.AddRow("random", Format.Number(r.Random.HitRate), Format.Number(r.Random.Ndcg), Format.Number(r.Random.Mrr));
        o.Write(table);
    }

    /// <summary>
    /// The sample shape the model wants: the dataset's own, or a reshape of it when the model
    /// declares fixed non-batch dims with the same element count (flat 784 vs 1x28x28).
    /// </summary>
    internal static int[] MatchSampleShape(TensorSignature input, TensorDataset dataset, string label)
    {
        if (input.ElementType is not (OnnxDataType.Float or OnnxDataType.Int64 or OnnxDataType.Int32))
            throw new RuntimeException($"{label}: eval feeds float32 features or integer ids, but input {input} is {OnnxDataTypes.Name(input.ElementType)}");
        var own = dataset.SampleShape.ToArray();
        var wanted = input.Shape.Skip(1).ToArray();
        if (wanted.Length == own.Length && wanted.Zip(own).All(p => p.First < 0 || p.First == p.Second)) return own;
        if (wanted.All(d => d > 0) && wanted.Aggregate(1L, (a, b) => a * b) == dataset.SampleSize)
            return wanted.Select(d => (int)d).ToArray();
        throw new DataFormatException($"{label}: input {input} does not fit samples of shape [{string.Join(",", own)}] from the data");
    }

    private static void Print(IAnsiConsole o, EvalJson r)
    {
        o.MarkupLine($"[bold]{Markup.Escape(Path.GetFileName(r.Model))}[/] on {Markup.Escape(r.Data)} ({r.Split.ToLowerInvariant()} split, {Format.Count(r.Samples)} samples, {r.Seconds:0.00} s)");
        var summary = new Table().AddColumns("Metric", "Precision", "Recall", "F1");
        summary.AddRow("macro", Format.Number(r.Macro.Precision), Format.Number(r.Macro.Recall), Format.Number(r.Macro.F1));
        summary.AddRow("micro", Format.Number(r.Micro.Precision), Format.Number(r.Micro.Recall), Format.Number(r.Micro.F1));
        summary.AddRow("weighted", Format.Number(r.Weighted.Precision), Format.Number(r.Weighted.Recall), Format.Number(r.Weighted.F1));
        o.MarkupLine($"Accuracy [bold]{Format.Percent(r.Accuracy)}[/]   top-{r.TopK} {Format.Percent(r.TopKAccuracy)}   macro-F1 [bold]{Format.Number(r.Macro.F1)}[/]");
        o.Write(summary);

        var perClass = new Table().Title("Per class").AddColumns("#", "Class", "Precision", "Recall", "F1", "Support");
        foreach (var c in r.Classes)
            perClass.AddRow(c.Class.ToString(), Markup.Escape(c.Name), Format.Number(c.Precision), Format.Number(c.Recall), Format.Number(c.F1), Format.Count(c.Support));
        o.Write(perClass);

        var confusion = new Table().Title("Confusion matrix (rows: true class, columns: predicted)").AddColumn("true \\ pred");
        for (int p = 0; p < r.ConfusionMatrix.Length; p++) confusion.AddColumn(new TableColumn(p.ToString()).RightAligned());
        for (int a = 0; a < r.ConfusionMatrix.Length; a++)
        {
            var cells = new List<string> { $"{a} {Markup.Escape(Truncate(r.Classes[a].Name, 12))}" };
            cells.AddRange(r.ConfusionMatrix[a].Select((v, p) => p == a ? $"[bold]{v}[/]" : v == 0 ? "[grey]0[/]" : v.ToString()));
            confusion.AddRow(cells.ToArray());
        }
        o.Write(confusion);
    }

    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";
}
