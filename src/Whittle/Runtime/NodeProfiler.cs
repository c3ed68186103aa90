using System.Text.Json;
using System.Text.RegularExpressions;
using Whittle.Onnx;

namespace Whittle.Runtime;

/// <summary>The time ONNX Runtime spent in one node of its optimized graph.</summary>
/// <param name="Node">The node's name in ORT's optimized graph (fused nodes keep a name derived from an original node).</param>
/// <param name="OpType">The kernel that ran (e.g. QLinearConv, FusedConv, ReorderInput).</param>
/// <param name="MedianMs">Median time per run, in milliseconds.</param>
public sealed record NodeTime(string Node, string OpType, double MedianMs);

/// <summary>
/// Per-node kernel times from ONNX Runtime's own profiler: where a model spends its time after
/// ORT's graph optimizations (fusions, layout changes), which is what decides whether an int8
/// node is faster than its float original on this machine.
/// </summary>
public static class NodeProfiler
{
    /// <summary>
    /// Runs <paramref name="model"/> <paramref name="warmup"/> + <paramref name="runs"/> times on
    /// <paramref name="inputs"/> with profiling on and returns each node's median kernel time over
    /// the timed runs, slowest first. ORT writes its profile into a directory of its own under the
    /// system temp folder, which is deleted afterwards whether the measurement succeeds, fails or
    /// is cancelled; one left by a process that was killed is deleted by the next measurement.
    /// </summary>
    public static IReadOnlyList<NodeTime> Measure(OnnxModel model, IReadOnlyDictionary<string, RuntimeTensor> inputs,
        int runs = 10, int warmup = 2, RuntimeOptions? options = null) =>
        Measure(model, inputs, runs, warmup, options, Path.GetTempPath());

    /// <summary>The directory name prefix of a measurement's profile directory (followed by the process id and a random part).</summary>
    internal const string DirectoryPrefix = "whittle-profile-";

    /// <summary><see cref="Measure(OnnxModel, IReadOnlyDictionary{string, RuntimeTensor}, int, int, RuntimeOptions?)"/> with the profile directory under <paramref name="tempRoot"/> (tests use their own).</summary>
    internal static IReadOnlyList<NodeTime> Measure(OnnxModel model, IReadOnlyDictionary<string, RuntimeTensor> inputs,
        int runs, int warmup, RuntimeOptions? options, string tempRoot)
    {
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, "must be at least 1");
        RemoveOrphans(tempRoot);
        // A directory per measurement, not a file prefix: ORT names the file itself (prefix plus
        // a timestamp) and also writes it when a session is disposed without EndProfiling, so
        // deleting the directory is the one way to be sure nothing is left.
        var directory = Path.Combine(tempRoot, $"{DirectoryPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
        TemporaryFiles.Register(directory);
        try
        {
            Directory.CreateDirectory(directory);
            var profiled = (options ?? RuntimeOptions.Default).WithProfilePrefix(Path.Combine(directory, "profile"));
            string path;
            using (var session = new OnnxRuntimeSession(model, profiled))
            {
                for (int i = 0; i < warmup + runs; i++) session.Run(inputs);
                path = session.EndProfiling();
            }
            return Parse(File.ReadAllText(path), warmup);
        }
        finally
        {
            TemporaryFiles.TryDelete(directory);
            TemporaryFiles.Unregister(directory);
        }
    }

    /// <summary>Deletes profile directories that processes which no longer run left under <paramref name="tempRoot"/>.</summary>
    internal static void RemoveOrphans(string tempRoot)
    {
        var pattern = new Regex($"^{Regex.Escape(DirectoryPrefix)}(\\d+)-[0-9a-f]{{32}}$", RegexOptions.CultureInvariant);
        List<string> candidates;
        try
        {
            candidates = Directory.EnumerateFileSystemEntries(tempRoot, DirectoryPrefix + "*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        foreach (var candidate in candidates)
        {
            var match = pattern.Match(Path.GetFileName(candidate));
            if (match.Success && int.TryParse(match.Groups[1].Value, out var pid) && !TemporaryFiles.IsRunning(pid))
                TemporaryFiles.TryDelete(candidate);
        }
    }

    /// <summary>Parses an ORT profile (Chrome trace JSON): median per node over the runs after <paramref name="skipRuns"/>.</summary>
    public static IReadOnlyList<NodeTime> Parse(string profileJson, int skipRuns)
    {
        using var doc = JsonDocument.Parse(profileJson);
        var perNode = new Dictionary<string, (string Op, List<(long Ts, double Ms)> Times)>(StringComparer.Ordinal);
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (!e.TryGetProperty("cat", out var cat) || cat.GetString() != "Node") continue;
            var name = e.GetProperty("name").GetString() ?? "";
            const string suffix = "_kernel_time";
            if (!name.EndsWith(suffix, StringComparison.Ordinal)) continue;
            name = name[..^suffix.Length];
            var op = e.TryGetProperty("args", out var args) && args.TryGetProperty("op_name", out var o) ? o.GetString() ?? "" : "";
            if (!perNode.TryGetValue(name, out var entry)) perNode[name] = entry = (op, []);
            entry.Times.Add((e.GetProperty("ts").GetInt64(), e.GetProperty("dur").GetInt64() / 1000.0));
        }
        var result = new List<NodeTime>();
        foreach (var (name, (op, times)) in perNode)
        {
            var timed = times.OrderBy(t => t.Ts).Skip(skipRuns).Select(t => t.Ms).Order().ToList();
            if (timed.Count == 0) continue;
            double median = timed.Count % 2 == 1 ? timed[timed.Count / 2] : (timed[timed.Count / 2 - 1] + timed[timed.Count / 2]) / 2;
            result.Add(new NodeTime(name, op, median));
        }
        return result.OrderByDescending(r => r.MedianMs).ToList();
    }
}
