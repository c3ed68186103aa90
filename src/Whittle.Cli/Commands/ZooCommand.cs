using System.CommandLine;
using Spectre.Console;
using Whittle.Evaluation;
using Whittle.Runtime;
using Whittle.Zoo;

namespace Whittle.Cli.Commands;

/// <summary><c>whittle zoo list</c> and <c>whittle zoo create NAME -o model.onnx</c>: reference architectures as ONNX.</summary>
internal static class ZooCommand
{
    public static Command Create(CliConsole console)
    {
        var list = new Command("list", "The reference architectures Whittle can create");
        var listJson = new Option<bool>("--json") { Description = "Print the list as JSON" };
        list.Add(listJson);
        list.SetAction(parse => List(console, parse.GetValue(listJson)));

        var name = new Argument<string>("NAME") { Description = "Architecture name (see 'whittle zoo list')" };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the model", Required = true };
        var classes = new Option<int?>("--classes") { Description = "Number of output classes (default 10)" };
        var inputShape = new Option<string?>("--input-shape") { Description = "Input shape without the batch dimension, e.g. 1,28,28" };
        var width = new Option<double?>("--width") { Description = "Width multiplier" };
        var depth = new Option<int?>("--depth") { Description = "Depth (ResNet: 6n+2)" };
        var seed = new Option<long?>("--seed") { Description = "Seed of the initial weights" };
        var create = new Command("create", "Create an architecture as an ONNX model with PyTorch-style initialization")
        {
            name, output, classes, inputShape, width, depth, seed,
        };
        create.SetAction(parse => CreateModel(console, parse.GetRequiredValue(name), parse.GetRequiredValue(output), parse.GetValue(classes),
            parse.GetValue(inputShape), parse.GetValue(width), parse.GetValue(depth), parse.GetValue(seed)));

        return new Command("zoo", "Reference architectures (MLP, LeNet-5, Conv-BN-ReLU CNN, CIFAR ResNet, MobileNetV2) emitted as ONNX") { list, create };
    }

    public sealed record ArchitectureJson(string Name, string Description, string? Width, string? Depth);

    private static int List(CliConsole console, bool json)
    {
        if (json)
        {
            JsonOutput.Write(console, ModelZoo.Architectures.Select(a => new ArchitectureJson(a.Name, a.Description, a.WidthMeaning, a.DepthMeaning)).ToList());
            return WhittleCli.Ok;
        }
        var table = new Table().AddColumns("Name", "Description", "--width", "--depth");
        foreach (var a in ModelZoo.Architectures)
            table.AddRow(a.Name, Markup.Escape(a.Description), Markup.Escape(a.WidthMeaning ?? "-"), Markup.Escape(a.DepthMeaning ?? "-"));
        console.Out.Write(table);
        return WhittleCli.Ok;
    }

    private static int CreateModel(CliConsole console, string name, FileInfo output, int? classes, string? inputShape, double? width, int? depth, long? seed)
    {
        if (!ModelZoo.TryGet(name, out var architecture))
            throw new UsageException($"no zoo architecture '{name}'; known: {string.Join(", ", ModelZoo.Architectures.Select(a => a.Name))}");
        var shape = inputShape is null ? null : CliParsing.PositiveInts(inputShape, "--input-shape");
        var model = architecture.Create(new ZooModelSettings(classes, shape, width, depth, seed));
        model.Validate().ThrowIfInvalid(name);
        // Verified before written: ONNX Runtime must load and run it.
        using (var session = new OnnxRuntimeSession(model))
            session.Run(session.SampleInputs(2));
        model.Save(output.FullName);
        var size = ModelSizeReport.Measure(model);
        console.Out.MarkupLine($"Wrote {Markup.Escape(output.FullName)}: {Markup.Escape(architecture.Name)}, {Format.Count(size.Parameters)} parameters, {Format.Bytes(size.TotalBytes)}, input {Markup.Escape(model.Graph.Inputs[0].TypeDescription)}");
        return WhittleCli.Ok;
    }
}
