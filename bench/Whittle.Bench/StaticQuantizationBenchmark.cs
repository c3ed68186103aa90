using Spectre.Console;
using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Pruning;
using Whittle.Quantization;
using Whittle.Runtime;

namespace Whittle.Bench;

/// <summary>
/// Static int8 (QDQ) on the trained Fashion-MNIST ConvNet and ResNet-8 (bench/models) for every
/// calibration method: test accuracy, file size, and ORT latency at batch 64 with 2 threads,
/// float vs naive all-int8 vs Whittle's latency placement, interleaved in one run; then the
/// pretrained ResNet18 of the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 at batch 1.
/// Where the int8 time goes: the machine's fp32 and int8 peak MAC rates measured once per run
/// (<see cref="PeakMacRate"/>), each model's MACs against them (<see cref="Roofline"/>), and the
/// int8 kernels' share of every int8 variant's kernel time (<see cref="KernelShare"/> of a
/// <see cref="NodeProfiler"/> profile).
/// </summary>
internal sealed class StaticQuantizationBenchmark : IBenchmark
{
    public string Name => "quantize";
    public string Description => "static int8: accuracy, size, latency (float vs naive int8 vs placed) per calibration method; pretrained ResNet18; int8 kernel share and roofline against the measured peaks";

    private const int Threads = 2;

    public object Run(BenchContext context)
    {
        var preprocessing = FashionMnist.StandardPreprocessing();
        var train = FashionMnist.Load(DatasetSplit.Train, preprocessing).Dataset;
        var test = FashionMnist.Load(DatasetSplit.Test, preprocessing).Dataset;
        var calibration = train.Shuffle(0).Take(512);
        var runtime = RuntimeOptions.ForComparison(Threads);
        var latency = new LatencyBenchmarkOptions(runs: context.Quick ? 20 : 100, warmupRuns: 10);
        var peaks = new PeakTracker(MeasurePeaks(runtime, context.Quick));
        var start = peaks.Best;
        var startLoad = LoadAverage();
        var rows = new List<object>();
        // Whittle's own zoo models, then BN-folded PyTorch exports (bench/reference/make_folded_exports.py).
        foreach (var file in new[] { "convnet-fmnist.onnx", "resnet8-fmnist.onnx", "cnn3-pytorch-fmnist.onnx", "resnet8w1-pytorch-fmnist.onnx" })
            rows.Add(Fmnist(Path.Combine(context.RepoRoot, "bench", "models", file), calibration, test, runtime, latency, peaks, context.Quick));
        var resnet18 = ResNet18(test, runtime, peaks, context.Quick);
        AnsiConsole.MarkupLine($"fastest peaks of the run: fp32 {peaks.Best.Float32.MacsPerSecond / 1e9:0.0}, int8 {peaks.Best.Int8.MacsPerSecond / 1e9:0.0} GMAC/s (int8/fp32 {peaks.Best.Int8OverFloat32:0.00}×, {peaks.Best.Rounds} rounds)");
        return new { threads = Threads, calibrationSamples = calibration.Count, testSamples = test.Count, peaks = PeaksJson(start, startLoad), peaksBest = PeaksJson(peaks.Best, LoadAverage()), models = rows, resnet18 };
    }

    /// <summary>The fastest peaks seen so far in the run (each roofline measurement may find faster kernel runs).</summary>
    private sealed class PeakTracker(MachinePeaks start)
    {
        public MachinePeaks Best { get; set; } = start;
    }

