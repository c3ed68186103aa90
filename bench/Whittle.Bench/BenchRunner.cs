using System.Text.Json;
using Spectre.Console;

namespace Whittle.Bench;

/// <summary>One end-to-end benchmark: prints its tables and returns what goes into its JSON file.</summary>
internal interface IBenchmark
{
    string Name { get; }
    string Description { get; }
    object Run(BenchContext context);
}

internal sealed record BenchContext(string RepoRoot, string ResultsDirectory, bool Quick);

/// <summary>
/// <c>dotnet run -c Release --project bench/Whittle.Bench -- [NAME ...] [--quick]</c>: runs the named
/// benchmarks (all by default), prints tables and writes <c>bench/results/NAME.json</c>.
/// </summary>
internal static class BenchRunner
{
    private static readonly IBenchmark[] All = [new RuntimeBenchmark(), new EngineTrainingBenchmark(), new WeightQuantizationBenchmark(), new StaticQuantizationBenchmark(), new PruningBenchmark(), new DistillationBenchmark(), new QatBenchmark(), new EmbeddingQuantizationBenchmark()];

    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        var names = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
        if (args.Contains("--help") || args.Contains("--list"))
        {
            AnsiConsole.MarkupLine("usage: Whittle.Bench [NAME ...] [--quick]");
            foreach (var b in All) AnsiConsole.MarkupLine($"  [bold]{b.Name}[/]  {Markup.Escape(b.Description)}");
            return 0;
        }
        var unknown = names.Where(n => All.All(b => b.Name != n)).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"error: unknown benchmark(s) {string.Join(", ", unknown)}; known: {string.Join(", ", All.Select(b => b.Name))}");
            return 2;
        }
        // Tables written to a log keep their columns instead of wrapping at 80 characters.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 200;
        var root = FindRepoRoot();
        var results = Path.Combine(root, "bench", "results");
        Directory.CreateDirectory(results);
        var context = new BenchContext(root, results, quick);
        foreach (var bench in All.Where(b => names.Count == 0 || names.Contains(b.Name)))
        {
            AnsiConsole.Write(new Rule($"[bold]{bench.Name}[/]: {Markup.Escape(bench.Description)}").LeftJustified());
            var payload = bench.Run(context);
            var envelope = new
            {
                benchmark = bench.Name,
                date = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
                machine = new { Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription, quick },
                command = $"dotnet run -c Release --project bench/Whittle.Bench -- {bench.Name}{(quick ? " --quick" : "")}",
                results = payload,
            };
            var path = Path.Combine(results, bench.Name + ".json");
            Whittle.Onnx.AtomicFile.WriteAllText(path, JsonSerializer.Serialize(envelope, new JsonSerializerOptions { WriteIndented = true }));
            AnsiConsole.MarkupLine($"[grey]wrote {Markup.Escape(path)}[/]");
        }
        return 0;
    }

    private static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Whittle.slnx"))) return d.FullName;
        throw new InvalidOperationException("run the benchmarks from inside the Whittle repository");
    }
}
