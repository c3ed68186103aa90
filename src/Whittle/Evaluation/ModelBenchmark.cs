using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Evaluation;

/// <summary>What and how the benchmark job times. Immutable; validated here.</summary>
public sealed class ModelBenchmarkOptions
{
    /// <summary>The options with every default.</summary>
    public static ModelBenchmarkOptions Default { get; } = new();

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="batchSizes">Batch sizes to time; null for 1 and 64.</param>
    /// <param name="threads">ONNX Runtime intra-op threads (0 = one per core); spinning is off, so two sessions timed together do not skew each other.</param>
    /// <param name="runs">Timed runs per model and batch size.</param>
    /// <param name="warmupRuns">Untimed runs first.</param>
    /// <param name="profile">Also run ORT's profiler afterwards and report each kernel's median time.</param>
    /// <param name="sequenceLength">The size of symbolic non-batch dimensions (a transformer's sequence) in the generated inputs.</param>
    /// <exception cref="InvalidOptionException">A value is out of range.</exception>
    public ModelBenchmarkOptions(IReadOnlyList<int>? batchSizes = null, int threads = 0, int runs = 100, int warmupRuns = 10, bool profile = false,
        int sequenceLength = GeneratedInputs.DefaultSequenceLength)
    {
        OptionChecks.Positive(sequenceLength, nameof(SequenceLength));
        batchSizes ??= [1, 64];
        if (batchSizes.Count == 0 || batchSizes.Any(b => b < 1)) throw new InvalidOptionException(nameof(BatchSizes), $"batch sizes must be positive, not [{string.Join(",", batchSizes)}]");
        if (threads < 0) throw new InvalidOptionException(nameof(Threads), $"threads must be 0 (one per core) or positive, not {threads}");
        if (runs < 1) throw new InvalidOptionException(nameof(Runs), $"time at least 1 run, not {runs}");
        if (warmupRuns < 0) throw new InvalidOptionException(nameof(WarmupRuns), $"warm-up runs must be 0 or more, not {warmupRuns}");
        BatchSizes = batchSizes.ToArray();
        Threads = threads;
        Runs = runs;
        WarmupRuns = warmupRuns;
        Profile = profile;
        SequenceLength = sequenceLength;
    }

    /// <summary>The size of symbolic non-batch dimensions in the generated inputs.</summary>
    public int SequenceLength { get; }

    /// <summary>Batch sizes to time.</summary>
    public IReadOnlyList<int> BatchSizes { get; }

    /// <summary>ORT intra-op threads (0 = one per core).</summary>
    public int Threads { get; }

    /// <summary>Timed runs per model and batch.</summary>
    public int Runs { get; }

    /// <summary>Untimed runs first.</summary>
    public int WarmupRuns { get; }

    /// <summary>Whether kernels are profiled afterwards.</summary>
    public bool Profile { get; }
}

/// <summary>One model's latency at one batch size.</summary>
/// <param name="Model">Index of the model in the call.</param>
/// <param name="BatchSize">The batch size.</param>
/// <param name="Runs">Timed runs.</param>
/// <param name="P50Ms">Median latency.</param>
/// <param name="P90Ms">90th percentile.</param>
/// <param name="P99Ms">99th percentile.</param>
/// <param name="MeanMs">Mean.</param>
/// <param name="MinMs">Fastest run.</param>
/// <param name="MaxMs">Slowest run.</param>
/// <param name="SamplesPerSecond">Throughput at the median.</param>
public sealed record ModelLatency(int Model, int BatchSize, int Runs, double P50Ms, double P90Ms, double P99Ms, double MeanMs, double MinMs, double MaxMs, double SamplesPerSecond);

/// <summary>The median latency of the second model over the first's, timed interleaved.</summary>
/// <param name="BatchSize">The batch size.</param>
/// <param name="MedianRatio">p50 of the second / p50 of the first.</param>
public sealed record LatencyRatio(int BatchSize, double MedianRatio);

/// <summary>ORT's kernels of one model at one batch size, with their median times.</summary>
/// <param name="Model">Index of the model in the call.</param>
/// <param name="BatchSize">The batch size.</param>
/// <param name="TotalKernelMs">Sum of the kernels' medians.</param>
/// <param name="Kernels">Each kernel of ORT's optimized graph.</param>
public sealed record KernelProfile(int Model, int BatchSize, double TotalKernelMs, IReadOnlyList<NodeTime> Kernels);

