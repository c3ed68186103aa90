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
    public static Command Create(CliConsole console)
    {
        var d = ModelQuantizationOptions.Default;
        var model = new Argument<FileInfo>("MODEL") { Description = "The float .onnx model" };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the quantized model", Required = true };
        var mode = new Option<QuantizationMode>("--mode", "-m") { Description = "static (calibrated int8 QDQ), dynamic (int8 weights, activations at run time), int4 (weight-only MatMulNBits)", DefaultValueFactory = _ => d.Mode };
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
        var latencyBatch = new Option<int>("--latency-batch") { Description = "Batch size for profiling and the latency comparison (fixed-batch models use theirs)", DefaultValueFactory = _ => d.LatencyBatch };
        var minSqnr = new Option<double>("--min-sqnr") { Description = "objective accuracy: keep in float compute nodes whose output SQNR (dB) is below this", DefaultValueFactory = _ => d.MinSqnrDb };
        var minCosine = new Option<double>("--min-cosine") { Description = "Refuse to write a model whose outputs' mean cosine similarity to the float model is below this", DefaultValueFactory = _ => d.MinCosine };
        var threads = new Option<int>("--threads", "-t") { Description = "ONNX Runtime intra-op threads (0 = one per core)", DefaultValueFactory = _ => d.Threads };
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
            var input = parse.GetRequiredValue(model);
            var target = parse.GetRequiredValue(output);
            VerifiedModelWriter.EnsureNotAnInput(target.FullName, [input.FullName]);
            var options = CliParsing.Library(() => new ModelQuantizationOptions(parse.GetValue(mode), parse.GetValue(objective),
                new StaticQuantizationOptions(activationType: act, perChannel: !parse.GetValue(perTensor), calibration: parse.GetValue(calibration), calibrationSamples: parse.GetValue(calibSamples), exclude: parse.GetValue(exclude) ?? []),
                parse.GetValue(blockSize), parse.GetValue(verifySamples), parse.GetValue(limit), parse.GetValue(latencyBatch), parse.GetValue(minSqnr),
                parse.GetValue(minCosine), parse.GetValue(threads)),
                ("BlockSize", "--block-size"), ("VerifySamples", "--verify-samples"), ("EvaluationLimit", "--limit"), ("LatencyBatch", "--latency-batch"),
                ("MinSqnrDb", "--min-sqnr"), ("MinCosine", "--min-cosine"), ("Threads", "--threads"), ("Quantization", "--calib-samples"));
            if (options.Mode == QuantizationMode.Static && dataArgs.SpecFrom(parse) is null)
                throw new UsageException("static quantization needs calibration data: --data DATASET or --data FILE.npy");
            var source = OnnxModel.Load(input.FullName);
            var data = dataArgs.SpecFrom(parse) is null ? null : dataArgs.Bind(parse, source);
            var result = console.RunJob(p => ModelQuantizer.Quantize(source, data, options, p), quiet: true);
            result.Save(target.FullName);
            if (parse.GetValue(json)) JsonOutput.Write(console, result, ("model", input.FullName), ("output", target.FullName));
            else Print(console.Out, result, target.FullName, parse.GetValue(showLayers));
            return WhittleCli.Ok;
        });
        return cmd;
    }

    private static void Print(IAnsiConsole o, ModelQuantizationResult r, string output, int showLayers)
    {
        var summary = new Table().Title("[bold]Quantization[/]").AddColumn("").AddColumn("float").AddColumn("quantized").AddColumn("");
        summary.AddRow("Size", Format.Bytes(r.BytesBefore), Format.Bytes(r.BytesAfter), Format.Percent((double)r.BytesAfter / r.BytesBefore, 1) + " of float");
        summary.AddRow("Nodes", r.NodesBefore.ToString(), r.NodesAfter.ToString(),
            string.Join(", ", r.OpCounts.Where(k => k.Key.Split('.')[^1] is "QuantizeLinear" or "DequantizeLinear" or "DynamicQuantizeLinear" or "MatMulInteger" or "MatMulNBits").Select(k => $"{k.Key} {k.Value}")));
        var (fl, ql) = (r.FloatLatencyMs, r.QuantizedLatencyMs);
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
                t.AddRow(Markup.Escape(x.Output), x.SqnrDb.ToString("F1"), x.Cosine.ToString("F4"), x.MaxAbsDifference.ToString("G3"), x.Top1Agreement is { } a1 ? Format.Percent(a1) : "-");
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
        o.MarkupLine($"Wrote {Markup.Escape(output)} ({r.Mode}{(r.Calibration is null ? "" : $", {r.Calibration} calibration")}), verified in ONNX Runtime");
    }
}
