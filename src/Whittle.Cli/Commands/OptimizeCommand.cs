using System.CommandLine;
using Spectre.Console;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Optimization;

namespace Whittle.Cli.Commands;

/// <summary>
/// <c>whittle optimize MODEL --recipe FILE --data DATASET -o OUTDIR</c>: runs a recipe (an ordered
/// list of prune / fine-tune / quantize / fold-bn steps, each with its verb's options) exactly, and
/// writes <c>best.onnx</c>, <c>recipe.json</c> and <c>trials.json</c> into OUTDIR.
/// </summary>
internal static class OptimizeCommand
{
    public static Command Create(CliConsole console)
    {
        var d = RecipeRunOptions.Default;
        var model = new Argument<FileInfo>("MODEL") { Description = "The .onnx model to optimize" };
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "Directory for best.onnx, recipe.json and trials.json (created if missing)", Required = true };
        var recipe = new Option<FileInfo>("--recipe") { Description = "JSON recipe: {\"steps\": [{\"step\": \"prune\", \"method\": \"channel\", \"amount\": 0.5}, {\"step\": \"quantize\"}]}", Required = true };
        var latencyBatch = new Option<int>("--latency-batch") { Description = "Batch size of the input-vs-output latency comparison", DefaultValueFactory = _ => d.LatencyBatch };
        var limit = new Option<int?>("--limit") { Description = "Train and fine-tune on at most N samples" };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads for ONNX Runtime and libtorch (0 = one per core)", DefaultValueFactory = _ => d.Threads };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var dataArgs = new DataArguments("fashion-mnist");
        var cmd = new Command("optimize", "Run a compression recipe (prune, fine-tune, quantize, fold-bn) exactly and report what it cost and gained")
        {
            model, output, recipe, latencyBatch, limit, threads, json,
        };
        dataArgs.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var input = parse.GetRequiredValue(model);
            var outDir = parse.GetRequiredValue(output);
            var steps = CliParsing.Library(() => Recipe.Load(parse.GetRequiredValue(recipe).FullName));
            var options = CliParsing.Library(() => new RecipeRunOptions(parse.GetValue(latencyBatch), parse.GetValue(limit), parse.GetValue(threads)),
                ("LatencyBatch", "--latency-batch"), ("Limit", "--limit"), ("Threads", "--threads"));
            var best = Path.Combine(outDir.FullName, "best.onnx");
            VerifiedModelWriter.EnsureNotAnInput(best, [input.FullName]);
            var source = OnnxModel.Load(input.FullName);
            var data = dataArgs.Bind(parse, source);
            var result = console.RunJob(p => RecipeRunner.Run(source, data, steps, options, p), quiet: true);
            Directory.CreateDirectory(outDir.FullName);
            result.Save(best);
            result.Recipe.Save(Path.Combine(outDir.FullName, "recipe.json"));
            var trial = new TrialRecord(0, result.Recipe, result.After.Accuracy, result.After.MacroF1, result.LatencyAfterMs, result.BytesAfter, result.Seconds, result.Steps);
            AtomicFile.WriteAllText(Path.Combine(outDir.FullName, "trials.json"), JsonOutput.Serialize(new { trials = new[] { trial } }) + "\n");
            if (parse.GetValue(json)) JsonOutput.Write(console, result, ("model", input.FullName), ("output", best));
            else Print(console.Out, result, best);
            return WhittleCli.Ok;
        });
        return cmd;
    }

    /// <summary>One line of trials.json.</summary>
    public sealed record TrialRecord(int Trial, Recipe Recipe, double Accuracy, double MacroF1, double LatencyMs, long Bytes, double Seconds, IReadOnlyList<RecipeStepRecord> Steps);

    private static void Print(IAnsiConsole o, RecipeResult r, string best)
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
    }
}