/// <summary>The benchmark of one or more models.</summary>
/// <param name="Results">Every model at every batch size.</param>
/// <param name="Ratios">With two models: the second's median over the first's, per batch size.</param>
/// <param name="IntraOpThreads">The threads asked for (0 = one per core).</param>
/// <param name="Interleaved">True when several models were timed run by run in turn.</param>
/// <param name="PeakResidentBytes">Peak resident memory of this process.</param>
/// <param name="Profiles">Kernel profiles, when asked for.</param>
/// <param name="SequenceLength">The length given to symbolic non-batch dimensions of the inputs; null when the model has none.</param>
public sealed record ModelBenchmarkResult(IReadOnlyList<ModelLatency> Results, IReadOnlyList<LatencyRatio> Ratios, int IntraOpThreads, bool Interleaved,
    long PeakResidentBytes, IReadOnlyList<KernelProfile>? Profiles, int? SequenceLength = null);

/// <summary>
/// The benchmark job: latency (p50/p90/p99), throughput and peak memory of models in ONNX Runtime.
/// Several models are timed interleaved, run by run, with spinning off, so load changes on a shared
/// machine hit all of them alike and their ratio is fair; kernels are profiled after the timing so
/// the profiler stays out of the latencies.
/// </summary>
public static class ModelBenchmark
{
    /// <summary>Times <paramref name="models"/> on generated inputs (<see cref="GeneratedInputs"/>, from the first model) of each batch size.</summary>
    /// <param name="models">One or more models with the same inputs.</param>
    /// <param name="options">What to time; null for the defaults.</param>
    /// <param name="progress">Receives the runs done per batch size.</param>
    public static ModelBenchmarkResult Run(IReadOnlyList<OnnxModel> models, ModelBenchmarkOptions? options = null, IProgress<JobProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(models);
        if (models.Count == 0) throw new InvalidOptionException(nameof(models), "benchmark at least one model");
        options ??= ModelBenchmarkOptions.Default;
        var runtime = RuntimeOptions.ForComparison(options.Threads);
        var latency = new LatencyBenchmarkOptions(runs: options.Runs, warmupRuns: options.WarmupRuns);
        var sessions = new List<OnnxRuntimeSession>();
        try
        {
            foreach (var m in models) sessions.Add(new OnnxRuntimeSession(m, runtime));
            var results = new List<ModelLatency>();
            var ratios = new List<LatencyRatio>();
            foreach (var b in options.BatchSizes)
            {
                var stage = $"batch {b}: {options.Runs} runs";
                var inputs = GeneratedInputs.Create(models[0], sessions[0], b, latency.Seed, options.SequenceLength);
                var samples = LatencyBenchmark.MeasureInterleaved(sessions, inputs, latency, new InlineProgress<int>(r => progress?.Report(new JobProgress(stage, r, options.Runs))));
                var stats = samples.Select(s => new LatencyStatistics(s.Milliseconds, b)).ToList();
                for (int k = 0; k < stats.Count; k++)
                {
                    var s = stats[k];
                    results.Add(new ModelLatency(k, b, s.Runs, s.P50Milliseconds, s.P90Milliseconds, s.P99Milliseconds, s.MeanMilliseconds, s.MinimumMilliseconds,
                        s.MaximumMilliseconds, s.SamplesPerSecond));
                }
                if (stats.Count == 2) ratios.Add(new LatencyRatio(b, stats[1].P50Milliseconds / stats[0].P50Milliseconds));
            }
            var profiles = options.Profile
                ? options.BatchSizes.SelectMany(b => models.Select((m, k) =>
                {
                    var kernels = NodeProfiler.Measure(m, GeneratedInputs.Create(models[0], sessions[0], b, latency.Seed, options.SequenceLength), options.Runs, options.WarmupRuns, runtime);
                    return new KernelProfile(k, b, kernels.Sum(t => t.MedianMs), kernels);
                })).ToList()
                : null;
            return new ModelBenchmarkResult(results, ratios, options.Threads, sessions.Count > 1, ProcessMemory.PeakResidentBytes(), profiles,
                GeneratedInputs.HasSymbolicSequence(sessions[0]) ? options.SequenceLength : null);
        }
        finally
        {
            foreach (var s in sessions) s.Dispose();
        }
    }

    /// <summary>Median latency of two models on the same inputs, interleaved (5 warm-up, 40 timed runs): the float-vs-optimized comparison of a job.</summary>
    public static (double FirstMs, double SecondMs) CompareMedians(OnnxModel first, OnnxModel second, IReadOnlyDictionary<string, RuntimeTensor> inputs, RuntimeOptions runtime)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        using var a = new OnnxRuntimeSession(first, runtime);
        using var b = new OnnxRuntimeSession(second, runtime);
        var samples = LatencyBenchmark.MeasureInterleaved([a, b], inputs, new LatencyBenchmarkOptions(warmupRuns: 5, runs: 40));
        return (LatencyStatistics.Percentile(samples[0].Milliseconds, 50), LatencyStatistics.Percentile(samples[1].Milliseconds, 50));
    }
}
