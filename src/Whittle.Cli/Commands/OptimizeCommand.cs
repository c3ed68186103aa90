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
/// <c>--recipe</c> it searches recipes under an accuracy budget (<see cref="RecipeSearch"/>), each trial in its
/// own process (<see cref="ProcessTrialRunner"/>, <c>--workers</c>), and several models (or a directory) into
/// OUTDIR/&lt;name&gt;/ with one comparison report (<see cref="RecipeSearch.RunModels"/>). <c>--run-trial SPEC</c>
/// (hidden) is the inside of one trial process (<see cref="TrialProcess"/>).
/// </summary>
internal static class OptimizeCommand
{
    public static Command Create(CliConsole console)
    {
        var d = RecipeRunOptions.Default;
        var model = new Argument<string[]>("MODEL") { Description = "The .onnx model(s) to optimize, or a directory of them: several are searched one after another into OUTDIR/<name>/ with one comparison report", Arity = ArgumentArity.ZeroOrMore };
        var output = new Option<DirectoryInfo?>("--output", "-o") { Description = "Required: directory for best.onnx, recipe.json, trials.json and report.html (several models: OUTDIR/<name>/ and the comparison report.html; created if missing)" };
        var workers = new Option<int>("--workers") { Description = "Search: trials at once, each in its own process (a crash ends one trial, not the search); 0 runs them in this process", DefaultValueFactory = _ => DefaultWorkers };
        var trialTimeout = new Option<string?>("--trial-timeout") { Description = "Search: kill a trial process still running after this long (e.g. 20m) and record it as failed; the search goes on (default: no limit; needs --workers 1 or more)" };
        var runTrial = new Option<FileInfo?>("--run-trial") { Description = "Internal: run the one trial this spec file describes and write its record", Hidden = true };
        var exitWithParent = new Option<bool>("--exit-with-parent") { Description = "Internal: end when standard input closes (the search that started this trial is gone)", Hidden = true };
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
        var cmd = new Command("optimize", "Search compression recipes (prune, fine-tune, quantize) under an accuracy budget for one model or several, or run one recipe exactly (--recipe), and report what it cost and gained")
        {
            model, output, recipe, latencyBatch, limit, threads, json, maxDrop, relative, objective, timeBudget, trials, seed, workers, trialTimeout, runTrial, exitWithParent,
        };
        dataArgs.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            if (parse.GetValue(runTrial) is { } spec)
            {
                // A trial process started by the search (ProcessTrialRunner): progress lines on standard output, the record in its file.
                CliParsing.Library(() => TrialProcess.Run(spec.FullName, Console.Out, parse.GetValue(exitWithParent)));
                return WhittleCli.Ok;
            }
            var outDir = parse.GetValue(output) ?? throw new UsageException("-o/--output is required");
            var (inputs, several) = Models(parse.GetValue(model) ?? []);
            var options = CliParsing.Library(() => new RecipeRunOptions(parse.GetValue(latencyBatch), parse.GetValue(limit), parse.GetValue(threads)),
                ("LatencyBatch", "--latency-batch"), ("Limit", "--limit"), ("Threads", "--threads"));
            var best = Path.Combine(outDir.FullName, "best.onnx");
            if (parse.GetValue(workers) < 0) throw new UsageException($"--workers must be 0 (trials in this process) or more, not {parse.GetValue(workers)}");
            if (parse.GetValue(trialTimeout) is not null && parse.GetValue(workers) == 0)
                throw new UsageException("--trial-timeout kills trial processes; with --workers 0 trials run in this process and cannot be killed alone");
            var searchArgs = new SearchOptionsArgs(maxDrop, relative, objective, timeBudget, trials, seed, json, workers, trialTimeout);
            if (several)
            {
                if (parse.GetValue(recipe) is not null) throw new UsageException("--recipe runs one model; search several models without it, or run the recipe once per model");
                foreach (var i in inputs) VerifiedModelWriter.EnsureNotAnInput(Path.Combine(outDir.FullName, SearchModel.NameOf(i.FullName), "best.onnx"), inputs.Select(x => x.FullName).ToArray());
                return SearchModels(console, parse, inputs, outDir, options, searchArgs, dataArgs);
            }
            var input = inputs[0];
            VerifiedModelWriter.EnsureNotAnInput(best, [input.FullName]);
            if (parse.GetValue(recipe) is not { } recipeFile)
                return Search(console, parse, input, outDir, options, searchArgs, dataArgs, best);
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

    /// <summary>Default of --workers: one trial process per 4 cores (1 on a 2-core machine); each gets its share of the cores as threads.</summary>
    public static int DefaultWorkers => Math.Max(1, Environment.ProcessorCount / 4);

    /// <summary>The search's options as parsed.</summary>
    private sealed record SearchOptionsArgs(Option<double> MaxDrop, Option<bool> Relative, Option<SearchObjective> Objective, Option<string?> TimeBudget, Option<int?> Trials,
        Option<int> Seed, Option<bool> Json, Option<int> Workers, Option<string?> TrialTimeout);

    /// <summary>The model files the arguments name (a directory: its .onnx files, sorted), and whether the run is a several-model one (two or more, or a directory).</summary>
    private static (IReadOnlyList<FileInfo> Models, bool Several) Models(string[] arguments)
    {
        if (arguments.Length == 0) throw new UsageException("give a MODEL (an .onnx file), several, or a directory of them");
        var files = new List<FileInfo>();
        bool directory = false;
        foreach (var a in arguments)
        {
            if (Directory.Exists(a))
            {
                directory = true;
                var found = Directory.GetFiles(a, "*.onnx").Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0) throw new UsageException($"the directory '{a}' holds no .onnx model");
                files.AddRange(found.Select(f => new FileInfo(f)));
            }
            else
            {
                files.Add(new FileInfo(a));
            }
        }
        var twice = files.GroupBy(f => f.FullName, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (twice.Count > 0) throw new UsageException($"the model {string.Join(", ", twice)} is given twice");
        return (files, directory || files.Count > 1);
    }

    /// <summary>The trial runner --workers asks for: 0 in this process, else that many trial processes of this CLI.</summary>
    private static ITrialRunner Runner(ParseResult parse, SearchOptionsArgs a) => parse.GetValue(a.Workers) == 0 ? InProcessTrialRunner.Instance
        : new ProcessTrialRunner(TrialCommand.ForAssembly(typeof(OptimizeCommand).Assembly.Location, "optimize", "--exit-with-parent", "--run-trial"), parse.GetValue(a.Workers),
            trialTimeout: parse.GetValue(a.TrialTimeout) is { } t ? ParseDuration(t, "--trial-timeout") : null);

    private static SearchOptions SearchOptionsFrom(ParseResult parse, RecipeRunOptions run, SearchOptionsArgs a)
    {
        var budget = parse.GetValue(a.TimeBudget) is { } text ? ParseDuration(text) : (TimeSpan?)null;
        return CliParsing.Library(() => new SearchOptions(parse.GetValue(a.MaxDrop), parse.GetValue(a.Relative), parse.GetValue(a.Objective), budget, parse.GetValue(a.Trials),
            parse.GetValue(a.Seed), run), ("MaxAccuracyDrop", "--max-accuracy-drop"), ("Trials", "--trials"), ("TimeBudget", "--time-budget"));
    }

    private static int SearchModels(CliConsole console, ParseResult parse, IReadOnlyList<FileInfo> inputs, DirectoryInfo outDir, RecipeRunOptions run, SearchOptionsArgs a, DataArguments dataArgs)
    {
        var options = SearchOptionsFrom(parse, run, a);
        // Every model loads and binds its data before the first trial: a model the data does not fit is an error now, not after an hour.
        var models = inputs.Select(f =>
        {
            var source = OnnxModel.Load(f.FullName);
            return new SearchModel(SearchModel.NameOf(f.FullName), source, dataArgs.Bind(parse, source));
        }).ToList();
        var runner = Runner(parse, a);
        var result = console.RunJob(p => RecipeSearch.RunModels(models, options, outDir.FullName, p, runner), quiet: parse.GetValue(a.Json));
        if (parse.GetValue(a.Json)) JsonOutput.Write(console, result);
        else PrintModels(console.Out, result);
        return result.Improved == result.Models.Count ? WhittleCli.Ok : NoModelWithinBudget;
    }

    private static void PrintModels(IAnsiConsole o, MultiModelSearchResult r)
    {
        var t = new Table().Title($"[bold]Models[/] (budget: validation accuracy within {r.MaxAccuracyDrop}{(r.Relative ? "%" : " points")} of each input's; objective {r.Objective})")
            .AddColumn("model").AddColumn("winner").AddColumn(new TableColumn("test acc").RightAligned()).AddColumn(new TableColumn("speed").RightAligned())
            .AddColumn(new TableColumn("× smaller").RightAligned()).AddColumn(new TableColumn("trials").RightAligned()).AddColumn(new TableColumn("s").RightAligned());
        foreach (var m in r.Models)
            t.AddRow(Markup.Escape(m.Name), m.BestTrial is null ? "[yellow]none within the budget[/]" : Markup.Escape($"{m.BestTrial}: {m.BestRecipe}"),
                Format.Percent(m.InputTestAccuracy) + (m.BestTestAccuracy is { } b ? " → " + Format.Percent(b) : ""),
                m.Speedup is { } s ? s >= 1 ? $"{s:F2}× faster" : $"{1 / s:F2}× slower" : "-", m.SizeReduction is { } z ? $"{z:F1}×" : "-", $"{m.Done}/{m.Trials}", m.Seconds.ToString("F0"));
        o.Write(t);
        o.MarkupLine($"{r.Improved} of {r.Models.Count} models improved; each model's outputs are in OUTDIR/<name>/ (best.onnx, recipe.json, trials.json, report.html)");
        o.MarkupLine($"Report: {Markup.Escape(r.ReportPath)}");
    }

    /// <summary>Exit code when no trial met the accuracy budget (nothing is written as best.onnx).</summary>
    public const int NoModelWithinBudget = 3;

    private static int Search(CliConsole console, ParseResult parse, FileInfo input, DirectoryInfo outDir, RecipeRunOptions run, SearchOptionsArgs a, DataArguments dataArgs, string best)
    {
        var options = SearchOptionsFrom(parse, run, a);
        var source = OnnxModel.Load(input.FullName);
        var data = dataArgs.Bind(parse, source);
        var runner = Runner(parse, a);
        var result = console.RunJob(p => RecipeSearch.Run(source, data, options, outDir.FullName, p, runner), quiet: parse.GetValue(a.Json));
        if (parse.GetValue(a.Json)) JsonOutput.Write(console, result, ("model", input.FullName), ("output", result.Best is null ? null : best));
        else PrintSearch(console.Out, result, options, best);
        return result.Best is null ? NoModelWithinBudget : WhittleCli.Ok;
    }

    private static TimeSpan ParseDuration(string text, string option = "--time-budget")
    {
        var t = text.Trim().ToLowerInvariant();
        double Number(string s) => double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0 ? v
            : throw new UsageException($"{option} must look like 90s, 30m or 2h, not '{text}'");
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
