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
        VerifiedModelWriter.EnsureNotAnInput(output.FullName, [input.FullName]);
        var verification = CliParsing.Library(() => new WriteVerification(maxAbsDifference: tolerance, reference: OnnxModel.Load(input.FullName)), ("maxAbsDifference", "--tolerance"));
        var source = verification.Reference!;
        var (folded, foldReport) = GraphPreparation.FoldBatchNorms(source);
        var (prepared, removeReport) = GraphPreparation.RemoveIdentityAndDropout(folded);
        double diff = VerifiedModelWriter.Write(prepared, output.FullName, verification).MaxAbsDifference;
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
}
