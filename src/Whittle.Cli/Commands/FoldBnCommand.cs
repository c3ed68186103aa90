using System.CommandLine;
using Spectre.Console;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;

namespace Whittle.Cli.Commands;

/// <summary>
/// <c>whittle fold-bn MODEL -o OUT</c>: BatchNormalization folded into the preceding Conv/Gemm and
/// Identity/Dropout removed — the inference form of a trained model. Verified in ONNX Runtime
/// against the input model before it is written.
/// </summary>
internal static class FoldBnCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<FileInfo>("MODEL") { Description = "The .onnx model" };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the folded model", Required = true };
        var tolerance = new Option<double>("--tolerance") { Description = "Largest acceptable absolute difference from the input model", DefaultValueFactory = _ => 1e-5 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var cmd = new Command("fold-bn", "Fold BatchNormalization into the preceding Conv/Gemm and remove Identity/Dropout (inference form), verified in ONNX Runtime")
        {
            model, output, tolerance, json,
        };
        cmd.SetAction(parse => Execute(console, parse.GetRequiredValue(model), parse.GetRequiredValue(output), parse.GetValue(tolerance), parse.GetValue(json)));
        return cmd;
    }

    public sealed record FoldJson(string Model, string Output, IReadOnlyList<string> Changed, IReadOnlyList<string> Skipped, int NodesBefore, int NodesAfter,
        long BytesBefore, long BytesAfter, double MaxAbsDifference);

    private static int Execute(CliConsole console, FileInfo input, FileInfo output, double tolerance, bool json)
    {
        if (Path.GetFullPath(output.FullName) == Path.GetFullPath(input.FullName))
            throw new UsageException("--output must differ from the input model (Whittle never modifies an input file)");
        var source = OnnxModel.Load(input.FullName);
        var (folded, foldReport) = GraphPreparation.FoldBatchNorms(source);
        var (prepared, removeReport) = GraphPreparation.RemoveIdentityAndDropout(folded);
        prepared.Validate().ThrowIfInvalid(output.FullName);
        double diff = Compare(source, prepared, input.FullName);
        if (!(diff <= tolerance))
            throw new RuntimeException($"{input.FullName}: the folded model differs from the input by {diff:G3} (> {tolerance:G3}); not written");
        prepared.Save(output.FullName);
        var report = new FoldJson(input.FullName, output.FullName, [.. foldReport.Changed, .. removeReport.Changed], [.. foldReport.Skipped, .. removeReport.Skipped],
            source.Graph.Nodes.Count, prepared.Graph.Nodes.Count, ModelSizeReport.Measure(source).ModelBytes, ModelSizeReport.Measure(prepared).ModelBytes, diff);
        if (json)
        {
            JsonOutput.Write(console, report);
            return WhittleCli.Ok;
        }
        foreach (var c in report.Changed) console.Out.MarkupLine($"[green]✓[/] {Markup.Escape(c)}");
        foreach (var s in report.Skipped) console.Out.MarkupLine($"[yellow]·[/] {Markup.Escape(s)}");
        console.Out.MarkupLine($"Wrote {Markup.Escape(output.FullName)}: {report.NodesBefore} → {report.NodesAfter} nodes, verified in ONNX Runtime (max |Δ| {diff:G3})");
        return WhittleCli.Ok;
    }

    /// <summary>Largest absolute difference between the two models' outputs on generated inputs (batch 4, seed 0).</summary>
    private static double Compare(OnnxModel a, OnnxModel b, string label)
    {
        var options = RuntimeOptions.Default with { Optimization = GraphOptimization.Disabled };
        using var sa = new OnnxRuntimeSession(a, options);
        using var sb = new OnnxRuntimeSession(b, options);
        int batch = sa.Inputs.Select(i => i.FixedBatchSize).FirstOrDefault(b => b is not null) ?? 4;
        var inputs = sa.SampleInputs(batch, seed: 0);
        var ra = sa.Run(inputs);
        var rb = sb.Run(inputs);
        double max = 0;
        foreach (var (name, t) in ra)
        {
            if (!rb.TryGetValue(name, out var u)) throw new RuntimeException($"{label}: output '{name}' disappeared during folding");
            var x = t.AsFloats();
            var y = u.AsFloats();
            for (int i = 0; i < x.Length; i++) max = Math.Max(max, Math.Abs((double)x[i] - y[i]));
        }
        return max;
    }
}
