using System.CommandLine;
using Spectre.Console;
using Whittle.Data;
using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Runtime;


namespace Whittle.Cli.Commands;

/// <summary>
/// <c>whittle check MODEL</c>: can Whittle train this model? Pre-flight (every unsupported op
/// listed at once), then the same inputs through the Engine and through ONNX Runtime, and the
/// largest differences per output.
/// </summary>
internal static class CheckCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<FileInfo>("MODEL") { Description = "The .onnx model to check" };
        var dataArgs = new DataArguments(null);
        var samples = new Option<int>("--samples", "-n") { Description = "Samples to compare (from --data, or generated from the input shapes)", DefaultValueFactory = _ => 8 };
        var tolerance = new Option<double>("--tolerance") { Description = "Largest acceptable absolute difference per output", DefaultValueFactory = _ => 1e-4 };
        var seqLen = new Option<int>("--seq-len") { Description = "Generated inputs: length of symbolic non-batch dimensions (a transformer's sequence)", DefaultValueFactory = _ => GeneratedInputs.DefaultSequenceLength };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var cmd = new Command("check", "Can Whittle train this model? Lists unsupported operators, then compares the Engine (TorchSharp) with ONNX Runtime on sample inputs")
        {
            model, samples, tolerance, seqLen, json,
        };
        dataArgs.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var file = parse.GetRequiredValue(model);
            var onnx = OnnxModel.Load(file.FullName);
            var data = dataArgs.SpecFrom(parse) is null || EnginePreflight.FindProblems(onnx).Count > 0 ? null : dataArgs.Bind(parse, onnx, sequenceLength: parse.GetValue(seqLen));
            var result = CliParsing.Library(() => EngineCheck.Run(onnx, data, parse.GetValue(samples), parse.GetValue(tolerance), sequenceLength: parse.GetValue(seqLen)),
                ("samples", "--samples"), ("tolerance", "--tolerance"), ("sequenceLength", "--seq-len"));
            if (parse.GetValue(json)) JsonOutput.Write(console, result, ("model", file.FullName));
            else Print(console.Out, file, onnx, result);
            return result.Passed ? WhittleCli.Ok : WhittleCli.Failure;
        });
        return cmd;
    }

    private static void Print(IAnsiConsole o, FileInfo file, OnnxModel model, EngineCheckResult result)
    {
        if (!result.Supported)
        {
            o.MarkupLine($"[red]✗[/] {Markup.Escape(file.Name)}: the Engine cannot run this model ({result.Problems.Count} problem{(result.Problems.Count == 1 ? "" : "s")}):");
            foreach (var p in result.Problems) o.MarkupLine($"  • {Markup.Escape(p)}");
            return;
        }
        o.MarkupLine($"[green]✓[/] pre-flight: every operator of {Markup.Escape(file.Name)} is supported ({model.Graph.Nodes.Count} nodes; {result.Parameters} trainable tensors, {result.Buffers} running-statistic buffers)");
        o.MarkupLine($"Inputs: {Markup.Escape(result.Inputs)}");
        var table = new Table().Title("Engine (TorchSharp) vs ONNX Runtime, eval mode").AddColumns("Output", "Shape", "max |Δ|", "max relative Δ", $"≤ {result.Tolerance:G3}");
        foreach (var d in result.Outputs)
            table.AddRow(Markup.Escape(d.Output), Markup.Escape(d.ShapeText), d.MaxAbsDifference.ToString("G3"), d.MaxRelativeDifference.ToString("G3"),
                d.MaxAbsDifference <= result.Tolerance ? "[green]yes[/]" : "[red]no[/]");
        o.Write(table);
        o.MarkupLine(result.Passed ? "[green]The Engine matches ONNX Runtime: this model can be trained by Whittle.[/]" : "[red]The Engine does not match ONNX Runtime within the tolerance.[/]");
    }
}
