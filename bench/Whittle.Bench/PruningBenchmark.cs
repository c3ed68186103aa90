using System.Diagnostics;
using System.Text.Json;
using Spectre.Console;
using Whittle.Data;
using Whittle.Engine;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Pruning;
using Whittle.Runtime;
using Whittle.Training;
using Whittle.Zoo;
using static TorchSharp.torch;

namespace Whittle.Bench;

/// <summary>
/// Pruning on full Fashion-MNIST: (a) unstructured 90 % global sparsity with AGP and fine-tuning
/// on the zoo ConvNet, side by side with PyTorch's global_unstructured and the same fine-tuning
/// budget; (b) structured 50 % channel pruning with fine-tuning of a ResNet (residual Adds), a
/// MobileNetV2 (depthwise) and a PyTorch export: parameters, file size, ORT latency at batch 64
/// (dense and pruned interleaved, spinning off) and test accuracy. Dense models are trained once
/// and cached under bench/cache/ (delete them to retrain).
/// </summary>
internal sealed class PruningBenchmark : IBenchmark
{
    public string Name => "prune";
    public string Description => "unstructured AGP 90% vs PyTorch global_unstructured; structured 50% channels: params, ORT latency b64, accuracy";

    private static readonly Preprocessing Normalized = new Preprocessing(divisor: 255f).Normalize([0.2860f], [0.3530f]);

    public object Run(BenchContext context)
    {
        // Two libtorch threads: the small-convolution gradient defect that once made these runs stop
        // with a NaN is worked around in the Engine's Conv (docs/engine.md).
        int threads = 2;
        if (get_num_threads() != threads) set_num_threads(threads);
        var train = FashionMnist.Load(DatasetSplit.Train, Normalized).Dataset.WithSampleShape(1, 28, 28);
        var test = FashionMnist.Load(DatasetSplit.Test, Normalized).Dataset.WithSampleShape(1, 28, 28);
        if (context.Quick)
        {
            train = train.Take(6000);
            test = test.Take(2000);
        }
        var cache = Path.Combine(context.RepoRoot, "bench", "cache", context.Quick ? "quick" : "full");
        Directory.CreateDirectory(cache);
        int denseEpochs = context.Quick ? 1 : 2, agpEpochs = context.Quick ? 1 : 2, channelEpochs = context.Quick ? 1 : 3;
        var partial = Path.Combine(context.ResultsDirectory, $"prune.partial.{Environment.GetEnvironmentVariable("WHITTLE_PRUNE_PARTS") ?? "all"}.json");
        var structured = new List<object>();
        object? unstructured = null;
        void Save() => AtomicFile.WriteAllText(partial, JsonSerializer.Serialize(new { unstructured, structured }, new JsonSerializerOptions { WriteIndented = true }));

