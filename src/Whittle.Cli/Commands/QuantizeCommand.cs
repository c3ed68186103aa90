using System.CommandLine;
using Spectre.Console;
using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;

namespace Whittle.Cli.Commands;

/// <summary>Which post-training quantization <c>whittle quantize</c> applies.</summary>
internal enum QuantizeMode { Static, Dynamic, Int4 }

/// <summary>What static quantization optimizes for.</summary>
internal enum QuantizeObjective
{
    /// <summary>Profile float and int8 per node on this machine; keep slower-in-int8 nodes float.</summary>
    Latency,

    /// <summary>Every supported node in int8 (smallest file, no profiling).</summary>
    Size,

    /// <summary>Every supported node in int8, then compute nodes whose own output SQNR is below --min-sqnr back to float.</summary>
    Accuracy,
}

/// <summary>
/// <c>whittle quantize MODEL --mode static|dynamic|int4 ... -o OUT</c>: post-training quantization,
/// verified in ONNX Runtime against the float model before it is written, with a report of
/// size, op counts, per-layer error, latency and (with labelled data) accuracy before and after.
/// </summary>
internal static class QuantizeCommand
{
    internal sealed record Request(FileInfo Model, FileInfo Output, QuantizeMode Mode, string? Data, string? Normalize, float? Scale,
        int CalibrationSamples, QuantizeObjective Objective, CalibrationMethod Calibration, bool PerTensor, QuantizationType ActivationType,
        string[] Exclude, int BlockSize, int VerifySamples, int? EvalLimit, int LatencyBatch, double MinSqnr, double MinCosine, int Threads, int ShowLayers);

