using Whittle.Onnx;

namespace Whittle.Runtime;

/// <summary>A model to time against the roofline, with its multiply-accumulates per sample.</summary>
/// <param name="Name">The name the result is reported under.</param>
/// <param name="Model">The model.</param>
/// <param name="MacsPerSample">Its MACs per sample (counted on the float graph, e.g. <c>ChannelPruningPlan.MacsBefore</c>: an int8 model does the same MACs).</param>
public sealed record RooflineModel(string Name, OnnxModel Model, long MacsPerSample);

/// <summary>One model's time against the fp32 and int8 limits, all measured in the same rounds.</summary>
/// <param name="Name">The model.</param>
/// <param name="MacsPerSample">Its MACs per sample.</param>
/// <param name="BatchSize">Samples per run.</param>
/// <param name="MedianMs">Median of its round times, ms.</param>
/// <param name="Float32LimitMs">Its MACs at the fp32 peak (median rate of the rounds), ms.</param>
/// <param name="Int8LimitMs">Its MACs at the int8 peak (median rate of the rounds), ms.</param>
/// <param name="TimesFloat32Limit">Median over the rounds of its time ÷ its fp32 limit in that round.</param>
/// <param name="TimesInt8Limit">Median over the rounds of its time ÷ its int8 limit in that round.</param>
public sealed record RooflineTime(string Name, long MacsPerSample, int BatchSize, double MedianMs, double Float32LimitMs, double Int8LimitMs,
    double TimesFloat32Limit, double TimesInt8Limit);

/// <summary>Models timed together with the peak kernels.</summary>
/// <param name="Peaks">The peaks as measured in these rounds (under the load the models met).</param>
/// <param name="Models">Every model, in the order given.</param>
public sealed record RooflineTimings(MachinePeaks Peaks, IReadOnlyList<RooflineTime> Models);

/// <summary>
/// Times models and the two peak micro-kernels of <see cref="PeakMacRate"/> together, in the same
/// interleaved rounds, so that a model's distance to its compute limit is measured under the load it
/// met: on a shared machine a peak measured a minute earlier can be 3× off, a ratio taken within one
/// round is not. Fresh sessions, the caller's threads, spinning off.
/// </summary>
public static class RooflineTiming
{
    /// <summary>Times <paramref name="models"/> (on the same <paramref name="inputs"/>) with the peak kernels.</summary>
    /// <param name="models">Models with their MACs per sample; at least one.</param>
    /// <param name="inputs">The models' inputs (one batch).</param>
    /// <param name="runtime">Threads; spinning is turned off, profiling ignored. Null for ORT's default threads.</param>
    /// <param name="options">Kernel size and rounds; null for the defaults.</param>
    public static RooflineTimings Measure(IReadOnlyList<RooflineModel> models, IReadOnlyDictionary<string, RuntimeTensor> inputs,
        RuntimeOptions? runtime = null, PeakMacRateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(inputs);
        if (models.Count == 0) throw new ArgumentException("time at least one model", nameof(models));
        runtime ??= RuntimeOptions.Default;
        options ??= PeakMacRateOptions.Default;
        var (float32, int8) = PeakMacRate.Kernels(options);
        var timing = new RuntimeOptions(runtime.IntraOpThreads, runtime.InterOpThreads, runtime.Optimization, allowSpinning: false);
        var sessions = new List<OnnxRuntimeSession>(models.Count + 2);
        try
        {
            foreach (var m in models) sessions.Add(new OnnxRuntimeSession(m.Model, timing));
            sessions.Add(new OnnxRuntimeSession(float32.Model, timing));
            sessions.Add(new OnnxRuntimeSession(int8.Model, timing));
            var perSession = models.Select(_ => inputs).Append(float32.Inputs).Append(int8.Inputs).ToArray();
            var times = InterleavedRounds.Measure(sessions, perSession, options.Rounds);
            int batch = (int)(inputs.Values.FirstOrDefault()?.Shape.FirstOrDefault(1) ?? 1);
            return FromRounds(models.Select(m => (m.Name, m.MacsPerSample)).ToList(), batch, times.Take(models.Count).Select(t => t.RoundMs).ToList(),
                runtime.IntraOpThreads, float32, times[^2].RoundMs, int8, times[^1].RoundMs);
        }
        finally
        {
            foreach (var s in sessions) s.Dispose();
        }
    }

    /// <summary>The results from per-round times (ms), all with the same rounds: the arithmetic of <see cref="Measure"/>.</summary>
    public static RooflineTimings FromRounds(IReadOnlyList<(string Name, long MacsPerSample)> models, int batchSize, IReadOnlyList<double[]> modelRoundMs,
        int intraOpThreads, PeakKernel float32, double[] float32RoundMs, PeakKernel int8, double[] int8RoundMs)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(modelRoundMs);
        if (models.Count != modelRoundMs.Count) throw new ArgumentException($"one set of round times per model: {models.Count} models, {modelRoundMs.Count} sets");
        var peaks = PeakMacRate.FromRounds(intraOpThreads, float32, float32RoundMs, int8, int8RoundMs);
        var results = models.Select((m, k) =>
        {
            double macs = (double)m.MacsPerSample * batchSize;
            return new RooflineTime(m.Name, m.MacsPerSample, batchSize, Roofline.Median(modelRoundMs[k]),
                Roofline.Milliseconds(macs, peaks.Float32.MacsPerSecond), Roofline.Milliseconds(macs, peaks.Int8.MacsPerSecond),
                Roofline.MedianTimesLimit(modelRoundMs[k], macs, float32RoundMs, float32.MacsPerRun),
                Roofline.MedianTimesLimit(modelRoundMs[k], macs, int8RoundMs, int8.MacsPerRun));
        }).ToList();
        return new RooflineTimings(peaks, results);
    }
}