        // WHITTLE_PRUNE_PARTS=unstructured or =structured runs one half (each half takes tens of minutes on 2 shared cores).
        var parts = Environment.GetEnvironmentVariable("WHITTLE_PRUNE_PARTS") ?? "unstructured,structured";
        if (parts.Contains("unstructured", StringComparison.Ordinal))
        {
            var convnet = Dense(cache, "convnet", () => ModelZoo.Create("convnet", new ZooModelSettings(width: 0.5)), train, denseEpochs, 2e-3);
            unstructured = Unstructured(context, cache, convnet, train, test, agpEpochs);
            Save();
        }
        // "structured" means its three models; each can also be named alone: export, resnet, mobilenet.
        bool Want(string part) => parts.Split(',').Contains(part) || (part is "export" or "resnet" or "mobilenet" && parts.Split(',').Contains("structured"));
        string Models(string file) => Path.Combine(context.RepoRoot, "bench", "models", file);
        StructuredCase[] cases =
        [
            // A ResNet trained and exported by PyTorch itself (torch.onnx.export defaults: BatchNorm folded into the convs,
            // so the importance is L1); bench/reference/train_resnet_pytorch.py made it.
            new("export", "PyTorch export: ResNet-8 32/64/128 trained in PyTorch (bench/models/resnet8w2-pytorch-fmnist.onnx)",
                Models("resnet8w2-pytorch-fmnist.onnx"), null),
            // The trained ResNet-8 the quantization benchmark uses (bench/models/README.md says how it was made);
            // the quick run trains a small one instead.
            context.Quick
                ? new("resnet", "zoo resnet-cifar depth 8 width 0.5 (residual Adds)", CachedDensePath(cache, "resnet8"),
                    () => Dense(cache, "resnet8", () => ModelZoo.Create("resnet-cifar", new ZooModelSettings(depth: 8, width: 0.5)), train, denseEpochs, 1e-3))
                : new("resnet", "zoo resnet-cifar depth 8 width 1 (residual Adds; bench/models/resnet8-fmnist.onnx)", Models("resnet8-fmnist.onnx"), null),
            context.Quick
                ? new("mobilenet", "zoo mobilenetv2 width 0.25 (depthwise)", CachedDensePath(cache, "mnv2"),
                    () => Dense(cache, "mnv2", () => ModelZoo.Create("mobilenetv2", new ZooModelSettings(width: 0.25)), train, 1, 3e-3))
                : new("mobilenet", "zoo mobilenetv2 width 1 (depthwise, inverted residuals; bench/models/mobilenetv2-fmnist.onnx)", Models("mobilenetv2-fmnist.onnx"), null),
        ];
        string PrunedPath(StructuredCase c) => Path.Combine(cache, $"{c.Key}-pruned50.onnx");
        foreach (var c in cases.Where(c => Want(c.Key)))
        {
            if (c.LoadDense() is { } dense)
                structured.Add(Structured(c.Label, PrunedPath(c), dense, train, test, channelEpochs));
            else
                AnsiConsole.MarkupLine($"[yellow]skipped {c.Key}: {Markup.Escape(c.DensePath)} is missing (bench/models/README.md says how to make it)[/]");
            Save();
        }
        // "latency" re-times the dense/pruned pairs the structured parts saved (no training), e.g. on a quieter machine.
        List<object>? latency = null;
        if (parts.Split(',').Contains("latency"))
        {
            latency = [];
            foreach (var c in cases)
            {
                var prunedPath = PrunedPath(c);
                if (!File.Exists(c.DensePath) || !File.Exists(prunedPath)) { AnsiConsole.MarkupLine($"[yellow]latency: no {Markup.Escape(prunedPath)} yet (run the {c.Key} part first)[/]"); continue; }
                var (d, q) = Latency(OnnxModel.Load(c.DensePath), OnnxModel.Load(prunedPath));
                AnsiConsole.MarkupLine($"{c.Key}: dense {d.P50Milliseconds:0.000} ms, pruned {q.P50Milliseconds:0.000} ms at batch 64: [bold]{q.P50Milliseconds / d.P50Milliseconds:0.000}x[/]");
                latency.Add(new { model = c.Key, dense = c.DensePath, pruned = prunedPath, latencyMedianMsDense = d.P50Milliseconds, latencyMedianMsPruned = q.P50Milliseconds,
                    latencyRatio = q.P50Milliseconds / d.P50Milliseconds, denseP90 = d.P90Milliseconds, prunedP90 = q.P90Milliseconds });
            }
        }
        return new { threads, trainSamples = train.Count, testSamples = test.Count, denseEpochs, unstructured, structured, latency };
    }

    /// <summary>
    /// One model of the structured part: its dense file, and (quick runs) how to train and cache it
    /// when missing. The structured run and the latency re-time read the same pairs from here.
    /// </summary>
    private sealed record StructuredCase(string Key, string Label, string DensePath, Func<OnnxModel>? Train)
    {
        public OnnxModel? LoadDense() => Train is { } train ? train() : File.Exists(DensePath) ? OnnxModel.Load(DensePath) : null;
    }

    private static string CachedDensePath(string cache, string name) => Path.Combine(cache, $"{name}-dense.onnx");

    private static OnnxModel Dense(string cache, string name, Func<OnnxModel> create, TensorDataset train, int epochs, double lr)
    {
        var path = CachedDensePath(cache, name);
        if (File.Exists(path)) return OnnxModel.Load(path);
        AnsiConsole.MarkupLine($"training dense {name} ({epochs} epochs; cached at {Markup.Escape(path)})");
        using var module = new OnnxModule(create());
        new Trainer(module, new TrainerOptions(epochs, 128, new AdamWOptions(lr), new CosineAnnealingSchedule(unit: ScheduleUnit.Step),
            gradientClipping: GradientClipping.ByNorm(2), restoreBestWeights: false)).Fit(train);
        module.eval();
        var model = module.ToOnnx();
        model.Save(path);
        return OnnxModel.Load(path);
    }

    // Structured fine-tuning clips gradients as the dense runs do (kept from before the Engine's
    // small-convolution fix, when a NaN loss stopped these runs). The unstructured run matches PyTorch's, which does not clip.
    private static TrainerOptions FineTune(int epochs, bool clip = false) =>
        new(epochs, 128, new AdamWOptions(1e-3), new CosineAnnealingSchedule(unit: ScheduleUnit.Step),
            gradientClipping: clip ? GradientClipping.ByNorm(2) : null, restoreBestWeights: false);

