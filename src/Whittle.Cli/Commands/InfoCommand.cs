using System.CommandLine;
using Spectre.Console;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Cli.Commands;

/// <summary><c>whittle info MODEL</c>: what is in a model and how big it is.</summary>
internal static class InfoCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<FileInfo>("MODEL") { Description = "The .onnx model file" };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var cmd = new Command("info", "Producer, IR and opset, inputs and outputs, operator histogram, parameters and size of a model")
        {
            model, json,
        };
        cmd.SetAction(parse => Execute(console, parse.GetRequiredValue(model), parse.GetValue(json)));
        return cmd;
    }

    public sealed record ValueJson(string Name, string ElementType, string[]? Shape);

    public sealed record InfoJson(
        string Path, string Producer, string ProducerVersion, long IrVersion, IReadOnlyDictionary<string, long> Opsets,
        string GraphName, IReadOnlyList<ValueJson> Inputs, IReadOnlyList<ValueJson> Outputs, int Nodes,
        IReadOnlyDictionary<string, int> Operators, long Parameters, long NonZeroParameters, double Sparsity,
        long FileBytes, long ExternalDataBytes, IReadOnlyList<DataTypeShare> InitializersByType,
        IReadOnlyList<string> ValidationErrors, IReadOnlyList<string> ValidationWarnings);

    public static InfoJson Describe(OnnxModel m, string path)
    {
        var size = ModelSizeReport.Measure(m);
        var validation = m.Validate();
        // ONNX Runtime is the judge of whether a model runs: an unknown operator or an opset it does
        // not implement is an error here, not a silent exit 0.
        var errors = validation.Errors.ToList();
        try
        {
            using var _ = new OnnxRuntimeSession(m);
        }
        catch (RuntimeException e)
        {
            errors.Add($"ONNX Runtime cannot load it: {e.Message}");
        }
        static ValueJson V(OnnxValueInfo v) =>
            new(v.Name, OnnxDataTypes.Name(v.ElementType), v.Shape?.Select(d => d.ToString()).ToArray());
        return new InfoJson(path, m.ProducerName, m.ProducerVersion, m.IrVersion, m.Opsets, m.Graph.Name,
            m.Graph.Inputs.Select(V).ToList(), m.Graph.Outputs.Select(V).ToList(), m.Graph.Nodes.Count,
            m.Graph.OpHistogram(), size.Parameters, size.NonZeroParameters, size.Sparsity,
            new FileInfo(path).Exists ? new FileInfo(path).Length : size.ModelBytes, size.ExternalDataBytes,
            size.ByDataType, errors, validation.Warnings);
    }

    private static int Execute(CliConsole console, FileInfo file, bool json)
    {
        var model = OnnxModel.Load(file.FullName);
        var info = Describe(model, file.FullName);
        if (json)
        {
            JsonOutput.Write(console, info);
            return info.ValidationErrors.Count == 0 ? WhittleCli.Ok : WhittleCli.Failure;
        }

        var o = console.Out;
        var summary = new Grid().AddColumn().AddColumn();
        summary.AddRow("[bold]Model[/]", Markup.Escape(file.FullName));
        summary.AddRow("Producer", Markup.Escape($"{info.Producer} {info.ProducerVersion}".Trim() is { Length: > 0 } p ? p : "(not recorded)"));
        summary.AddRow("IR version", info.IrVersion.ToString());
        summary.AddRow("Opsets", Markup.Escape(string.Join(", ", info.Opsets.Select(kv => $"{(kv.Key.Length == 0 ? "ai.onnx" : kv.Key)} {kv.Value}"))));
        summary.AddRow("Nodes", Format.Count(info.Nodes));
        summary.AddRow("Parameters", $"{Format.Count(info.Parameters)} ({Format.Count(info.NonZeroParameters)} non-zero, sparsity {Format.Percent(info.Sparsity)})");
        summary.AddRow("Size", info.ExternalDataBytes > 0
            ? $"{Format.Bytes(info.FileBytes)} + {Format.Bytes(info.ExternalDataBytes)} external data"
            : $"{Format.Bytes(info.FileBytes)} ({Format.Count(info.FileBytes)} bytes)");
        o.Write(summary);
        o.WriteLine();

        var io = new Table().Title("Inputs and outputs").AddColumns("", "Name", "Type");
        foreach (var i in model.Graph.Inputs) io.AddRow("input", Markup.Escape(i.Name), Markup.Escape(i.TypeDescription));
        foreach (var i in model.Graph.Outputs) io.AddRow("output", Markup.Escape(i.Name), Markup.Escape(i.TypeDescription));
        o.Write(io);

        var ops = new Table().Title("Operators").AddColumn("Op").AddColumn(new TableColumn("Count").RightAligned());
        foreach (var (op, count) in info.Operators.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
            ops.AddRow(Markup.Escape(op), count.ToString());
        o.Write(ops);

        var types = new Table().Title("Initializers by data type").AddColumns("Type", "Tensors", "Elements", "Bytes");
        foreach (var t in info.InitializersByType)
            types.AddRow(OnnxDataTypes.Name(t.DataType), Format.Count(t.Tensors), Format.Count(t.Elements), Format.Bytes(t.Bytes));
        o.Write(types);

        foreach (var w in info.ValidationWarnings) o.MarkupLine($"[yellow]warning:[/] {Markup.Escape(w)}");
        foreach (var e in info.ValidationErrors) o.MarkupLine($"[red]error:[/] {Markup.Escape(e)}");
        return info.ValidationErrors.Count == 0 ? WhittleCli.Ok : WhittleCli.Failure;
    }
}
