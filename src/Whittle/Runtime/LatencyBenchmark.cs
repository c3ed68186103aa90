using System.Diagnostics;

namespace Whittle.Runtime;

/// <summary>Settings of a latency measurement. Immutable; validated here; defaults live here only.</summary>
public sealed class LatencyBenchmarkOptions
{
    /// <summary>The options with every default.</summary>
    public static LatencyBenchmarkOptions Default { get; } = new();

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="warmupRuns">Untimed runs before measuring (lets ORT allocate and caches warm up).</param>
    /// <param name="runs">Timed runs per model and batch size.</param>
    /// <param name="seed">Seed of the generated input data.</param>
    /// <exception cref="InvalidOptionException">A run count is out of range.</exception>
    public LatencyBenchmarkOptions(int warmupRuns = 10, int runs = 100, int seed = 0)
    {
        WarmupRuns = OptionChecks.NonNegative(warmupRuns, nameof(WarmupRuns));
        Runs = OptionChecks.Positive(runs, nameof(Runs));
        Seed = seed;
    }

    /// <summary>Untimed runs before measuring.</summary>
    public int WarmupRuns { get; }

    /// <summary>Timed runs per model and batch size.</summary>
    public int Runs { get; }

    /// <summary>Seed of the generated input data.</summary>
    public int Seed { get; }
}

/// <summary>Per-run latencies of one model at one batch size.</summary>
/// <param name="Label">The model.</param>
/// <param name="BatchSize">Samples per run.</param>
/// <param name="Milliseconds">Wall-clock time of each timed run, in order.</param>
public sealed record LatencySamples(string Label, int BatchSize, double[] Milliseconds);

/// <summary>
/// Times ONNX Runtime inference: warm-up, then N timed runs. With several sessions the runs
/// are interleaved (A, B, A, B, ...) so that machine noise hits every model alike and their
/// ratio is meaningful even on a shared machine.
/// </summary>
public static class LatencyBenchmark
{
    /// <summary>Times one session on generated inputs of the given batch size.</summary>
    public static LatencySamples Measure(OnnxRuntimeSession session, int batchSize, LatencyBenchmarkOptions? options = null,
        IProgress<int>? progress = null) =>
        MeasureInterleaved([session], batchSize, options, progress)[0];

    /// <summary>Times several sessions, interleaving their runs; returns one result per session, in order.</summary>
    public static IReadOnlyList<LatencySamples> MeasureInterleaved(IReadOnlyList<OnnxRuntimeSession> sessions, int batchSize,
        LatencyBenchmarkOptions? options = null, IProgress<int>? progress = null)
    {
        options ??= new LatencyBenchmarkOptions();
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be >= 1");
        return Interleave(sessions, sessions.Select(s => (IReadOnlyDictionary<string, RuntimeTensor>)s.SampleInputs(batchSize, options.Seed)).ToArray(), batchSize, options, progress);
    }

    /// <summary>
    /// Times several sessions on the same given inputs (real samples rather than generated ones,
    /// e.g. when zeros would take a data-dependent shortcut), interleaving their runs.
    /// </summary>
    public static IReadOnlyList<LatencySamples> MeasureInterleaved(IReadOnlyList<OnnxRuntimeSession> sessions, IReadOnlyDictionary<string, RuntimeTensor> inputs,
        LatencyBenchmarkOptions? options = null, IProgress<int>? progress = null)
    {
        options ??= new LatencyBenchmarkOptions();
        int batchSize = (int)(inputs.Values.FirstOrDefault()?.Shape.FirstOrDefault(1) ?? 1);
        return Interleave(sessions, sessions.Select(_ => inputs).ToArray(), batchSize, options, progress);
    }

    private static IReadOnlyList<LatencySamples> Interleave(IReadOnlyList<OnnxRuntimeSession> sessions, IReadOnlyDictionary<string, RuntimeTensor>[] inputs,
        int batchSize, LatencyBenchmarkOptions options, IProgress<int>? progress)
    {
        var outputs = sessions.Select(s => (IReadOnlyCollection<string>)s.Outputs.Select(o => o.Name).ToArray()).ToArray();
        for (int w = 0; w < options.WarmupRuns; w++)
            for (int k = 0; k < sessions.Count; k++) sessions[k].Run(inputs[k], outputs[k]);

        var times = sessions.Select(_ => new double[options.Runs]).ToArray();
        for (int r = 0; r < options.Runs; r++)
        {
            for (int k = 0; k < sessions.Count; k++)
            {
                // Alternate which model goes first so neither always runs right after the other.
                int s = (r % 2 == 0) ? k : sessions.Count - 1 - k;
                long start = Stopwatch.GetTimestamp();
                sessions[s].Run(inputs[s], outputs[s]);
                times[s][r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            progress?.Report(r + 1);
        }
        return sessions.Select((s, k) => new LatencySamples(s.Label, batchSize, times[k])).ToList();
    }
}

/// <summary>Memory figures of the current process.</summary>
public static class ProcessMemory
{
    /// <summary>
    /// Peak resident set size of this process in bytes (Linux <c>VmHWM</c>, which includes native
    /// allocations by ONNX Runtime and libtorch; elsewhere the peak working set).
    /// </summary>
    public static long PeakResidentBytes()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
        {
            foreach (var line in File.ReadLines(status))
            {
                if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && long.TryParse(parts[1], out var kb)) return kb * 1024;
            }
        }
        using var p = Process.GetCurrentProcess();
        return p.PeakWorkingSet64;
    }

    /// <summary>Current resident set size in bytes.</summary>
    public static long CurrentResidentBytes()
    {
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.WorkingSet64;
    }
}