    private static object Unstructured(BenchContext context, string cache, OnnxModel dense, TensorDataset train, TensorDataset test, int epochs)
    {
        const double sparsity = 0.9;
        var watch = Stopwatch.StartNew();
        var result = UnstructuredFineTuning.Magnitude(dense, new UnstructuredPruningOptions(sparsity, MagnitudeScope.Global),
            new PruningScheduleOptions(PruningSchedule.Agp, agpEndFraction: 0.75, agpFrequency: 50), FineTune(epochs), train);
        double seconds = watch.Elapsed.TotalSeconds;
        ChannelRemoval.Verify(dense, result.Model);
        var oneShot = UnstructuredPruner.MagnitudeMasks(dense, new UnstructuredPruningOptions(sparsity, MagnitudeScope.Global)).Apply(dense);
        double denseAcc = ModelEvaluator.Classify(dense, test).Accuracy;
        double oneShotAcc = ModelEvaluator.Classify(oneShot, test).Accuracy;
        double prunedAcc = ModelEvaluator.Classify(result.Model, test).Accuracy;
        var denseSize = ModelFileSize.Measure(dense);
        var prunedSize = ModelFileSize.Measure(result.Model);
        var reference = RunPyTorch(context, cache, dense, sparsity, epochs);

        var table = new Table().Title($"Unstructured {sparsity:P0} global magnitude, zoo convnet width 0.5, {epochs} fine-tuning epoch(s)").AddColumns("model", "test accuracy", "sparsity", "file", "gzip", "brotli");
        table.AddRow("dense", Format(denseAcc), "0%", Kb(denseSize.Bytes), Kb(denseSize.GzipBytes), Kb(denseSize.BrotliBytes));
        table.AddRow("Whittle one-shot, no fine-tuning", Format(oneShotAcc), $"{sparsity:P0}", "", "", "");
        table.AddRow($"Whittle AGP + fine-tuning ({seconds:0} s)", Format(prunedAcc), $"{result.Masks.OverallSparsity:P1}", Kb(prunedSize.Bytes), Kb(prunedSize.GzipBytes), Kb(prunedSize.BrotliBytes));
        if (reference is { } r)
        {
            table.AddRow("PyTorch global_unstructured one-shot", Format(r.GetProperty("oneShotAccuracy").GetDouble()), "", "", "", "");
            table.AddRow($"PyTorch global_unstructured + fine-tuning ({r.GetProperty("fineTuneSeconds").GetDouble():0} s)", Format(r.GetProperty("fineTunedAccuracy").GetDouble()),
                $"{r.GetProperty("sparsity").GetDouble():P1}", "", "", "");
        }
        else table.AddRow("PyTorch", "not installed", "", "", "", "");
        AnsiConsole.Write(table);
        return new
        {
            model = "zoo convnet width 0.5",
            sparsity,
            epochs,
            denseAccuracy = denseAcc,
            oneShotAccuracy = oneShotAcc,
            agpFineTunedAccuracy = prunedAcc,
            dropPoints = 100 * (denseAcc - prunedAcc),
            achievedSparsity = result.Masks.OverallSparsity,
            fineTuneSeconds = seconds,
            denseFile = denseSize,
            prunedFile = prunedSize,
            pytorch = reference is { } p ? JsonSerializer.Deserialize<object>(p.GetRawText()) : null,
        };
    }

    /// <summary>Dense and pruned interleaved in one process, spinning off: ORT median of 100 runs at batch 64 after 10 warm-ups.</summary>
    private static (LatencyStatistics Dense, LatencyStatistics Pruned) Latency(OnnxModel dense, OnnxModel pruned)
    {
        using var a = new OnnxRuntimeSession(dense, RuntimeOptions.ForComparison());
        using var b = new OnnxRuntimeSession(pruned, RuntimeOptions.ForComparison());
        var samples = LatencyBenchmark.MeasureInterleaved([a, b], 64, new LatencyBenchmarkOptions(warmupRuns: 10, runs: 100));
        return (new LatencyStatistics(samples[0].Milliseconds, 64), new LatencyStatistics(samples[1].Milliseconds, 64));
    }

