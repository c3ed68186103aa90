using System.CommandLine;
using Spectre.Console;
using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;

namespace Whittle.Cli.Commands;

/// <summary>
/// <c>whittle quantize MODEL --mode static|dynamic|int4 ... -o OUT</c>: post-training quantization,
/// verified in ONNX Runtime against the float model before it is written, with a report of
/// size, op counts, per-layer error, latency and (with labelled data) accuracy before and after.
/// </summary>
internal static class QuantizeCommand
{
    /// <summary>Exit code when, under objective latency, the int8 model is not faster than float beyond the measured noise (nothing is written; --allow-slower writes it).</summary>
    public const int NotFasterThanFloat = 4;

    public static Command Create(CliConsole console)
    {
        var d = ModelQuantizationOptions.Default;
        var model = new Argument<FileInfo>("MODEL") { Description = "The float .onnx model" };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the quantized model", Required = true };
        var mode = new Option<QuantizationMode>("--mode", "-m") { Description = "static (calibrated int8 QDQ), dynamic (int8 weights, activations at run time), int4 (weight-only MatMulNBits), qat (static, then quantization-aware training)", DefaultValueFactory = _ => d.Mode };
        var weightBits = new Option<int>("--weight-bits") { Description = "static/qat: 8 (int8 weights) or 4 (int4 QDQ weights, opset 21; ONNX Runtime runs them as float kernels on CPU: a size option)", DefaultValueFactory = _ => 8 };
        var keep8Bit = new Option<string[]>("--keep-8bit") { Description = "With --weight-bits 4: layers kept at int8 weights (node names, globs, op types, 'first', 'last'; repeatable or comma-separated)", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [] };
        var q = QatOptions.Default;
        var epochs = new Option<int>("--finetune-epochs") { Description = "qat: fine-tuning epochs", DefaultValueFactory = _ => q.Epochs };
        var lr = new Option<double>("--lr") { Description = "qat: AdamW learning rate (cosine-annealed per step)", DefaultValueFactory = _ => q.LearningRate };
        var batchSize = new Option<int>("--batch-size") { Description = "qat: batch size", DefaultValueFactory = _ => q.BatchSize };
        var scales = new Option<QatScales>("--qat-scales") { Description = "qat: learned (LSQ step sizes, default) or fixed (calibrated activation scales, max-|w| weight scales)", DefaultValueFactory = _ => q.Scales };
        var freeze = new Option<double>("--freeze-after") { Description = "qat: fraction of the steps after which step sizes and BatchNorm statistics freeze (1 = never)", DefaultValueFactory = _ => q.FreezeFraction };
        var trainLimit = new Option<int?>("--train-limit") { Description = "qat: at most N training samples" };
        var seed = new Option<int>("--seed") { Description = "qat: seed of the data order", DefaultValueFactory = _ => q.Seed };
        var recovery = new RecoveryArguments();
        var dataArgs = new DataArguments(null);
        var calibSamples = new Option<int>("--calib-samples") { Description = "Calibration samples (static)", DefaultValueFactory = _ => d.Quantization.CalibrationSamples };
        var objective = new Option<QuantizationObjective>("--objective") { Description = "latency (profile per node, keep slower-in-int8 nodes float), size (all int8), accuracy (low-SQNR nodes float)", DefaultValueFactory = _ => d.Objective };
        var calibration = new Option<CalibrationMethod>("--calibration") { Description = "minmax, percentile, entropy or mse", DefaultValueFactory = _ => d.Quantization.Calibration };
        var perTensor = new Option<bool>("--per-tensor") { Description = "One weight scale per tensor instead of per output channel" };
        var activationType = new Option<string>("--activation-type") { Description = "uint8 (asymmetric, default) or int8 (symmetric)", DefaultValueFactory = _ => "uint8" };
        var exclude = new Option<string[]>("--exclude") { Description = "Node names (exact or glob: * and ?) or op types to keep in float (repeatable)", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [] };
        var blockSize = new Option<int>("--block-size") { Description = "int4 block size: 32, 64 or 128", DefaultValueFactory = _ => d.BlockSize };
        var verifySamples = new Option<int>("--verify-samples") { Description = "Held-out samples for the per-layer error report", DefaultValueFactory = _ => d.VerifySamples };
        var limit = new Option<int?>("--limit") { Description = "Evaluate accuracy before/after on at most N labelled samples" };
        var latencyBatch = new Option<string[]>("--latency-batch") { Description = "Batch sizes the model is deployed at, e.g. 1,64: placement chooses the best over the set, latency is reported per batch (fixed-batch models use theirs)", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [string.Join(",", d.LatencyBatches)] };
        var allowSlower = new Option<bool>("--allow-slower") { Description = $"objective latency: write the int8 model (with a warning) even when it is not faster than float beyond the measured noise; without it such a model is not written and the exit code is {NotFasterThanFloat}" };
        var minSqnr = new Option<double>("--min-sqnr") { Description = "objective accuracy: keep in float compute nodes whose output SQNR (dB) is below this", DefaultValueFactory = _ => d.MinSqnrDb };
        var minCosine = new Option<double>("--min-cosine") { Description = "Refuse to write a model whose outputs' mean cosine similarity to the float model is below this", DefaultValueFactory = _ => d.MinCosine };
        var threads = new Option<int>("--threads", "-t") { Description = "ONNX Runtime intra-op threads (0 = one per core)", DefaultValueFactory = _ => d.Threads };
        var seqLen = new Option<int>("--seq-len") { Description = "Transformers: tokens per text, the size of symbolic non-batch dimensions of generated inputs, and the WordPiece length of --data texts", DefaultValueFactory = _ => d.SequenceLength };
        var smooth = new Option<double?>("--smooth") { Description = "dynamic: SmoothQuant-style scaling of the quantized MatMuls' inputs with this strength (0–1, 0.5 typical), measured on --data calibration samples" };
        var showLayers = new Option<int>("--show-layers") { Description = "Rows of the per-layer error table (worst first)", DefaultValueFactory = _ => 12 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var noAlign = new Option<bool>("--no-conv-align") { Description = "Leave convolutions whose input channels are not a multiple of 4 (an image model's first) as they are, instead of rewriting them (im2col or channel padding, same arithmetic) for ORT's fast int8 kernel" };
        var cmd = new Command("quantize", "Post-training quantization (static int8 with calibration, dynamic int8, weight-only int4), verified in ONNX Runtime")
        {
            model, output, mode, calibSamples, objective, calibration, perTensor, activationType, exclude, blockSize, verifySamples, limit,
            latencyBatch, allowSlower, minSqnr, minCosine, threads, seqLen, smooth, showLayers, json, noAlign, weightBits, keep8Bit, epochs, lr, batchSize, scales, freeze, trainLimit, seed,
        };
        dataArgs.AddTo(cmd);
        recovery.AddTo(cmd, studentOptions: false);
        cmd.SetAction(parse =>
        {
            var actText = parse.GetValue(activationType)!;
            var act = actText.ToLowerInvariant() switch
            {
                "uint8" or "u8" => QuantizationType.UInt8,
                "int8" or "s8" => QuantizationType.Int8,
                _ => throw new UsageException($"--activation-type must be uint8 or int8, not '{actText}'"),
            };
            var input = parse.GetRequiredValue(model);
            var target = parse.GetRequiredValue(output);
            VerifiedModelWriter.EnsureNotAnInput(target.FullName, [input.FullName]);
            var weightType = parse.GetValue(weightBits) switch
            {
                8 => QuantizationType.Int8,
                4 => QuantizationType.Int4,
                var b => throw new UsageException($"--weight-bits must be 8 or 4, not {b}"),
            };
            var keep = (parse.GetValue(keep8Bit) ?? []).SelectMany(k => k.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
            var latencyBatches = (parse.GetValue(latencyBatch) ?? []).SelectMany(t => CliParsing.PositiveInts(t, "--latency-batch")).ToArray();
            var options = CliParsing.Library(() => new ModelQuantizationOptions(parse.GetValue(mode), parse.GetValue(objective),
                new StaticQuantizationOptions(activationType: act, perChannel: !parse.GetValue(perTensor), calibration: parse.GetValue(calibration), calibrationSamples: parse.GetValue(calibSamples), exclude: parse.GetValue(exclude) ?? [],
                    weightType: weightType, keep8Bit: keep, alignConvChannels: !parse.GetValue(noAlign)),
                parse.GetValue(blockSize), parse.GetValue(verifySamples), parse.GetValue(limit), null, parse.GetValue(minSqnr),
                parse.GetValue(minCosine), parse.GetValue(threads),
                new QatOptions(parse.GetValue(epochs), parse.GetValue(batchSize), parse.GetValue(lr), parse.GetValue(scales), parse.GetValue(freeze), recovery.From(parse),
                    parse.GetValue(trainLimit), parse.GetValue(seed)),
                latencyBatches: latencyBatches.Length > 0 ? latencyBatches : null, allowSlower: parse.GetValue(allowSlower), sequenceLength: parse.GetValue(seqLen), smoothAlpha: parse.GetValue(smooth)),
                ("LatencyBatches", "--latency-batch"), ("BlockSize", "--block-size"), ("VerifySamples", "--verify-samples"), ("EvaluationLimit", "--limit"), ("LatencyBatch", "--latency-batch"),
                ("MinSqnrDb", "--min-sqnr"), ("MinCosine", "--min-cosine"), ("Threads", "--threads"), ("Quantization", "--calib-samples"),
                ("WeightType", "--weight-bits"), ("Keep8Bit", "--keep-8bit"), ("Epochs", "--finetune-epochs"), ("LearningRate", "--lr"), ("BatchSize", "--batch-size"),
                ("FreezeFraction", "--freeze-after"), ("Limit", "--train-limit"), ("SequenceLength", "--seq-len"), ("SmoothAlpha", "--smooth"));
            if (options.Mode is QuantizationMode.Static or QuantizationMode.Qat && dataArgs.SpecFrom(parse) is null)
                throw new UsageException(options.Mode == QuantizationMode.Qat ? "quantization-aware training needs labelled data: --data DATASET" : "static quantization needs calibration data: --data DATASET or --data FILE.npy");
            if (options.SmoothAlpha is not null && dataArgs.SpecFrom(parse) is null)
                throw new UsageException("--smooth measures activations on calibration samples: give --data DATASET");
            var source = OnnxModel.Load(input.FullName);
            var data = dataArgs.SpecFrom(parse) is null ? null : dataArgs.Bind(parse, source, sequenceLength: parse.GetValue(seqLen));
            var result = console.RunJob(p => ModelQuantizer.Quantize(source, data, options, p), quiet: true);
            if (result.Refused)
            {
                // The report says what was measured; the model is not written.
                if (parse.GetValue(json)) JsonOutput.Write(console, result, ("model", input.FullName), ("output", null));
                else Print(console.Out, result, null, parse.GetValue(showLayers));
                console.Error.WriteLine($"error: {WhittleCli.Printable(result.Latency!.Refusal!)}");
                return NotFasterThanFloat;
            }
            result.Save(target.FullName);
            if (parse.GetValue(json)) JsonOutput.Write(console, result, ("model", input.FullName), ("output", target.FullName));
            else Print(console.Out, result, target.FullName, parse.GetValue(showLayers));
            return WhittleCli.Ok;
        });
        return cmd;
    }

    private static void Print(IAnsiConsole o, ModelQuantizationResult r, string? output, int showLayers)
    {
        var summary = new Table().Title("[bold]Quantization[/]").AddColumn("").AddColumn("float").AddColumn("quantized").AddColumn("");
        summary.AddRow("Size", Format.Bytes(r.BytesBefore), Format.Bytes(r.BytesAfter), Format.Percent((double)r.BytesAfter / r.BytesBefore, 1) + " of float");
        summary.AddRow("Nodes", r.NodesBefore.ToString(), r.NodesAfter.ToString(),
            string.Join(", ", r.OpCounts.Where(k => k.Key.Split('.')[^1] is "QuantizeLinear" or "DequantizeLinear" or "DynamicQuantizeLinear" or "MatMulInteger" or "MatMulNBits").Select(k => $"{k.Key} {k.Value}")));
        if (r.Latency is { } latency)
            foreach (var x in latency.Batches)
                summary.AddRow($"Latency, batch {x.Batch}", $"{x.FloatMs:F3} ms", $"{x.ModelMs:F3} ms",
                    $"{x.Ratio:F2}× float [grey]({x.RatioLow:F2}–{x.RatioHigh:F2}, {x.Rounds} rounds)[/]" + (x.Faster ? "" : x.RatioLow >= 1 ? " [red](slower)[/]" : " [yellow](not faster beyond noise)[/]"));
        else
        {
            var (fl, ql) = (r.FloatLatencyMs, r.QuantizedLatencyMs);
            summary.AddRow($"Latency p50, batch {r.LatencyBatch}", $"{fl:F3} ms", $"{ql:F3} ms", $"{ql / fl:F2}× float" + (ql >= fl ? " [red](slower)[/]" : ""));
        }
        if (r.Before is { } b && r.After is { } a)
        {
            summary.AddRow($"Accuracy ({b.Samples:N0} samples)", Format.Percent(b.Accuracy), Format.Percent(a.Accuracy), $"{(a.Accuracy - b.Accuracy) * 100:+0.00;-0.00} points");
            summary.AddRow("Macro-F1", Format.Number(b.MacroF1), Format.Number(a.MacroF1), $"{a.MacroF1 - b.MacroF1:+0.0000;-0.0000}");
        }
        o.Write(summary);
        if (r.Qat is { } qat) PrintQat(o, r, qat);
        foreach (var p in r.Preparation) o.MarkupLine($"[grey]· {Markup.Escape(p)}[/]");
        if (r.Placement.Count > 0)
        {
            bool several = r.Placement.Select(p => p.Batch).Distinct().Count() > 1;
            var t = new Table().Title("[bold]Placement[/] (ORT kernel time per node on this machine: proposes candidates)").AddColumn("Node").AddColumn("Op");
            if (several) t.AddColumn(new TableColumn("batch").RightAligned());
            t.AddColumn(new TableColumn("float ms").RightAligned()).AddColumn(new TableColumn("int8 ms").RightAligned()).AddColumn("runs in");
            foreach (var p in r.Placement)
            {
                var cells = new List<string> { Markup.Escape(p.Node), p.OpType };
                if (several) cells.Add(p.Batch.ToString());
                cells.AddRange([p.FloatMs.ToString("F3"), p.Int8Ms.ToString("F3"), p.Quantized ? "[green]int8[/]" : "[yellow]float[/]"]);
                t.AddRow(cells.ToArray());
            }
            o.Write(t);
        }
        if (r.Candidates is { Count: > 0 } candidates)
        {
            var t = new Table().Title("[bold]Candidates[/] (whole model / float, timed together in rounds: median (95 % interval); decides)").AddColumn("Candidate");
            foreach (var x in candidates[0].Batches) t.AddColumn(new TableColumn($"batch {x.Batch}").RightAligned());
            if (candidates[0].Batches.Count > 1) t.AddColumn(new TableColumn("over the set").RightAligned());
            t.AddColumn("");
            foreach (var c in candidates)
            {
                var cells = new List<string> { Markup.Escape(c.Candidate) };
                cells.AddRange(c.Batches.Select(x => $"{x.Ratio:F2} ({x.RatioLow:F2}–{x.RatioHigh:F2})"));
                if (c.Batches.Count > 1) cells.Add($"{c.Ratio:F2} ({c.RatioLow:F2}–{c.RatioHigh:F2})");
                cells.Add(c.Chosen ? "[green]chosen[/]" : "");
                t.AddRow(cells.ToArray());
            }
            o.Write(t);
        }
        if (r.Outputs.Count > 0)
        {
            var t = new Table().Title($"[bold]Outputs[/] vs float{(r.Inputs is { } inputs ? $" [grey]({Markup.Escape(inputs)})[/]" : "")}").AddColumn("Output").AddColumn(new TableColumn("SQNR dB").RightAligned())
                .AddColumn(new TableColumn("cosine").RightAligned()).AddColumn(new TableColumn("max |Δ|").RightAligned()).AddColumn(new TableColumn("same top-1").RightAligned());
            foreach (var x in r.Outputs)
                t.AddRow(Markup.Escape(x.Output), x.SqnrDb.ToString("F1"), x.Cosine.ToString("F4"), x.MaxAbsDifference.ToString("G3"), x.Top1Agreement is { } a1 ? Format.Percent(a1) : "-");
            o.Write(t);
        }
        if (r.Embedding is { } e)
        {
            var t = new Table().Title($"[bold]Sentence embeddings[/] vs float ({e.Texts} texts, {Markup.Escape(e.Pooling)})").AddColumn("").AddColumn(new TableColumn("").RightAligned());
            t.AddRow("cosine, mean", e.MeanCosine.ToString("F4"));
            t.AddRow("cosine, min", e.MinCosine.ToString("F4"));
            t.AddRow($"top-{e.K} neighbour overlap", e.NeighbourOverlap is { } n ? n.ToString("F3") : "[grey]- (generated inputs: give --data texts)[/]");
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
        if (output is null) return;
        o.MarkupLine($"Wrote {Markup.Escape(output)} ({r.Mode}{(r.Calibration is null ? "" : $", {r.Calibration} calibration")}), verified in ONNX Runtime");
    }

    /// <summary>Post-training quantization at the same bits next to the QAT model, and how it trained.</summary>
    private static void PrintQat(IAnsiConsole o, ModelQuantizationResult r, QatSummary q)
    {
        var t = new Table().Title($"[bold]PTQ vs QAT[/] ({q.WeightType} weights)").AddColumn("").AddColumn("float").AddColumn($"PTQ {q.WeightType}").AddColumn($"QAT {q.WeightType}");
        if (r.Before is { } b && r.After is { } a && q.Ptq is { } p)
        {
            t.AddRow("Accuracy", Format.Percent(b.Accuracy), $"{Format.Percent(p.Accuracy)} ({(p.Accuracy - b.Accuracy) * 100:+0.00;-0.00})", $"{Format.Percent(a.Accuracy)} ({(a.Accuracy - b.Accuracy) * 100:+0.00;-0.00})");
            t.AddRow("Macro-F1", Format.Number(b.MacroF1), Format.Number(p.MacroF1), Format.Number(a.MacroF1));
        }
        t.AddRow("Size", Format.Bytes(r.BytesBefore), Format.Bytes(q.PtqBytes), Format.Bytes(r.BytesAfter));
        t.AddRow($"Latency p50, batch {r.LatencyBatch}", "1.00×", $"{q.PtqLatencyMs / q.PtqFloatLatencyMs:F2}×", $"{r.QuantizedLatencyMs / r.FloatLatencyMs:F2}×");
        o.Write(t);
        o.MarkupLine($"[grey]· trained {q.Epochs} epoch(s) in {q.Seconds:F0} s: {q.WeightQuantizers} weight and {q.ActivationQuantizers} activation quantizers, {q.Scales} step sizes" +
            $"{(q.FreezeStep is { } f ? $", frozen after step {f}" : "")}, {q.ReinsertedBatchNorms} BatchNorm(s) re-inserted and folded back, teacher: {Markup.Escape(q.Teacher ?? "none")}[/]");
    }
}
