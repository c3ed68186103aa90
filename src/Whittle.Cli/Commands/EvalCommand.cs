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
        var model = new Argument<FileInfo>("MODEL") { Description = "The .onnx classifier (one input; first output = scores per class) or recommender (inputs user, item)" };
        var dataArgs = new DataArguments("fashion-mnist");
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N samples" };
        var split = new Option<DatasetSplit?>("--split") { Description = "Which split: test (default when the data has one) or train" };
        var batch = new Option<int>("--batch", "-b") { Description = "Batch size for inference", DefaultValueFactory = _ => EvaluationOptions.Default.BatchSize };
        var topK = new Option<int>("--top-k") { Description = "Also report top-k accuracy for this k", DefaultValueFactory = _ => EvaluationOptions.Default.TopK };
        var threads = new Option<int>("--threads", "-t") { Description = "Intra-op threads (0 = one per core)", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var cmd = new Command("eval", "Accuracy, top-k, precision/recall/F1 (per class, macro, micro, weighted) and the confusion matrix of a classifier in ONNX Runtime; HR@K, NDCG@K and MRR of a recommender next to popularity and random baselines")
        {
            model, limit, split, batch, topK, threads, json,
        };
        dataArgs.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var file = parse.GetRequiredValue(model);
            if (parse.GetValue(threads) < 0) throw new UsageException("--threads must be 0 (one per core) or positive");
            var options = CliParsing.Library(() => new EvaluationOptions(parse.GetValue(batch), parse.GetValue(topK), dataArgs.KFrom(parse), parse.GetValue(limit),
                RuntimeOptions.Default.WithIntraOpThreads(parse.GetValue(threads))), ("BatchSize", "--batch"), ("TopK", "--top-k"), ("K", "--k"), ("Limit", "--limit"));
            var onnx = OnnxModel.Load(file.FullName);
            var data = dataArgs.Bind(parse, onnx);
            var result = console.RunJob(p => ModelEvaluator.Evaluate(onnx, data, options, parse.GetValue(split),
                new InlineProgress<int>(n => p.Report(new JobProgress("evaluating", n, data.Test?.Count ?? data.Train?.Count ?? 1)))), quiet: true);
            if (result.Ranking is { } ranking)
            {
                var report = new RankingJson(file.FullName, data.Description, ranking.Synthetic, ranking.TrainInteractions, ranking.Lists, ranking.Negatives, options.K,
                    ranking.Model, ranking.Popularity, ranking.Random, ranking.Seconds);
                if (parse.GetValue(json)) JsonOutput.Write(console, report);
                else PrintRanking(console.Out, report);
                return WhittleCli.Ok;
            }
            var c = result.Classification!;
            var r = c.Report;
            var classes = r.Classes.Count;
            var evalJson = new EvalJson(file.FullName, data.Description, data.Origin.ToString(), result.Split.ToString(), c.Samples, c.Accuracy, c.TopK, c.TopKAccuracy,
                r.Macro, r.Micro, r.Weighted, r.Classes.Select(x => new ClassJson(x.ClassIndex, x.Name, x.Precision, x.Recall, x.F1, x.Support)).ToList(),
                Enumerable.Range(0, classes).Select(a => Enumerable.Range(0, classes).Select(q => r.Matrix[a, q]).ToArray()).ToArray(), c.Predictions, c.Seconds);
            if (parse.GetValue(json)) JsonOutput.Write(console, evalJson);
            else Print(console.Out, evalJson);
            return WhittleCli.Ok;
        });
        return cmd;
    }

    public sealed record ClassJson(int Class, string Name, double Precision, double Recall, double F1, int Support);

    public sealed record EvalJson(string Model, string Data, string DataOrigin, string Split, int Samples, double Accuracy,
        int TopK, double TopKAccuracy, AveragedMetrics Macro, AveragedMetrics Micro, AveragedMetrics Weighted,
        IReadOnlyList<ClassJson> Classes, int[][] ConfusionMatrix, int[] Predictions, double Seconds);

    /// <summary>The ranking numbers of one model next to the baselines on the same candidate lists.</summary>
    public sealed record RankingJson(string Model, string Data, bool Synthetic, int TrainInteractions, int Lists, int Negatives, int K,
        RankingReport ModelScores, RankingReport Popularity, RankingReport Random, double Seconds);

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