    private static object Structured(string label, string prunedPath, OnnxModel dense, TensorDataset train, TensorDataset test, int epochs)
    {
        const double ratio = 0.5;
        // BatchNorm scale (network slimming) where the model keeps its BatchNorms; L1 of the filters where the exporter folded them.
        var importance = dense.Graph.Nodes.Any(n => n.OpType == "BatchNormalization") ? ImportanceCriterion.BatchNormScale : ImportanceCriterion.L1;
        var watch = Stopwatch.StartNew();
        var result = StructuredFineTuning.Run(dense, new ChannelPruningOptions(ratio, importance), new PruningScheduleOptions(), FineTune(epochs, clip: true), train);
        double seconds = watch.Elapsed.TotalSeconds;
        var plan = result.Plans[0];
        var oneShot = ChannelRemoval.Apply(dense, plan);
        double denseAcc = ModelEvaluator.Classify(dense, test).Accuracy;
        double oneShotAcc = ModelEvaluator.Classify(oneShot, test).Accuracy;
        double prunedAcc = ModelEvaluator.Classify(result.Model, test).Accuracy;
        var denseSize = ModelSizeReport.Measure(dense);
        var prunedSize = ModelSizeReport.Measure(result.Model);

        result.Model.Save(prunedPath);
        var (denseLatency, prunedLatency) = Latency(dense, result.Model);

        var block = OnnxRuntimeCpu.NchwcBlockSize;
        var misfits = block is { } b0 ? plan.GroupsNotMultipleOf(b0).Select(g => g.WidthChange).ToList() : [];
        var table = new Table().Title($"Structured {ratio:P0} channels ({importance}, per layer), {Markup.Escape(label)}, {epochs} fine-tuning epoch(s) ({seconds:0} s)")
            .AddColumns("model", "parameters", "MACs/sample", "file", "ORT median ms, batch 64", "test accuracy");
        table.AddRow("dense", denseSize.Parameters.ToString("N0"), plan.MacsBefore.ToString("N0"), Kb(denseSize.ModelBytes), denseLatency.P50Milliseconds.ToString("0.00"), Format(denseAcc));
        table.AddRow("pruned, no fine-tuning", "", "", "", "", Format(oneShotAcc));
        table.AddRow("pruned + fine-tuning", prunedSize.Parameters.ToString("N0"), plan.MacsAfter.ToString("N0"), Kb(prunedSize.ModelBytes),
            prunedLatency.P50Milliseconds.ToString("0.00"), Format(prunedAcc));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"params {(double)prunedSize.Parameters / denseSize.Parameters:0.000}x, latency {prunedLatency.P50Milliseconds / denseLatency.P50Milliseconds:0.000}x, accuracy {100 * (prunedAcc - denseAcc):+0.00;-0.00} pt");
        if (misfits.Count > 0)
            AnsiConsole.MarkupLine($"[yellow]kept widths ONNX Runtime pads to its {block}-channel NCHWc block: {Markup.Escape(string.Join(", ", misfits))}[/]");
        return new
        {
            model = label,
            prunedModel = prunedPath,
            ratio,
            importance = importance.ToString(),
            nchwcBlock = block,
            keptWidthsNotMultipleOfBlock = misfits,
            epochs,
            parametersBefore = denseSize.Parameters,
            parametersAfter = prunedSize.Parameters,
            parameterRatio = (double)prunedSize.Parameters / denseSize.Parameters,
            macsBefore = plan.MacsBefore,
            macsAfter = plan.MacsAfter,
            bytesBefore = denseSize.ModelBytes,
            bytesAfter = prunedSize.ModelBytes,
            latencyMedianMsDense = denseLatency.P50Milliseconds,
            latencyMedianMsPruned = prunedLatency.P50Milliseconds,
            latencyRatio = prunedLatency.P50Milliseconds / denseLatency.P50Milliseconds,
            denseAccuracy = denseAcc,
            oneShotAccuracy = oneShotAcc,
            fineTunedAccuracy = prunedAcc,
            dropPoints = 100 * (denseAcc - prunedAcc),
            fineTuneSeconds = seconds,
            leftUnpruned = plan.LeftUnpruned,
        };
    }

    private static JsonElement? RunPyTorch(BenchContext context, string cache, OnnxModel dense, double sparsity, int epochs)
    {
        var python = "/usr/bin/python3";
        var script = Path.Combine(context.RepoRoot, "bench", "reference", "prune_reference.py");
        if (!File.Exists(python)) return null;
        var model = Path.Combine(cache, "reference-input.onnx");
        dense.Save(model);
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { script, model, sparsity.ToString(System.Globalization.CultureInfo.InvariantCulture), epochs.ToString(), "1e-3", "128", "1" }) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            AnsiConsole.MarkupLine($"[yellow]PyTorch reference failed ({p.ExitCode}): {Markup.Escape(stderr.Split('\n').LastOrDefault(l => l.Length > 0) ?? "")}[/]");
            return null;
        }
        return JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement.Clone();
    }

    private static string Format(double accuracy) => $"{100 * accuracy:0.00}%";

    private static string Kb(long bytes) => $"{bytes / 1024.0:0.0} KiB";
}
