using System.Text.Json;
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
    /// the timed runs, slowest first. The profile file is deleted afterwards.
    /// </summary>
    public static IReadOnlyList<NodeTime> Measure(OnnxModel model, IReadOnlyDictionary<string, RuntimeTensor> inputs,
        int runs = 10, int warmup = 2, RuntimeOptions? options = null)
    {
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, "must be at least 1");
        var prefix = Path.Combine(Path.GetTempPath(), $"whittle-profile-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var profiled = (options ?? RuntimeOptions.Default).WithProfilePrefix(prefix);
        string path;
        using (var session = new OnnxRuntimeSession(model, profiled))
        {
            for (int i = 0; i < warmup + runs; i++) session.Run(inputs);
            path = session.EndProfiling();
        }
        try
        {
            return Parse(File.ReadAllText(path), warmup);
        }
        finally
        {
            File.Delete(path);
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
