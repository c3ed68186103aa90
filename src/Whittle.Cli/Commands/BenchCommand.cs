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
        var profile = new Option<bool>("--profile") { Description = "Also run ONNX Runtime's profiler and list each kernel's median time (after ORT's fusions and layout changes), per model and batch size" };
        var cmd = new Command("bench", "Latency (p50/p90/p99), throughput and peak memory in ONNX Runtime; two models are timed interleaved and compared")
        {
            model, model2, batch, threads, runs, warmup, json, profile,
        };
        cmd.SetAction(parse => Execute(console,
            [parse.GetRequiredValue(model), .. parse.GetValue(model2) is { } m2 ? new[] { m2 } : []],
            CliParsing.PositiveInts(parse.GetValue(batch)!, "--batch"), parse.GetValue(threads),
            new LatencyBenchmarkOptions { Runs = parse.GetValue(runs), WarmupRuns = parse.GetValue(warmup) },
            parse.GetValue(json), parse.GetValue(profile)));
        return cmd;
    }

    public sealed record ResultJson(string Model, int BatchSize, int Runs, double P50Ms, double P90Ms, double P99Ms, double MeanMs,
        double MinMs, double MaxMs, double SamplesPerSecond);

    public sealed record RatioJson(int BatchSize, double MedianRatio, string Meaning);

    public sealed record ProfileJson(string Model, int BatchSize, double TotalKernelMs, IReadOnlyList<NodeTime> Kernels);

    public sealed record BenchJson(IReadOnlyList<ResultJson> Results, IReadOnlyList<RatioJson> Ratios, int IntraOpThreads,
        bool Interleaved, long PeakResidentBytes, IReadOnlyList<ProfileJson>? Profiles);

    private static int Execute(CliConsole console, FileInfo[] files, int[] batches, int threads, LatencyBenchmarkOptions options, bool json, bool profile)
    {
        if (threads < 0) throw new UsageException("--threads must be 0 (one per core) or positive");
        if (options.Runs < 1) throw new UsageException("--runs must be at least 1");
        if (options.WarmupRuns < 0) throw new UsageException("--warmup must be 0 or more");
        var models = files.Select(f => OnnxModel.Load(f.FullName)).ToList();
        // Spinning off for every bench: with two sessions the spinning threads would skew the
        // ratio, and one-model numbers should be comparable with two-model ones.
        var runtime = RuntimeOptions.ForComparison(threads);
        var sessions = models.Select(m => new OnnxRuntimeSession(m, runtime)).ToList();
        try
        {
            var results = new List<ResultJson>();
            var ratios = new List<RatioJson>();
            foreach (var b in batches)
            {
                var samples = console.WithProgress($"batch {b}: {options.Runs} runs", options.Runs,
                    p => LatencyBenchmark.MeasureInterleaved(sessions, b, options, new InlineProgress<int>(r => p.Report(r))));
                var stats = samples.Select(s => new LatencyStatistics(s.Milliseconds, b)).ToList();
                for (int k = 0; k < stats.Count; k++)
                {
                    var s = stats[k];
                    results.Add(new ResultJson(files[k].FullName, b, s.Runs, s.P50Milliseconds, s.P90Milliseconds, s.P99Milliseconds,
                        s.MeanMilliseconds, s.MinimumMilliseconds, s.MaximumMilliseconds, s.SamplesPerSecond));
                }
                if (stats.Count == 2)
                    ratios.Add(new RatioJson(b, stats[1].P50Milliseconds / stats[0].P50Milliseconds, "median latency of MODEL2 / MODEL"));
            }
            // Profiled after the timing, one model at a time, so the profiler's overhead stays out of the latencies.
            var profiles = profile
                ? batches.SelectMany(b => models.Select((m, k) =>
                {
                    var kernels = NodeProfiler.Measure(m, sessions[k].SampleInputs(b, options.Seed), options.Runs, options.WarmupRuns, runtime);
                    return new ProfileJson(files[k].FullName, b, kernels.Sum(t => t.MedianMs), kernels);
                })).ToList()
                : null;
            var report = new BenchJson(results, ratios, threads, sessions.Count > 1, ProcessMemory.PeakResidentBytes(), profiles);
            if (json)
            {
                JsonOutput.Write(console, report);
                return WhittleCli.Ok;
            }
            var table = new Table().Title($"ONNX Runtime latency ({options.Runs} runs after {options.WarmupRuns} warm-up{(sessions.Count > 1 ? ", interleaved" : "")}, threads {(threads == 0 ? "default" : threads)})")
                .AddColumns("Model", "Batch", "p50 ms", "p90 ms", "p99 ms", "mean ms", "samples/s");
            foreach (var r in results)
                table.AddRow(Markup.Escape(Path.GetFileName(r.Model)), r.BatchSize.ToString(), Format.Number(r.P50Ms, "0.000"),
                    Format.Number(r.P90Ms, "0.000"), Format.Number(r.P99Ms, "0.000"), Format.Number(r.MeanMs, "0.000"),
                    Format.Number(r.SamplesPerSecond, "0.0"));
            console.Out.Write(table);
            foreach (var r in ratios)
                console.Out.MarkupLine($"batch {r.BatchSize}: median ratio {Markup.Escape(Path.GetFileName(files[1].Name))} / {Markup.Escape(Path.GetFileName(files[0].Name))} = [bold]{Format.Number(r.MedianRatio, "0.000")}[/]×");
            foreach (var p in profiles ?? [])
            {
                var kernels = new Table().Title($"{Markup.Escape(Path.GetFileName(p.Model))}, batch {p.BatchSize}: ORT kernels, median of {options.Runs} profiled runs (sum {Format.Number(p.TotalKernelMs, "0.000")} ms)")
                    .AddColumns("node (ORT's optimized graph)", "kernel", "median ms", "share");
                foreach (var t in p.Kernels)
                    kernels.AddRow(Markup.Escape(t.Node), Markup.Escape(t.OpType), Format.Number(t.MedianMs, "0.000"), Format.Percent(p.TotalKernelMs > 0 ? t.MedianMs / p.TotalKernelMs : 0));
                console.Out.Write(kernels);
            }
            console.Out.MarkupLine($"Peak resident memory of this process: {Format.Bytes(report.PeakResidentBytes)}");
            return WhittleCli.Ok;
        }
        finally
        {
            foreach (var s in sessions) s.Dispose();
        }
    }
}
