using Whittle.Onnx;

namespace Whittle.Runtime;

/// <summary>A model to time against the roofline, with its multiply-accumulates per sample.</summary>
/// <param name="Name">The name the result is reported under.</param>
/// <param name="Model">The model.</param>
/// <param name="MacsPerSample">Its MACs per sample (counted on the float graph, e.g. <c>ChannelPruningPlan.MacsBefore</c>: an int8 model does the same MACs).</param>
public sealed record RooflineModel(string Name, OnnxModel Model, long MacsPerSample);

/// <summary>One model's time against the fp32 and int8 limits (its MACs at the peaks measured in the same rounds).</summary>
/// <param name="Name">The model.</param>
/// <param name="MacsPerSample">Its MACs per sample.</param>
/// <param name="BatchSize">Samples per run.</param>
/// <param name="MedianMs">Median of its round times, ms.</param>
/// <param name="BestMs">Its fastest timed run, ms.</param>
/// <param name="Float32LimitMs">Its MACs at the fp32 peak, ms.</param>
/// <param name="Int8LimitMs">Its MACs at the int8 peak, ms.</param>
public sealed record RooflineTime(string Name, long MacsPerSample, int BatchSize, double MedianMs, double BestMs, double Float32LimitMs, double Int8LimitMs)
{
    /// <summary>Median time ÷ fp32 limit.</summary>
    public double TimesFloat32Limit => MedianMs / Float32LimitMs;

    /// <summary>Median time ÷ int8 limit: how far the model is from every MAC at the int8 peak.</summary>
    public double TimesInt8Limit => MedianMs / Int8LimitMs;

    /// <summary>Fastest run ÷ fp32 limit (fastest against fastest: the figure least moved by load).</summary>
    public double BestTimesFloat32Limit => BestMs / Float32LimitMs;

    /// <summary>Fastest run ÷ int8 limit.</summary>
    public double BestTimesInt8Limit => BestMs / Int8LimitMs;
}

/// <summary>Models timed together with the peak kernels.</summary>
/// <param name="Peaks">The peaks the limits use: measured in these rounds (under the load the models met), or earlier in the process where that was faster.</param>
/// <param name="Models">Every model, in the order given.</param>
public sealed record RooflineTimings(MachinePeaks Peaks, IReadOnlyList<RooflineTime> Models);

/// <summary>
/// Times models and the two peak micro-kernels of <see cref="PeakMacRate"/> together, in the same
/// interleaved rounds, so that the peaks a model is compared with were measured in the minutes it was
/// timed (on a shared machine, under the same load). The peak is the kernel's fastest run; a model is
/// reported by its median and its fastest run. Fresh sessions, the caller's threads, spinning off.
/// </summary>
public static class RooflineTiming
{
    /// <summary>Times <paramref name="models"/> (on the same <paramref name="inputs"/>) with the peak kernels.</summary>
    /// <param name="models">Models with their MACs per sample; at least one.</param>
    /// <param name="inputs">The models' inputs (one batch).</param>
    /// <param name="runtime">Threads; spinning is turned off, profiling ignored. Null for ORT's default threads.</param>
    /// <param name="options">Kernel size and rounds; null for the defaults.</param>
    /// <param name="earlier">Peaks measured earlier in this process on the same threads: where one is faster than this call's, it is the peak (<see cref="MachinePeaks.Best"/>).</param>
    public static RooflineTimings Measure(IReadOnlyList<RooflineModel> models, IReadOnlyDictionary<string, RuntimeTensor> inputs,
        RuntimeOptions? runtime = null, PeakMacRateOptions? options = null, MachinePeaks? earlier = null)
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
            return FromTimes(models.Select(m => (m.Name, m.MacsPerSample)).ToList(), batch, times.Take(models.Count).ToList(),
                runtime.IntraOpThreads, float32, times[^2], int8, times[^1], earlier);
        }
        finally
        {
            foreach (var s in sessions) s.Dispose();
        }
    }

    /// <summary>The results from the timings of the models and of the kernels (the same rounds): the arithmetic of <see cref="Measure"/>.</summary>
    public static RooflineTimings FromTimes(IReadOnlyList<(string Name, long MacsPerSample)> models, int batchSize, IReadOnlyList<RoundTimes> modelTimes,
        int intraOpThreads, PeakKernel float32, RoundTimes float32Times, PeakKernel int8, RoundTimes int8Times, MachinePeaks? earlier = null)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(modelTimes);
        if (models.Count != modelTimes.Count) throw new ArgumentException($"one timing per model: {models.Count} models, {modelTimes.Count} timings");
        var peaks = PeakMacRate.FromTimes(intraOpThreads, float32, float32Times, int8, int8Times);
        if (earlier is not null) peaks = MachinePeaks.Best(earlier, peaks);
        var results = models.Select((m, k) =>
        {
            double macs = (double)m.MacsPerSample * batchSize;
            return new RooflineTime(m.Name, m.MacsPerSample, batchSize, Roofline.Median(modelTimes[k].RoundMs), modelTimes[k].RunMs.Min(),
                Roofline.Milliseconds(macs, peaks.Float32.MacsPerSecond), Roofline.Milliseconds(macs, peaks.Int8.MacsPerSecond));
        }).ToList();
        return new RooflineTimings(peaks, results);
    }
}
