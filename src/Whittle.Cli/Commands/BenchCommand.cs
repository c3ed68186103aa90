using System.CommandLine;
using Spectre.Console;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Cli.Commands;

/// <summary><c>whittle bench MODEL [MODEL2]</c>: latency and throughput in ONNX Runtime; with two models, interleaved runs and their ratio.</summary>
internal static class BenchCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<FileInfo>("MODEL") { Description = "The .onnx model to time" };
        var model2 = new Argument<FileInfo?>("MODEL2") { Description = "A second model, timed interleaved with the first", Arity = ArgumentArity.ZeroOrOne };
        var batch = new Option<string>("--batch", "-b") { Description = "Batch sizes, comma-separated", DefaultValueFactory = _ => "1,64" };
        var threads = new Option<int>("--threads", "-t") { Description = "Intra-op threads (0 = one per core)", DefaultValueFactory = _ => 0 };
        var runs = new Option<int>("--runs") { Description = "Timed runs per model and batch size", DefaultValueFactory = _ => new LatencyBenchmarkOptions().Runs };
        var warmup = new Option<int>("--warmup") { Description = "Untimed warm-up runs", DefaultValueFactory = _ => new LatencyBenchmarkOptions().WarmupRuns };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var seqLen = new Option<int>("--seq-len") { Description = "Length of symbolic non-batch dimensions (a transformer's sequence) in the generated inputs", DefaultValueFactory = _ => ModelBenchmarkOptions.Default.SequenceLength };
        var profile = new Option<bool>("--profile") { Description = "Also run ONNX Runtime's profiler and list each kernel's median time (after ORT's fusions and layout changes), per model and batch size" };
        var cmd = new Command("bench", "Latency (p50/p90/p99), throughput and peak memory in ONNX Runtime; two models are timed interleaved and compared")
        {
            model, model2, batch, threads, runs, warmup, seqLen, json, profile,
        };
        cmd.SetAction(parse =>
        {
            FileInfo[] files = [parse.GetRequiredValue(model), .. parse.GetValue(model2) is { } m2 ? new[] { m2 } : []];
            var options = CliParsing.Library(() => new ModelBenchmarkOptions(CliParsing.PositiveInts(parse.GetValue(batch)!, "--batch"), parse.GetValue(threads),
                parse.GetValue(runs), parse.GetValue(warmup), parse.GetValue(profile), parse.GetValue(seqLen)),
                ("Threads", "--threads"), ("Runs", "--runs"), ("WarmupRuns", "--warmup"), ("SequenceLength", "--seq-len"));
            var models = files.Select(f => OnnxModel.Load(f.FullName)).ToList();
            var result = console.RunJob(p => ModelBenchmark.Run(models, options, p), quiet: true);
            if (parse.GetValue(json)) JsonOutput.Write(console, result, ("models", files.Select(f => f.FullName).ToArray()));
            else Print(console.Out, files, options, result);
            return WhittleCli.Ok;
        });
        return cmd;
    }

    private static void Print(IAnsiConsole o, FileInfo[] files, ModelBenchmarkOptions options, ModelBenchmarkResult report)
    {
        var table = new Table().Title($"ONNX Runtime latency ({options.Runs} runs after {options.WarmupRuns} warm-up{(report.Interleaved ? ", interleaved" : "")}, threads {(options.Threads == 0 ? "default" : options.Threads)}" +
                $"{(report.SequenceLength is { } l ? $", sequence {l}" : "")})")
            .AddColumns("Model", "Batch", "p50 ms", "p90 ms", "p99 ms", "mean ms", "samples/s");
        foreach (var r in report.Results)
            table.AddRow(Markup.Escape(files[r.Model].Name), r.BatchSize.ToString(), Format.Number(r.P50Ms, "0.000"),
                Format.Number(r.P90Ms, "0.000"), Format.Number(r.P99Ms, "0.000"), Format.Number(r.MeanMs, "0.000"),
                Format.Number(r.SamplesPerSecond, "0.0"));
        o.Write(table);
        foreach (var r in report.Ratios)
            o.MarkupLine($"batch {r.BatchSize}: median ratio {Markup.Escape(files[1].Name)} / {Markup.Escape(files[0].Name)} = [bold]{Format.Number(r.MedianRatio, "0.000")}[/]×");
        foreach (var p in report.Profiles ?? [])
        {
            var kernels = new Table().Title($"{Markup.Escape(files[p.Model].Name)}, batch {p.BatchSize}: ORT kernels, median of {options.Runs} profiled runs (sum {Format.Number(p.TotalKernelMs, "0.000")} ms)")
                .AddColumns("node (ORT's optimized graph)", "kernel", "median ms", "share");
            foreach (var t in p.Kernels)
                kernels.AddRow(Markup.Escape(t.Node), Markup.Escape(t.OpType), Format.Number(t.MedianMs, "0.000"), Format.Percent(p.TotalKernelMs > 0 ? t.MedianMs / p.TotalKernelMs : 0));
            o.Write(kernels);
        }
        o.MarkupLine($"Peak resident memory of this process: {Format.Bytes(report.PeakResidentBytes)}");
    }
}
