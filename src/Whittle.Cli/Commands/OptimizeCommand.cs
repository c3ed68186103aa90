using System.CommandLine;
using Spectre.Console;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Optimization;
using Whittle.Reporting;

namespace Whittle.Cli.Commands;

/// <summary>
/// <c>whittle optimize MODEL --recipe FILE --data DATASET -o OUTDIR</c>: runs a recipe (an ordered
/// list of prune / fine-tune / quantize / fold-bn steps, each with its verb's options) exactly, and
/// writes <c>best.onnx</c>, <c>recipe.json</c>, <c>trials.json</c> and <c>report.html</c> into OUTDIR; without
/// <c>--recipe</c> it searches recipes under an accuracy budget (<see cref="RecipeSearch"/>).
/// </summary>
internal static class OptimizeCommand
{
    public static Command Create(CliConsole console)
    {
        var d = RecipeRunOptions.Default;
        var model = new Argument<FileInfo>("MODEL") { Description = "The .onnx model to optimize" };
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "Directory for best.onnx, recipe.json, trials.json and report.html (created if missing)", Required = true };
        var recipe = new Option<FileInfo?>("--recipe") { Description = "Run this JSON recipe exactly instead of searching: {\"steps\": [{\"step\": \"prune\", \"method\": \"channel\", \"amount\": 0.5}, {\"step\": \"quantize\"}]}" };
        var maxDrop = new Option<double>("--max-accuracy-drop") { Description = "Search: the largest accepted drop of validation accuracy, in points (percent with --relative)", DefaultValueFactory = _ => 1.0 };
        var relative = new Option<bool>("--relative") { Description = "Search: --max-accuracy-drop is a percentage of the input's accuracy" };
        var objective = new Option<SearchObjective>("--objective") { Description = "Search: latency (measured, interleaved with the input) or size", DefaultValueFactory = _ => SearchObjective.Latency };
        var timeBudget = new Option<string?>("--time-budget") { Description = "Search: start no trial after this long (e.g. 90s, 30m, 2h)" };
        var trials = new Option<int?>("--trials") { Description = "Search: at most N trials (default: every candidate)" };
        var seed = new Option<int>("--seed") { Description = "Search: seed of the sampled candidates", DefaultValueFactory = _ => 0 };
        var latencyBatch = new Option<int>("--latency-batch") { Description = "Batch size of the input-vs-output latency comparison", DefaultValueFactory = _ => d.LatencyBatch };
        var limit = new Option<int?>("--limit") { Description = "Train and fine-tune on at most N samples" };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads for ONNX Runtime and libtorch (0 = one per core)", DefaultValueFactory = _ => d.Threads };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var dataArgs = new DataArguments("fashion-mnist");
        var cmd = new Command("optimize", "Run a compression recipe (prune, fine-tune, quantize, fold-bn) exactly and report what it cost and gained")
        {
            model, output, recipe, latencyBatch, limit, threads, json, maxDrop, relative, objective, timeBudget, trials, seed,
        };
        dataArgs.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var input = parse.GetRequiredValue(model);
            var outDir = parse.GetRequiredValue(output);
            var options = CliParsing.Library(() => new RecipeRunOptions(parse.GetValue(latencyBatch), parse.GetValue(limit), parse.GetValue(threads)),
                ("LatencyBatch", "--latency-batch"), ("Limit", "--limit"), ("Threads", "--threads"));
            var best = Path.Combine(outDir.FullName, "best.onnx");
            VerifiedModelWriter.EnsureNotAnInput(best, [input.FullName]);
            if (parse.GetValue(recipe) is not { } recipeFile)
                return Search(console, parse, input, outDir, options, new SearchOptionsArgs(maxDrop, relative, objective, timeBudget, trials, seed, json), dataArgs, best);
            var steps = CliParsing.Library(() => Recipe.Load(recipeFile.FullName));
            var source = OnnxModel.Load(input.FullName);
            var data = dataArgs.Bind(parse, source);
            var result = console.RunJob(p => RecipeRunner.Run(source, data, steps, options, p), quiet: true);
            Directory.CreateDirectory(outDir.FullName);
            result.Save(best);
            result.Recipe.Save(Path.Combine(outDir.FullName, "recipe.json"));
            var trial = new TrialRecord(0, result.Recipe, "done", result.ValidationAfter, result.After.Accuracy, result.After.MacroF1, result.LatencyAfterMs / result.LatencyBeforeMs,
                result.LatencyAfterMs, result.BytesAfter, result.Seconds, true, true, null, result.Steps);
            var log = new TrialLog(result.ValidationBefore, result.Before.Accuracy, "recipe", double.NaN, [trial], LatencyBatch: result.LatencyBatch, Limit: options.Limit);
            AtomicFile.WriteAllText(Path.Combine(outDir.FullName, RecipeSearch.LogFile), JsonOutput.Serialize(log) + "\n");
            // The recipe as a one-trial search: the same report, without a budget line.
            var report = Path.Combine(outDir.FullName, RecipeSearch.ReportFile);
            SearchReport.Write(report, new SearchResult(trial, best, log, 0, result.Seconds, result.BytesBefore), input.Name);
            if (parse.GetValue(json)) JsonOutput.Write(console, result, ("model", input.FullName), ("output", best), ("report", report));
            else Print(console.Out, result, best, report);
            return WhittleCli.Ok;
        });
        return cmd;
    }

    /// <summary>The search's options as parsed.</summary>
    private sealed record SearchOptionsArgs(Option<double> MaxDrop, Option<bool> Relative, Option<SearchObjective> Objective, Option<string?> TimeBudget, Option<int?> Trials, Option<int> Seed, Option<bool> Json);

    /// <summary>Exit code when no trial met the accuracy budget (nothing is written as best.onnx).</summary>
    public const int NoModelWithinBudget = 3;

    private static int Search(CliConsole console, ParseResult parse, FileInfo input, DirectoryInfo outDir, RecipeRunOptions run, SearchOptionsArgs a, DataArguments dataArgs, string best)
    {
        var budget = parse.GetValue(a.TimeBudget) is { } text ? ParseDuration(text) : (TimeSpan?)null;
        var options = CliParsing.Library(() => new SearchOptions(parse.GetValue(a.MaxDrop), parse.GetValue(a.Relative), parse.GetValue(a.Objective), budget, parse.GetValue(a.Trials),
            parse.GetValue(a.Seed), run), ("MaxAccuracyDrop", "--max-accuracy-drop"), ("Trials", "--trials"), ("TimeBudget", "--time-budget"));
        var source = OnnxModel.Load(input.FullName);
        var data = dataArgs.Bind(parse, source);
        var result = console.RunJob(p => RecipeSearch.Run(source, data, options, outDir.FullName, p), quiet: true);
        if (parse.GetValue(a.Json)) JsonOutput.Write(console, result, ("model", input.FullName), ("output", result.Best is null ? null : best));
        else PrintSearch(console.Out, result, options, best);
        return result.Best is null ? NoModelWithinBudget : WhittleCli.Ok;
    }

    private static TimeSpan ParseDuration(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        double Number(string s) => double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0 ? v
            : throw new UsageException($"--time-budget must look like 90s, 30m or 2h, not '{text}'");
        return t.EndsWith('h') ? TimeSpan.FromHours(Number(t[..^1])) : t.EndsWith('m') ? TimeSpan.FromMinutes(Number(t[..^1]))
            : t.EndsWith('s') ? TimeSpan.FromSeconds(Number(t[..^1])) : TimeSpan.FromSeconds(Number(t));
    }

    private static void PrintSearch(IAnsiConsole o, SearchResult r, SearchOptions options, string best)
    {
        var t = new Table().Title($"[bold]Trials[/] (budget: validation accuracy within {options.MaxAccuracyDrop}{(options.Relative ? "%" : " points")} of {r.Log.InputValidationAccuracy:P2}; objective {r.Log.Objective})")
            .AddColumn("#").AddColumn("recipe").AddColumn("status").AddColumn(new TableColumn("val acc").RightAligned()).AddColumn(new TableColumn("test acc").RightAligned())
            .AddColumn(new TableColumn("latency").RightAligned()).AddColumn(new TableColumn("size").RightAligned()).AddColumn(new TableColumn("s").RightAligned()).AddColumn("");
        foreach (var x in r.Log.Trials)
            t.AddRow((x.Trial + 1).ToString(), Markup.Escape(string.Join(" → ", x.Recipe.Steps.Select(s => s.Describe()))), x.Status,
                x.ValidationAccuracy is { } v ? Format.Percent(v) : "-", x.TestAccuracy is { } ta ? Format.Percent(ta) : "-",
                x.LatencyRatio is { } l ? $"{l:F2}×" : "-", x.Bytes is { } b ? Format.Bytes(b) : "-", x.Seconds.ToString("F0"),
                (x == r.Best ? "[green]best[/] " : "") + (x.Pareto ? "pareto" : "") + (x.MeetsBudget || x.Status != "done" ? "" : " [yellow]over budget[/]"));
        o.Write(t);
        if (r.Resumed > 0) o.MarkupLine($"[grey]· {r.Resumed} trial(s) taken from the earlier run's trials.json[/]");
        if (r.Best is not { } w)
        {
            o.MarkupLine("[yellow]No trial met the accuracy budget and improved on the input; best.onnx not written (trials.json and report.html have every trial).[/]");
            PrintReport(o, r.ReportPath);
            return;
        }
        o.MarkupLine($"[bold]Best: trial {w.Trial + 1}[/] ({Markup.Escape(string.Join(" → ", w.Recipe.Steps.Select(s => s.Describe())))}): {(double)r.InputBytes / w.Bytes!.Value:F1}× smaller ({Format.Bytes(w.Bytes!.Value)}), " +
            $"{(w.LatencyRatio < 1 ? $"{1 / w.LatencyRatio:F2}× faster" : $"{w.LatencyRatio:F2}× slower")} than the input (interleaved), " +
            $"test accuracy {Format.Percent(r.Log.InputTestAccuracy)} → {Format.Percent(w.TestAccuracy!.Value)} ({(w.TestAccuracy!.Value - r.Log.InputTestAccuracy) * 100:+0.00;-0.00} points)");
        o.MarkupLine($"Wrote {Markup.Escape(best)}, recipe.json, pareto-*.onnx and trials.json, verified in ONNX Runtime");
        PrintReport(o, r.ReportPath);
    }

    private static void PrintReport(IAnsiConsole o, string? report)
    {
        if (report is not null) o.MarkupLine($"Report: {Markup.Escape(report)}");
    }

    private static void Print(IAnsiConsole o, RecipeResult r, string best, string report)
    {
        var t = new Table().Title("[bold]Recipe[/]").AddColumn("#").AddColumn("step").AddColumn(new TableColumn("test accuracy").RightAligned())
            .AddColumn(new TableColumn("size").RightAligned()).AddColumn(new TableColumn("seconds").RightAligned());
        t.AddRow("0", "input", Format.Percent(r.Before.Accuracy), Format.Bytes(r.BytesBefore), "");
        for (int i = 0; i < r.Steps.Count; i++)
        {
            var s = r.Steps[i];
            t.AddRow((i + 1).ToString(), Markup.Escape(s.Step), Format.Percent(s.Accuracy), Format.Bytes(s.Bytes), s.Seconds.ToString("F0"));
        }
        o.Write(t);
        foreach (var note in r.Steps.SelectMany(s => s.Notes)) o.MarkupLine($"[grey]· {Markup.Escape(note)}[/]");
        o.MarkupLine($"[bold]{r.SizeReduction:F1}× smaller, {(r.Speedup >= 1 ? $"{r.Speedup:F2}× faster" : $"{1 / r.Speedup:F2}× slower")}[/] at batch {r.LatencyBatch} ({r.LatencyBeforeMs:F3} → {r.LatencyAfterMs:F3} ms, interleaved), " +
            $"accuracy {Format.Percent(r.Before.Accuracy)} → {Format.Percent(r.After.Accuracy)} ({(r.After.Accuracy - r.Before.Accuracy) * 100:+0.00;-0.00} points)");
        o.MarkupLine($"Wrote {Markup.Escape(best)}, recipe.json and trials.json, verified in ONNX Runtime");
        PrintReport(o, report);
    }
}