    /// <summary>The machine's fp32 and int8 peak MAC rates on the benchmark's threads, measured once at the start with hundreds of short runs and printed; each roofline table re-times the kernels in its own rounds and uses the fastest runs seen so far.</summary>
    private static MachinePeaks MeasurePeaks(RuntimeOptions runtime, bool quick)
    {
        // Many short runs: the fastest of them is the peak, and a 0.3-0.7 ms kernel pair affords hundreds.
        var peaks = PeakMacRate.Measure(runtime, new PeakMacRateOptions(rounds: new LatencyRoundsOptions(minRounds: 9, maxRounds: quick ? 60 : 200, budgetSeconds: quick ? 1.5 : 4)));
        var table = new Table().Title($"peak MAC rates in ONNX Runtime, {Threads} threads, spinning off, {peaks.Rounds} interleaved rounds (peak = fastest run); each roofline table below re-measures them in the rounds of its models")
            .AddColumns("kernel", "MACs/run", "fastest run ms", "median round ms", "peak GMAC/s (fastest)", "GMAC/s at the median");
        foreach (var k in new[] { peaks.Float32, peaks.Int8 })
            table.AddRow(Markup.Escape(k.Kernel), $"{k.MacsPerRun:N0}", k.BestMs.ToString("0.000"), k.MedianMs.ToString("0.000"),
                (k.MacsPerSecond / 1e9).ToString("0.0"), (k.MedianMacsPerSecond / 1e9).ToString("0.0"));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"int8 peak / fp32 peak = [bold]{peaks.Int8OverFloat32:0.00}×[/] (load average {LoadAverage()})");
        return peaks;
    }

    private static object PeaksJson(MachinePeaks p, string loadAverage) => new
    {
        intraOpThreads = p.IntraOpThreads, rounds = p.Rounds, int8OverFloat32 = p.Int8OverFloat32, loadAverage,
        float32 = KernelJson(p.Float32), int8 = KernelJson(p.Int8),
    };

    private static object KernelJson(KernelRate k) => new
    {
        kernel = k.Kernel, macsPerRun = k.MacsPerRun, bestMs = k.BestMs, medianRoundMs = k.MedianMs, peakMacsPerSecond = k.MacsPerSecond, medianMacsPerSecond = k.MedianMacsPerSecond,
    };

    /// <summary>The 1-minute load average (Linux), so a reader can tell a quiet run from a loaded one.</summary>
    private static string LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    /// <summary>MACs per sample of Conv/Gemm/MatMul layers with constant weights (the pruning planner's count), or null with a note when the model cannot be analysed.</summary>
    private static long? MacsPerSample(OnnxModel model, string name)
    {
        try
        {
            return ChannelPruner.Plan(model, new ChannelPruningOptions(0)).MacsBefore;
        }
        catch (WhittleException e)
        {
            AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(name)}: MACs not counted ({Markup.Escape(e.Message)}); no roofline[/]");
            return null;
        }
    }

    /// <summary>
    /// Where the int8 time goes: the float model and every int8 variant timed together with the peak
    /// kernels (<see cref="RooflineTiming"/>: the same rounds, so the same load), then each int8
    /// variant profiled for its kernel shares (after the timing, so the profiler stays out of it).
    /// </summary>
    private static RooflineReport MeasureRoofline(string name, int batch, long? macs, OnnxModel floatModel, IReadOnlyList<(string Label, OnnxModel Model)> int8,
        IReadOnlyDictionary<string, RuntimeTensor> inputs, RuntimeOptions runtime, PeakTracker peaks, bool quick)
    {
        RooflineTimings? timings = null;
        if (macs is { } m)
        {
            var models = int8.Select(v => new RooflineModel(v.Label, v.Model, m)).Prepend(new RooflineModel("float", floatModel, m)).ToList();
            timings = RooflineTiming.Measure(models, inputs, runtime, PeakOptions(quick), peaks.Best);
            peaks.Best = timings.Peaks;
        }
        var shares = int8.Select(v => KernelShare.Of(NodeProfiler.Measure(v.Model, inputs, quick ? 5 : 10, 2, runtime))).ToList();
        var report = new RooflineReport(name, batch, macs, timings, int8.Select(v => v.Label).ToList(), shares);
        Print(report);
        return report;
    }

    private static PeakMacRateOptions PeakOptions(bool quick) =>
        new(rounds: quick ? new LatencyRoundsOptions(minRounds: 5, maxRounds: 9, budgetSeconds: 1.5) : new LatencyRoundsOptions(minRounds: 9, maxRounds: 21, budgetSeconds: 6));

    /// <summary>The roofline of one model: timings (null when its MACs could not be counted) and each int8 variant's kernel shares.</summary>
    private sealed record RooflineReport(string Name, int Batch, long? Macs, RooflineTimings? Timings, IReadOnlyList<string> Variants, IReadOnlyList<KernelShare> Shares)
    {
        public RooflineTime? Float => Timings?.Models[0];

        public RooflineTime? Int8(int k) => Timings?.Models[k + 1];
    }

    private static void Print(RooflineReport r)
    {
        var peaks = r.Timings is { } t
            ? $"ms: medians of rounds interleaved with the peak kernels; fastest peaks so far: fp32 {t.Peaks.Float32.MacsPerSecond / 1e9:0.0}, int8 {t.Peaks.Int8.MacsPerSecond / 1e9:0.0} GMAC/s"
            : "no MAC count";
        var table = new Table().Title($"{r.Name}: where the int8 time goes, batch {r.Batch}, {Threads} threads ({peaks}; load average {LoadAverage()})")
            .AddColumns("variant", "MACs/sample", "fp32 ms", "int8 ms", "int8/fp32", "int8 kernels", "Q/DQ+layout", "float kernels",
                "roofline fp32 ms", "fp32 ÷ roofline", "roofline int8 ms", "int8 ÷ roofline", "fastest fp32, int8 ÷ roofline");
        for (int k = 0; k < r.Variants.Count; k++)
        {
            var (f, q, share) = (r.Float, r.Int8(k), r.Shares[k]);
            table.AddRow(Markup.Escape(r.Variants[k]), r.Macs is { } m ? $"{m:N0}" : "n/a", f?.MedianMs.ToString("0.000") ?? "n/a", q?.MedianMs.ToString("0.000") ?? "n/a",
                f is not null && q is not null ? (q.MedianMs / f.MedianMs).ToString("0.00") : "n/a",
                share.IntegerShare.ToString("P0"), share.ConversionShare.ToString("P0"), share.FloatShare.ToString("P0"),
                f?.Float32LimitMs.ToString("0.000") ?? "n/a", f?.TimesFloat32Limit.ToString("0.0") ?? "n/a",
                q?.Int8LimitMs.ToString("0.000") ?? "n/a", q?.TimesInt8Limit.ToString("0.0") ?? "n/a",
                f is not null && q is not null ? $"{f.BestTimesFloat32Limit:0.0}, {q.BestTimesInt8Limit:0.0}" : "n/a");
        }
        AnsiConsole.Write(table);
        for (int k = 0; k < r.Variants.Count; k++)
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(r.Variants[k])}: kernel time {r.Shares[k].TotalMs:0.000} ms = "
                + Markup.Escape(string.Join(", ", r.Shares[k].ByOpType.Take(8).Select(o => $"{o.OpType} {o.Ms:0.000}"))) + "[/]");
    }

    private static object RooflineJson(RooflineReport r) => new
    {
        batch = r.Batch, macsPerSample = r.Macs, loadAverage = LoadAverage(),
        peaksInRun = r.Timings is { } t ? PeaksJson(t.Peaks, LoadAverage()) : null,
        float32 = r.Float is { } f ? new { medianMs = f.MedianMs, bestMs = f.BestMs, float32RooflineMs = f.Float32LimitMs, timesFloat32Roofline = f.TimesFloat32Limit, bestTimesFloat32Roofline = f.BestTimesFloat32Limit } : null,
        int8 = r.Variants.Select((v, k) => new
        {
            variant = v, medianMs = r.Int8(k)?.MedianMs, bestMs = r.Int8(k)?.BestMs, bestTimesInt8Roofline = r.Int8(k)?.BestTimesInt8Limit, latencyRatio = r.Int8(k) is { } q && r.Float is { } fl ? q.MedianMs / fl.MedianMs : (double?)null,
            int8RooflineMs = r.Int8(k)?.Int8LimitMs, timesInt8Roofline = r.Int8(k)?.TimesInt8Limit,
            kernelMs = r.Shares[k].TotalMs, integerKernelMs = r.Shares[k].IntegerMs, conversionKernelMs = r.Shares[k].ConversionMs, floatKernelMs = r.Shares[k].FloatMs,
            integerShare = r.Shares[k].IntegerShare, conversionShare = r.Shares[k].ConversionShare, floatShare = r.Shares[k].FloatShare,
            byOpType = r.Shares[k].ByOpType.Select(o => new { opType = o.OpType, kind = o.Kind.ToString(), ms = o.Ms }).ToList(),
        }).ToList(),
    };

    private static object Fmnist(string path, TensorDataset calibration, TensorDataset test, RuntimeOptions runtime, LatencyBenchmarkOptions latency, PeakTracker peaks, bool quick)
    {
        var name = Path.GetFileNameWithoutExtension(path);
        var model = OnnxModel.Load(path);
        var input = model.Graph.Inputs[0].Name;
        var prepared = StaticQuantizer.Prepare(model);
        var profileBatch = ActivationCalibration.Batches(input, test.Features, [.. test.SampleShape], 64, 64).First();
        var variants = new List<(string Label, CalibrationMethod? Method, OnnxModel Model, int FloatNodes)> { ("float", null, model, 0) };
        foreach (var method in Enum.GetValues<CalibrationMethod>())
        {
            var options = new StaticQuantizationOptions(calibration: method);
            var ranges = StaticQuantizer.Calibrate(prepared, ActivationCalibration.Batches(input, calibration.Features, [.. calibration.SampleShape], 64, calibration.Count), options, runtime: runtime);
            if (method == CalibrationMethod.MinMax)
            {
                // The same all-int8 model without IntegerConvAlignment: what the first convolution costs in ORT's generic int8 path.
                variants.Add(("naive all-int8, unaligned (minmax)", method, StaticQuantizer.Apply(prepared, ranges, new StaticQuantizationOptions(calibration: method, alignConvChannels: false)).Model.Model, 0));
                variants.Add(("naive all-int8 (minmax)", method, StaticQuantizer.Apply(prepared, ranges, options).Model.Model, 0));
            }
            var placement = LatencyPlacement.Choose(prepared, ranges, options, profileBatch, runtime, quick ? 5 : 10);
            variants.Add(($"placed ({method.ToString().ToLowerInvariant()})", method, StaticQuantizer.Apply(prepared, ranges, options, placement.FloatNodes).Model.Model, placement.FloatNodes.Count));
        }

        var sessions = variants.Select(v => new OnnxRuntimeSession(v.Model, runtime)).ToList();
        var times = LatencyBenchmark.MeasureInterleaved(sessions, profileBatch, latency).Select(s => LatencyStatistics.Percentile(s.Milliseconds, 50)).ToArray();
        var table = new Table().Title($"{name}: static int8, batch 64, {Threads} threads, {latency.Runs} interleaved runs")
            .AddColumns("variant", "nodes in float", "test accuracy", "Δ points", "macro-F1", "size", "size ratio", "p50 ms", "× float");
        var results = new List<object>();
        double floatAccuracy = 0;
        long floatBytes = ModelSizeReport.Measure(model).TotalBytes;
        for (int i = 0; i < variants.Count; i++)
        {
            var report = ModelEvaluator.Classify(variants[i].Model, test, new EvaluationOptions(runtime: runtime)).Report;
            if (i == 0) floatAccuracy = report.Accuracy;
            long bytes = ModelSizeReport.Measure(variants[i].Model).TotalBytes;
            double drop = (floatAccuracy - report.Accuracy) * 100;
            table.AddRow(variants[i].Label, variants[i].FloatNodes.ToString(), report.Accuracy.ToString("P2"), ((report.Accuracy - floatAccuracy) * 100).ToString("+0.00;-0.00;0.00"),
                report.Macro.F1.ToString("0.0000"), $"{bytes / 1024.0:0.0} KiB", ((double)bytes / floatBytes).ToString("0.000"),
                times[i].ToString("0.000"), (times[i] / times[0]).ToString("0.00"));
            results.Add(new { variant = variants[i].Label, calibration = variants[i].Method?.ToString(), floatNodes = variants[i].FloatNodes, accuracy = report.Accuracy,
                accuracyDropPoints = drop, macroF1 = report.Macro.F1, bytes, sizeRatio = (double)bytes / floatBytes, p50Ms = times[i], latencyRatio = times[i] / times[0] });
        }
        foreach (var s in sessions) s.Dispose();
        AnsiConsole.Write(table);

        var roofline = MeasureRoofline(name, 64, MacsPerSample(model, name), model, variants.Skip(1).Select(v => (v.Label, v.Model)).ToList(), profileBatch, runtime, peaks, quick);
        return new { model = name, batch = 64, variants = results, roofline = RooflineJson(roofline) };
    }

    /// <summary>
    /// The package's CNTK ResNet18 (IR 3, opset 8, 22 unfused BatchNorms): folded, upgraded to
    /// opset 13, calibrated on 64 images and checked on 32 others. No ImageNet images exist on
    /// these machines, so the images are Fashion-MNIST test images upsampled to 224×224 and
    /// preprocessed like the package's ResNetPreprocess.onnx (three channels, BGR, minus its mean image).
    /// </summary>
    private static object? ResNet18(TensorDataset test, RuntimeOptions runtime, PeakTracker peaks, bool quick)
    {
        var root = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
            "microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1", "tools", "DnnImageModels");
        var modelPath = Path.Combine(root, "ResNet18Onnx", "ResNet18.onnx");
        if (!File.Exists(modelPath))
        {
            AnsiConsole.MarkupLine($"[yellow]skipped ResNet18: {Markup.Escape(modelPath)} not found (restore bench/Whittle.Bench to download the package)[/]");
            return null;
        }
        var model = OnnxModel.Load(modelPath);
        var mean = OnnxModel.Load(Path.Combine(root, "ResNetPrepOnnx", "ResNetPreprocess.onnx")).Graph.FindInitializer("MeanImage")!.ToFloatArray();
        int calibrationCount = quick ? 16 : 64, holdoutCount = quick ? 8 : 32;
        var images = ImageNetLike(test, calibrationCount + holdoutCount, mean);
        var input = model.Graph.Inputs[0].Name;
        const int size = 3 * 224 * 224;
        IEnumerable<IReadOnlyDictionary<string, RuntimeTensor>> Images(int start, int count) =>
            Enumerable.Range(start, count).Select(i => (IReadOnlyDictionary<string, RuntimeTensor>)new Dictionary<string, RuntimeTensor>
            { [input] = RuntimeTensor.FromFloats(images.AsSpan(i * size, size).ToArray(), 1, 3, 224, 224) });

        var options = new StaticQuantizationOptions();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var prepared = StaticQuantizer.Prepare(model);
        var ranges = StaticQuantizer.Calibrate(prepared, Images(0, calibrationCount), options, runtime: runtime);
        var one = Images(0, 1).First();
        var placement = LatencyPlacement.Choose(prepared, ranges, options, one, runtime, quick ? 3 : 10);
        var (quantized, _) = StaticQuantizer.Apply(prepared, ranges, options, placement.FloatNodes);
        var seconds = watch.Elapsed.TotalSeconds;
        var verification = QuantizationVerifier.Verify(model, quantized, Images(calibrationCount, holdoutCount), runtime);
        using var fs = new OnnxRuntimeSession(model, runtime);
        using var qs = new OnnxRuntimeSession(quantized.Model, runtime);
        var t = LatencyBenchmark.MeasureInterleaved([fs, qs], one, new LatencyBenchmarkOptions(runs: quick ? 10 : 50, warmupRuns: 5));
        double floatMs = LatencyStatistics.Percentile(t[0].Milliseconds, 50), int8Ms = LatencyStatistics.Percentile(t[1].Milliseconds, 50);
        long floatBytes = ModelSizeReport.Measure(model).TotalBytes, int8Bytes = ModelSizeReport.Measure(quantized.Model).TotalBytes;
        var output = verification.Outputs[0];
        var table = new Table().Title($"ResNet18 (CNTK, NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18), batch 1, {Threads} threads")
            .AddColumns("", "float", "int8", "ratio");
        table.AddRow("size", $"{floatBytes / 1048576.0:0.00} MiB", $"{int8Bytes / 1048576.0:0.00} MiB", ((double)int8Bytes / floatBytes).ToString("0.000"));
        table.AddRow("p50 latency", $"{floatMs:0.00} ms", $"{int8Ms:0.00} ms", (int8Ms / floatMs).ToString("0.00"));
        table.AddRow($"output vs float ({holdoutCount} held-out images)", "", $"cosine {output.Cosine:0.0000}, SQNR {output.SqnrDb:0.0} dB", "");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{prepared.Changes.Count} preparation steps (BatchNorm folds, opset upgrade); {placement.FloatNodes.Count} nodes kept float by placement; quantized in {seconds:0.0} s");
        var roofline = MeasureRoofline("ResNet18", 1, MacsPerSample(prepared.Model, "ResNet18"), model, [("placed (minmax)", quantized.Model)], one, runtime, peaks, quick);
        return new
        {
            model = "Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1 ResNet18.onnx",
            images = "Fashion-MNIST test images upsampled to 224x224, 3 channels, BGR minus the package's mean image",
            calibrationImages = calibrationCount, heldOutImages = holdoutCount, preparation = prepared.Changes, floatNodes = placement.FloatNodes.ToList(),
            floatBytes, int8Bytes, floatP50Ms = floatMs, int8P50Ms = int8Ms, latencyRatio = int8Ms / floatMs,
            cosine = output.Cosine, sqnrDb = output.SqnrDb, secondsToQuantize = seconds,
            roofline = RooflineJson(roofline),
        };
    }

    /// <summary>Bilinear 28→224 upsampling (half-pixel centres, as torch's align_corners=False), three channels, minus the mean image.</summary>
    private static float[] ImageNetLike(TensorDataset test, int count, float[] mean)
    {
        const int src = 28, dst = 224;
        var result = new float[count * 3 * dst * dst];
        var shuffled = test.Shuffle(0);
        for (int k = 0; k < count; k++)
        {
            // Undo the Fashion-MNIST normalization: back to 0..255 pixel values.
            var pixels = shuffled.GetFeatures(k).ToArray().Select(v => (v * FashionMnist.Std + FashionMnist.Mean) * 255f).ToArray();
            for (int y = 0; y < dst; y++)
            {
                float sy = Math.Max((y + 0.5f) * src / dst - 0.5f, 0);
                int y0 = Math.Min((int)sy, src - 1), y1 = Math.Min(y0 + 1, src - 1);
                float wy = sy - y0;
                for (int x = 0; x < dst; x++)
                {
                    float sx = Math.Max((x + 0.5f) * src / dst - 0.5f, 0);
                    int x0 = Math.Min((int)sx, src - 1), x1 = Math.Min(x0 + 1, src - 1);
                    float wx = sx - x0;
                    float v = (1 - wy) * ((1 - wx) * pixels[y0 * src + x0] + wx * pixels[y0 * src + x1]) + wy * ((1 - wx) * pixels[y1 * src + x0] + wx * pixels[y1 * src + x1]);
                    for (int c = 0; c < 3; c++)
                    {
                        int o = c * dst * dst + y * dst + x;
                        result[k * 3 * dst * dst + o] = v - mean[o];
                    }
                }
            }
        }
        return result;
    }
}