    public static Command Create(CliConsole console)
    {
        var model = new Argument<FileInfo>("MODEL") { Description = "The float .onnx model" };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the quantized model", Required = true };
        var mode = new Option<QuantizeMode>("--mode", "-m") { Description = "static (calibrated int8 QDQ), dynamic (int8 weights, activations at run time), int4 (weight-only MatMulNBits)", DefaultValueFactory = _ => QuantizeMode.Static };
        var dataArgs = new DataArguments(null);
        var calibSamples = new Option<int>("--calib-samples") { Description = "Calibration samples (static)", DefaultValueFactory = _ => 512 };
        var objective = new Option<QuantizeObjective>("--objective") { Description = "latency (profile per node, keep slower-in-int8 nodes float), size (all int8), accuracy (low-SQNR nodes float)", DefaultValueFactory = _ => QuantizeObjective.Latency };
        var calibration = new Option<CalibrationMethod>("--calibration") { Description = "minmax, percentile, entropy or mse", DefaultValueFactory = _ => new StaticQuantizationOptions().Calibration };
        var perTensor = new Option<bool>("--per-tensor") { Description = "One weight scale per tensor instead of per output channel" };
        var activationType = new Option<string>("--activation-type") { Description = "uint8 (asymmetric, default) or int8 (symmetric)", DefaultValueFactory = _ => "uint8" };
        var exclude = new Option<string[]>("--exclude") { Description = "Node names (exact or glob: * and ?) or op types to keep in float (repeatable)", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [] };
        var blockSize = new Option<int>("--block-size") { Description = "int4 block size: 32, 64 or 128", DefaultValueFactory = _ => 32 };
        var verifySamples = new Option<int>("--verify-samples") { Description = "Held-out samples for the per-layer error report", DefaultValueFactory = _ => 256 };
        var limit = new Option<int?>("--limit") { Description = "Evaluate accuracy before/after on at most N labelled samples" };
        var latencyBatch = new Option<int>("--latency-batch") { Description = "Batch size for profiling and the latency comparison (fixed-batch models use theirs)", DefaultValueFactory = _ => 64 };
        var minSqnr = new Option<double>("--min-sqnr") { Description = "objective accuracy: keep in float compute nodes whose output SQNR (dB) is below this", DefaultValueFactory = _ => 20 };
        var minCosine = new Option<double>("--min-cosine") { Description = "Refuse to write a model whose outputs' mean cosine similarity to the float model is below this", DefaultValueFactory = _ => 0.9 };
        var threads = new Option<int>("--threads", "-t") { Description = "ONNX Runtime intra-op threads (0 = one per core)", DefaultValueFactory = _ => 0 };
        var showLayers = new Option<int>("--show-layers") { Description = "Rows of the per-layer error table (worst first)", DefaultValueFactory = _ => 12 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var cmd = new Command("quantize", "Post-training quantization (static int8 with calibration, dynamic int8, weight-only int4), verified in ONNX Runtime")
        {
            model, output, mode, calibSamples, objective, calibration, perTensor, activationType, exclude, blockSize, verifySamples, limit,
            latencyBatch, minSqnr, minCosine, threads, showLayers, json,
        };
        dataArgs.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var actText = parse.GetValue(activationType)!;
            var act = actText.ToLowerInvariant() switch
            {
                "uint8" or "u8" => QuantizationType.UInt8,
                "int8" or "s8" => QuantizationType.Int8,
                _ => throw new UsageException($"--activation-type must be uint8 or int8, not '{actText}'"),
            };
            var request = new Request(parse.GetRequiredValue(model), parse.GetRequiredValue(output), parse.GetValue(mode), parse.GetValue(dataArgs.Data),
                parse.GetValue(dataArgs.Normalize), parse.GetValue(dataArgs.Scale), parse.GetValue(calibSamples), parse.GetValue(objective),
                parse.GetValue(calibration), parse.GetValue(perTensor), act, parse.GetValue(exclude) ?? [], parse.GetValue(blockSize),
                parse.GetValue(verifySamples), parse.GetValue(limit), parse.GetValue(latencyBatch), parse.GetValue(minSqnr), parse.GetValue(minCosine),
                parse.GetValue(threads), parse.GetValue(showLayers));
            return Execute(console, request, parse.GetValue(json));
        });
        return cmd;
    }

    public sealed record LayerJson(string Tensor, string Producer, string OpType, double SqnrDb, double MaxAbsError);
    public sealed record PlacementJson(string Node, string OpType, double FloatMs, double Int8Ms, bool Quantized);
    public sealed record QualityJson(int Samples, double Accuracy, double MacroF1);
    public sealed record QuantizeJson(string Model, string Output, string Mode, string? Calibration, string? Objective, long BytesBefore, long BytesAfter,
        int NodesBefore, int NodesAfter, IReadOnlyDictionary<string, int> OpCounts, int QuantizedNodes, IReadOnlyList<string> FloatNodes,
        IReadOnlyList<string> Preparation, IReadOnlyList<OutputAgreement> Outputs, IReadOnlyList<LayerJson> Layers, IReadOnlyList<PlacementJson> Placement,
        double? FloatLatencyMs, double? QuantizedLatencyMs, int LatencyBatch, QualityJson? Before, QualityJson? After, IReadOnlyList<string> Warnings);

    private static int Execute(CliConsole console, Request r, bool json)
    {
        Validate(r);
        var source = OnnxModel.Load(r.Model.FullName);
        var result = r.Mode switch
        {
            QuantizeMode.Static => QuantizeStatic(console, r, source),
            _ => QuantizeWeights(console, r, source),
        };
        // A text model's vocabulary travels with it, so eval tokenizes the quantized model's input identically.
        var vocabulary = Vocabulary.PathFor(r.Model.FullName);
        if (File.Exists(vocabulary)) AtomicFile.WriteAllBytes(Vocabulary.PathFor(r.Output.FullName), File.ReadAllBytes(vocabulary));
        if (json) JsonOutput.Write(console, result);
        else Print(console.Out, result, r.ShowLayers);
        return WhittleCli.Ok;
    }

    private static void Validate(Request r)
    {
        if (Path.GetFullPath(r.Output.FullName) == Path.GetFullPath(r.Model.FullName))
            throw new UsageException("--output must differ from the input model (Whittle never modifies an input file)");
        if (r.CalibrationSamples < 1) throw new UsageException("--calib-samples must be at least 1");
        if (r.VerifySamples < 1) throw new UsageException("--verify-samples must be at least 1");
        if (r.LatencyBatch < 1) throw new UsageException("--latency-batch must be at least 1");
        if (r.EvalLimit is < 1) throw new UsageException("--limit must be at least 1");
        if (r.BlockSize is not (32 or 64 or 128) && r.Mode == QuantizeMode.Int4) throw new UsageException("--block-size must be 32, 64 or 128");
        if (r.Mode == QuantizeMode.Static && r.Data is null)
            throw new UsageException("static quantization needs calibration data: --data DATASET or --data FILE.npy");
    }

    /// <summary>Calibration and held-out data for a single float input, shaped like the model's input.</summary>
    private sealed record SampleData(TensorDataset Calibration, TensorDataset Holdout, TensorDataset? Labelled, string Description, int[] SampleShape);

    private static SampleData LoadSamples(Request r, TensorSignature input, int calibrationSamples)
    {
        var specText = r.Data!;
        if (!specText.Contains(':') && specText.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) specText = "npy:" + specText;
        var spec = DatasetSpec.Parse(specText);
        var source = spec.Open();
        var preprocessing = DataArguments.Preprocessing(spec, r.Normalize, r.Scale);
        var train = source.Load(DatasetSplit.Train, preprocessing);
        var data = train.Dataset;
        var shape = EvalCommand.MatchSampleShape(input, data, $"{r.Model.FullName} with calibration data {train.Location}");
        var shuffled = data.Shuffle(0);
        var calibration = shuffled.Take(Math.Min(calibrationSamples, shuffled.Count));
        TensorDataset holdout;
        TensorDataset? labelled = null;
        if (source.HasTestSplit)
        {
            var test = source.Load(DatasetSplit.Test, preprocessing).Dataset;
            EvalCommand.MatchSampleShape(input, test, $"{r.Model.FullName} with test data");
            holdout = test.Shuffle(1).Take(Math.Min(r.VerifySamples, test.Count));
            if (test.HasLabels) labelled = r.EvalLimit is { } l ? test.Take(Math.Min(l, test.Count)) : test;
        }
        else
        {
            // No test split: verify on samples calibration did not see when there are enough.
            var rest = shuffled.Count > calibration.Count ? shuffled.Subset(Enumerable.Range(calibration.Count, shuffled.Count - calibration.Count).ToArray()) : shuffled;
            holdout = rest.Take(Math.Min(r.VerifySamples, rest.Count));
            if (rest.HasLabels && shuffled.Count > calibration.Count) labelled = r.EvalLimit is { } l ? rest.Take(Math.Min(l, rest.Count)) : rest;
        }
        return new SampleData(calibration, holdout, labelled, train.Description, shape);
    }

    private static IEnumerable<IReadOnlyDictionary<string, RuntimeTensor>> Batches(TensorSignature input, TensorDataset data, int[] shape, int batch) =>
        ActivationCalibration.Batches(input.Name, data.Features, shape, input.FixedBatchSize ?? batch, data.Count);

    private static QuantizeJson QuantizeStatic(CliConsole console, Request r, OnnxModel source)
    {
        var options = new StaticQuantizationOptions
        {
            ActivationType = r.ActivationType,
            PerChannel = !r.PerTensor,
            Calibration = r.Calibration,
            CalibrationSamples = r.CalibrationSamples,
            Exclude = r.Exclude,
        };
        options.Validate();
        var runtime = RuntimeOptions.ForComparison(r.Threads);
        TensorSignature input;
        using (var probe = new OnnxRuntimeSession(source, runtime))
        {
            if (probe.Inputs.Count != 1) throw new UsageException($"{r.Model.FullName}: static quantization from --data needs a single-input model; this one takes {string.Join(", ", probe.Inputs)}");
            input = probe.Inputs[0];
        }
        var data = LoadSamples(r, input, options.CalibrationSamples);
        var prepared = StaticQuantizer.Prepare(source);
        // Check the exclusion rules before the long calibration pass.
        QuantizationMarker.Mark(prepared.Model, options);
        int batches = (data.Calibration.Count + options.CalibrationBatchSize - 1) / options.CalibrationBatchSize;
        var ranges = console.WithProgress($"calibrating ({options.Calibration}, {data.Calibration.Count} samples)", batches,
            p => StaticQuantizer.Calibrate(prepared, Batches(input, data.Calibration, data.SampleShape, options.CalibrationBatchSize), options,
                new SyncProgress<int>(n => p.Report(n)), runtime));

        var warnings = new List<string>();
        int latencyBatch = input.FixedBatchSize ?? r.LatencyBatch;
        var profileInputs = ProfileInputs(input, data, latencyBatch);
        PlacementResult? placement = null;
        IReadOnlySet<string>? floatNodes = null;
        if (r.Objective == QuantizeObjective.Latency)
        {
            placement = console.WithProgress("profiling float and int8 per node", 1,
                p => LatencyPlacement.Choose(prepared, ranges, options, profileInputs, runtime));
            floatNodes = placement.FloatNodes;
            if (placement.KeptAllInt8)
                warnings.Add($"some nodes are slower in int8 here, but every model with them in float profiled slower overall ({placement.AllInt8TotalMs:F3} ms all-int8); all stay int8");
        }
        var (quantized, marking) = StaticQuantizer.Apply(prepared, ranges, options, floatNodes);
        var verification = QuantizationVerifier.Verify(prepared.Model, quantized, Batches(input, data.Holdout, data.SampleShape, 64), runtime);
        if (r.Objective == QuantizeObjective.Accuracy)
        {
            var weak = verification.Layers.Where(l => l.SqnrDb < r.MinSqnr && l.OpType is "Conv" or "ConvTranspose" or "Gemm" or "MatMul" or "Relu" or "Clip")
                .Select(l => LayerOwner(prepared.Model, l.Producer)).ToHashSet(StringComparer.Ordinal);
            if (weak.Count > 0)
            {
                floatNodes = weak;
                (quantized, marking) = StaticQuantizer.Apply(prepared, ranges, options, floatNodes);
                verification = QuantizationVerifier.Verify(prepared.Model, quantized, Batches(input, data.Holdout, data.SampleShape, 64), runtime);
            }
        }
        CheckAgreement(r, verification);

        var (floatMs, quantMs) = console.WithProgress($"timing float vs int8 at batch {latencyBatch}", 1, _ => CompareLatency(prepared.Model, quantized.Model, profileInputs, runtime));
        if (quantMs >= floatMs)
            warnings.Add($"the int8 model is not faster than float on this machine at batch {latencyBatch} ({quantMs:F3} ms vs {floatMs:F3} ms); use --objective size if you want it for its size");
        QualityJson? before = null, after = null;
        if (data.Labelled is { } labelled)
        {
            before = Quality(source, labelled, input, data.SampleShape, runtime);
            after = Quality(quantized.Model, labelled, input, data.SampleShape, runtime);
        }
        quantized.Model.Validate().ThrowIfInvalid(r.Output.FullName);
        quantized.Model.Save(r.Output.FullName);

        var ops = quantized.Model.Graph.OpHistogram();
        return new QuantizeJson(r.Model.FullName, r.Output.FullName, "static", options.Calibration.ToString(), r.Objective.ToString(),
            ModelSizeReport.Measure(source).TotalBytes, ModelSizeReport.Measure(quantized.Model).TotalBytes,
            source.Graph.Nodes.Count, quantized.Model.Graph.Nodes.Count, ops,
            marking.Nodes.Count(n => n.Quantized), marking.Nodes.Where(n => floatNodes?.Contains(n.Node) ?? false).Select(n => n.Node).ToList(),
            [.. prepared.Changes, .. prepared.Skipped], verification.Outputs,
            verification.Layers.Select(l => new LayerJson(l.Tensor, l.Producer, l.OpType, l.SqnrDb, l.MaxAbsError)).ToList(),
            placement?.Rows.Select(p => new PlacementJson(p.Node, p.OpType, p.FloatMs, p.Int8Ms, p.Quantized)).ToList() ?? [],
            floatMs, quantMs, latencyBatch, before, after, warnings);
    }

    /// <summary>
    /// Dynamic int8 and weight-only int4: no calibration; verified on the data's held-out samples
    /// when --data is given (with accuracy when labelled), else on generated inputs.
    /// </summary>
    private static QuantizeJson QuantizeWeights(CliConsole console, Request r, OnnxModel source)
    {
        var runtime = RuntimeOptions.ForComparison(r.Threads);
        OnnxModel quantized;
        IReadOnlyList<NodeQuantizationRecord> records;
        if (r.Mode == QuantizeMode.Dynamic)
        {
            var (m, report) = DynamicQuantizer.Quantize(source, new DynamicQuantizationOptions(exclude: r.Exclude, perTensor: r.PerTensor));
            (quantized, records) = (m, report.Nodes);
        }
        else
        {
            var (m, report) = Int4WeightQuantizer.Quantize(source, new Int4QuantizationOptions(r.BlockSize, exclude: r.Exclude));
            (quantized, records) = (m, report.Nodes);
        }
        if (!records.Any(n => n.Quantized))
            throw new QuantizationException($"{r.Model.FullName}: nothing to quantize in {r.Mode.ToString().ToLowerInvariant()} mode: " +
                string.Join("; ", records.Select(n => $"{n.Node} ({n.OpType}): {n.Detail}").DefaultIfEmpty("the model has no MatMul, Gemm or Gather with a constant weight")));

        using var probe = new OnnxRuntimeSession(source, runtime);
        var input = probe.Inputs[0];
        SampleData? data = null;
        IReadOnlyList<IReadOnlyDictionary<string, RuntimeTensor>> batches;
        int latencyBatch = input.FixedBatchSize ?? r.LatencyBatch;
        Dictionary<string, RuntimeTensor> profileInputs;
        if (r.Data is not null && probe.Inputs.Count == 1 && input.ElementType == OnnxDataType.Float)
        {
            data = LoadSamples(r, input, 0);
            batches = Batches(input, data.Holdout, data.SampleShape, 64).ToList();
            profileInputs = ProfileInputs(input, data, latencyBatch);
        }
        else
        {
            if (r.Data is not null) throw new UsageException($"--data feeds one float input; {r.Model.FullName} takes {string.Join(", ", probe.Inputs)}");
            int b = input.FixedBatchSize ?? 8;
            batches = Enumerable.Range(0, Math.Max(1, r.VerifySamples / b)).Select(i => (IReadOnlyDictionary<string, RuntimeTensor>)GeneratedInputs(source, probe, b, i)).ToList();
            profileInputs = GeneratedInputs(source, probe, latencyBatch, 0);
        }
        var verification = QuantizationVerifier.Verify(source, new QdqModel(quantized, new Dictionary<string, string>(), new Dictionary<string, ActivationParameters>()), batches, runtime);
        CheckAgreement(r, verification);
        var (floatMs, quantMs) = console.WithProgress($"timing float vs {r.Mode.ToString().ToLowerInvariant()} at batch {latencyBatch}", 1,
            _ => CompareLatency(source, quantized, profileInputs, runtime));
        var warnings = new List<string>();
        if (quantMs >= floatMs)
            warnings.Add($"the {r.Mode.ToString().ToLowerInvariant()} model is not faster than float on this machine at batch {latencyBatch} ({quantMs:F3} ms vs {floatMs:F3} ms){(r.Mode == QuantizeMode.Int4 ? ": int4 here is a size option" : "")}");
        QualityJson? before = null, after = null;
        if (data?.Labelled is { } labelled)
        {
            before = Quality(source, labelled, input, data.SampleShape, runtime);
            after = Quality(quantized, labelled, input, data.SampleShape, runtime);
        }
        quantized.Validate().ThrowIfInvalid(r.Output.FullName);
        quantized.Save(r.Output.FullName);
        return new QuantizeJson(r.Model.FullName, r.Output.FullName, r.Mode.ToString().ToLowerInvariant(), null, null,
            ModelSizeReport.Measure(source).TotalBytes, ModelSizeReport.Measure(quantized).TotalBytes, source.Graph.Nodes.Count, quantized.Graph.Nodes.Count,
            quantized.Graph.OpHistogram(), records.Count(n => n.Quantized), records.Where(n => !n.Quantized).Select(n => $"{n.Node}: {n.Detail}").ToList(),
            [], verification.Outputs, [], [], floatMs, quantMs, latencyBatch, before, after, warnings);
    }

    /// <summary>
    /// Generated inputs for verification without data: floats uniform in [0, 1); integer id inputs
    /// (tokens, users, items) uniform over the rows of the embedding table they index, so the
    /// comparison exercises real rows rather than only row 0.
    /// </summary>
    private static Dictionary<string, RuntimeTensor> GeneratedInputs(OnnxModel model, OnnxRuntimeSession session, int batch, int seed)
    {
        var inputs = session.SampleInputs(batch, seed);
        var rng = new Random(seed);
        foreach (var sig in session.Inputs.Where(i => i.ElementType == OnnxDataType.Int64))
        {
            long rows;
            try { rows = Zoo.EmbeddingTables.RowsIndexedBy(model, sig.Name); }
            catch (OnnxException) { continue; }
            var t = inputs[sig.Name];
            inputs[sig.Name] = RuntimeTensor.FromInt64s(Enumerable.Range(0, t.Length).Select(_ => rng.NextInt64(rows)).ToArray(), t.Shape);
        }
        return inputs;
    }

    /// <summary>The node to keep float for a weak layer: a Relu absorbed into a Conv stands for the Conv.</summary>
    private static string LayerOwner(OnnxModel prepared, string producer)
    {
        var g = prepared.Graph;
        var node = g.Nodes.FirstOrDefault(n => n.DisplayName == producer);
        if (node is not null && node.OpType is "Relu" or "Clip" && g.FindProducer(node.Inputs[0]) is { } p) return p.DisplayName;
        return producer;
    }

    private static void CheckAgreement(Request r, VerificationReport verification)
    {
        foreach (var o in verification.Outputs)
            if (o.Cosine < r.MinCosine)
                throw new QuantizationException($"the quantized model's output '{o.Output}' agrees poorly with the float model (mean cosine {o.Cosine:F3} < --min-cosine {r.MinCosine}); not written. " +
                    $"Worst layers: {string.Join(", ", verification.Layers.Take(3).Select(l => $"{l.Producer} {l.SqnrDb:F1} dB"))}; try --exclude on them or another --calibration");
    }

    private static Dictionary<string, RuntimeTensor> ProfileInputs(TensorSignature input, SampleData data, int batch)
    {
        var pool = data.Holdout.Count >= batch ? data.Holdout : data.Calibration;
        int n = Math.Min(batch, pool.Count);
        var features = new float[batch * pool.SampleSize];
        for (int i = 0; i < batch; i++) pool.GetFeatures(i % n).CopyTo(features.AsSpan(i * pool.SampleSize));
        return new() { [input.Name] = RuntimeTensor.FromFloats(features, [batch, .. data.SampleShape.Select(d => (long)d)]) };
    }

    /// <summary>Median latency of the two models on the same inputs, runs interleaved so load changes hit both.</summary>
    private static (double FloatMs, double QuantMs) CompareLatency(OnnxModel f, OnnxModel q, IReadOnlyDictionary<string, RuntimeTensor> inputs, RuntimeOptions runtime)
    {
        using var fs = new OnnxRuntimeSession(f, runtime);
        using var qs = new OnnxRuntimeSession(q, runtime);
        var samples = LatencyBenchmark.MeasureInterleaved([fs, qs], inputs, new LatencyBenchmarkOptions { WarmupRuns = 5, Runs = 40 });
        return (LatencyStatistics.Percentile(samples[0].Milliseconds, 50), LatencyStatistics.Percentile(samples[1].Milliseconds, 50));
    }

    private static QualityJson Quality(OnnxModel model, TensorDataset data, TensorSignature input, int[] shape, RuntimeOptions runtime)
    {
        using var s = new OnnxRuntimeSession(model, runtime);
        var scores = s.RunBatches(data.Features, shape, input.FixedBatchSize ?? 256);
        if (scores.Shape.Length != 2) throw new RuntimeException($"output has shape [{string.Join(",", scores.Shape)}]; accuracy needs scores [batch, classes]");
        int classes = (int)scores.Shape[1];
        var predictions = ClassScores.Argmax(scores.AsFloats(), classes);
        var report = ClassificationReport.FromPredictions(data.Labels.ToArray(), predictions, Math.Max(classes, data.ClassCount));
        return new QualityJson(data.Count, report.Accuracy, report.Macro.F1);
    }

    private static void Print(IAnsiConsole o, QuantizeJson r, int showLayers)
    {
        var summary = new Table().Title("[bold]Quantization[/]").AddColumn("").AddColumn("float").AddColumn("quantized").AddColumn("");
        summary.AddRow("Size", Format.Bytes(r.BytesBefore), Format.Bytes(r.BytesAfter), Format.Percent((double)r.BytesAfter / r.BytesBefore, 1) + " of float");
        summary.AddRow("Nodes", r.NodesBefore.ToString(), r.NodesAfter.ToString(),
            string.Join(", ", r.OpCounts.Where(k => k.Key.Split('.')[^1] is "QuantizeLinear" or "DequantizeLinear" or "DynamicQuantizeLinear" or "MatMulInteger" or "MatMulNBits").Select(k => $"{k.Key} {k.Value}")));
        if (r.FloatLatencyMs is { } fl && r.QuantizedLatencyMs is { } ql)
            summary.AddRow($"Latency p50, batch {r.LatencyBatch}", $"{fl:F3} ms", $"{ql:F3} ms", $"{ql / fl:F2}× float" + (ql >= fl ? " [red](slower)[/]" : ""));
        if (r.Before is { } b && r.After is { } a)
        {
            summary.AddRow($"Accuracy ({b.Samples:N0} samples)", Format.Percent(b.Accuracy), Format.Percent(a.Accuracy), $"{(a.Accuracy - b.Accuracy) * 100:+0.00;-0.00} points");
            summary.AddRow("Macro-F1", Format.Number(b.MacroF1), Format.Number(a.MacroF1), $"{a.MacroF1 - b.MacroF1:+0.0000;-0.0000}");
        }
        o.Write(summary);
        foreach (var p in r.Preparation) o.MarkupLine($"[grey]· {Markup.Escape(p)}[/]");
        if (r.Placement.Count > 0)
        {
            var t = new Table().Title("[bold]Placement[/] (ORT kernel time per node on this machine)").AddColumn("Node").AddColumn("Op")
                .AddColumn(new TableColumn("float ms").RightAligned()).AddColumn(new TableColumn("int8 ms").RightAligned()).AddColumn("runs in");
            foreach (var p in r.Placement)
                t.AddRow(Markup.Escape(p.Node), p.OpType, p.FloatMs.ToString("F3"), p.Int8Ms.ToString("F3"), p.Quantized ? "[green]int8[/]" : "[yellow]float[/]");
            o.Write(t);
        }
        if (r.Outputs.Count > 0)
        {
            var t = new Table().Title("[bold]Outputs[/] vs float").AddColumn("Output").AddColumn(new TableColumn("SQNR dB").RightAligned())
                .AddColumn(new TableColumn("cosine").RightAligned()).AddColumn(new TableColumn("max |Δ|").RightAligned()).AddColumn(new TableColumn("same top-1").RightAligned());
            foreach (var x in r.Outputs)
                t.AddRow(Markup.Escape(x.Output), x.SqnrDb.ToString("F1"), x.Cosine.ToString("F4"), x.MaxAbsError.ToString("G3"), x.Top1Agreement is { } a1 ? Format.Percent(a1) : "-");
            o.Write(t);
        }
        if (r.Layers.Count > 0)
        {
            var t = new Table().Title($"[bold]Per-layer error[/], worst first ({Math.Min(showLayers, r.Layers.Count)} of {r.Layers.Count})").AddColumn("Activation")
                .AddColumn("Producer").AddColumn("Op").AddColumn(new TableColumn("SQNR dB").RightAligned()).AddColumn(new TableColumn("max |Δ|").RightAligned());
            foreach (var l in r.Layers.Take(showLayers))
                t.AddRow(Markup.Escape(l.Tensor), Markup.Escape(l.Producer), l.OpType, l.SqnrDb.ToString("F1"), l.MaxAbsError.ToString("G3"));
            o.Write(t);
        }
        foreach (var w in r.Warnings) o.MarkupLine($"[yellow]warning:[/] {Markup.Escape(w)}");
        o.MarkupLine($"Wrote {Markup.Escape(r.Output)} ({r.Mode}{(r.Calibration is null ? "" : $", {r.Calibration} calibration")}), verified in ONNX Runtime");
    }
}
