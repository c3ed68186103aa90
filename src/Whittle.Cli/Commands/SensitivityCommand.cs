using System.CommandLine;
using Spectre.Console;
using Whittle.Data;
using Whittle.Onnx;
using Whittle.Pruning;
using Whittle.Runtime;

namespace Whittle.Cli.Commands;

/// <summary>
/// <c>whittle sensitivity MODEL --data DATASET</c>: accuracy and loss with each prunable layer (or
/// channel group) pruned alone to several sparsities, in ONNX Runtime; worst layers first, with a
/// suggested per-layer sparsity.
/// </summary>
internal static class SensitivityCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<FileInfo>("MODEL") { Description = "The .onnx classifier" };
        var dataArgs = new DataArguments("fashion-mnist");
        var method = new Option<SensitivityMethod>("--method", "-m") { Description = "magnitude (one layer's weights) or channel (one channel group)", DefaultValueFactory = _ => SensitivityMethod.Magnitude };
        var sparsities = new Option<string>("--sparsities") { Description = "Sparsities to test", DefaultValueFactory = _ => "0.3,0.5,0.7,0.9" };
        var tolerance = new Option<double>("--tolerance") { Description = "Accuracy drop a suggestion may cost (0.01 = one point)", DefaultValueFactory = _ => 0.01 };
        var limit = new Option<int>("--limit") { Description = "Validation samples (the first N of the test split, or of the data)", DefaultValueFactory = _ => 2000 };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Also write the JSON report to this file" };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var cmd = new Command("sensitivity", "Per-layer pruning sensitivity: accuracy at several sparsities, worst layers first, with a suggested per-layer ratio")
        {
            model, method, sparsities, tolerance, limit, output, json,
        };
        dataArgs.AddTo(cmd);
        cmd.SetAction(parse => Execute(console, parse.GetRequiredValue(model), parse, dataArgs,
            parse.GetValue(method), parse.GetValue(sparsities)!, parse.GetValue(tolerance), parse.GetValue(limit), parse.GetValue(output), parse.GetValue(json)));
        return cmd;
    }

    private static int Execute(CliConsole console, FileInfo modelFile, ParseResult parse, DataArguments dataArgs, SensitivityMethod method, string sparsityText,
        double tolerance, int limit, FileInfo? output, bool json)
    {
        var levels = CliParsing.Floats(sparsityText, "--sparsities").Select(f => (double)f).ToArray();
        if (levels.Any(s => !(s > 0 && s < 1))) throw new UsageException("--sparsities: every value must be in (0, 1)");
        if (!(tolerance >= 0 && tolerance < 1)) throw new UsageException("--tolerance must be in [0, 1)");
        if (limit < 1) throw new UsageException("--limit must be at least 1");
        var model = OnnxModel.Load(modelFile.FullName);
        var data = dataArgs.Bind(parse, model);
        if (data.Task == ModelTask.Ranking) throw new UsageException("sensitivity measures classification accuracy; recommender interaction data is not supported");
        var dataset = data.Test ?? data.Samples;
        if (!dataset.HasLabels) throw new DataFormatException($"{data.Spec}: sensitivity needs labels");
        dataset = dataset.Take(Math.Min(limit, dataset.Count));
        var report = console.WithProgress("sensitivity", 1, p => SensitivityAnalysis.Run(model, dataset, levels, method, tolerance,
            new InlineProgress<(int Done, int Total)>(x => p.Report(x.Done / (double)x.Total))));
        if (output is not null) AtomicFile.WriteAllText(output.FullName, System.Text.Json.JsonSerializer.Serialize(report, JsonOutput.Options));
        if (json)
        {
            JsonOutput.Write(console, report);
            return WhittleCli.Ok;
        }
        var o = console.Out;
        o.MarkupLine($"Baseline accuracy {Format.Percent(report.BaselineAccuracy)} on {Format.Count(report.Samples)} samples; {method.ToString().ToLowerInvariant()} pruning, one layer at a time (worst first)");
        var table = new Table().AddColumn("layer").AddColumn(new TableColumn("size").RightAligned());
        foreach (var s in levels.Order()) table.AddColumn(new TableColumn($"{s:0.##}").RightAligned());
        table.AddColumn(new TableColumn("worst drop").RightAligned()).AddColumn(new TableColumn("suggested").RightAligned());
        foreach (var l in report.Layers)
        {
            var cells = new List<string> { Markup.Escape(l.Layer), Format.Count(l.Parameters) };
            cells.AddRange(l.Points.Select(p => Format.Percent(p.Accuracy)));
            cells.Add($"{100 * l.WorstDrop:0.00} pt");
            cells.Add($"{l.SuggestedSparsity:0.##}");
            table.AddRow(cells.ToArray());
        }
        o.Write(table);
        o.MarkupLine($"Suggested sparsities (largest tested within {100 * tolerance:0.##} pt each) give {Format.Percent(report.SuggestedOverallSparsity)} overall");
        return WhittleCli.Ok;
    }
}
