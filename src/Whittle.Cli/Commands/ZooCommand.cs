using System.CommandLine;
using Spectre.Console;
using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
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
        var vocabSize = new Option<int?>("--vocab-size") { Description = "Text models without --data: rows of the token embedding" };
        var users = new Option<int?>("--users") { Description = "Recommenders without --data: rows of the user tables" };
        var items = new Option<int?>("--items") { Description = "Recommenders without --data: rows of the item tables" };
        var dataArgs = new DataArguments(null);
        var create = new Command("create", "Create an architecture as an ONNX model with PyTorch-style initialization")
        {
            name, output, classes, inputShape, width, depth, seed, vocabSize, users, items,
        };
        dataArgs.AddTo(create);
        create.SetAction(parse => CreateModel(console, new CreateRequest(parse.GetRequiredValue(name), parse.GetRequiredValue(output), parse.GetValue(classes),
            parse.GetValue(inputShape), parse.GetValue(width), parse.GetValue(depth), parse.GetValue(seed), parse.GetValue(vocabSize),
            parse.GetValue(users), parse.GetValue(items), dataArgs.SpecFrom(parse), dataArgs.OptionsFrom(parse))));

        return new Command("zoo", "Reference architectures emitted as ONNX: vision (MLP, LeNet-5, Conv-BN-ReLU CNN, CIFAR ResNet, MobileNetV2), text (TextCNN, Transformer, fastText) and recommenders (MF, NCF)") { list, create };
    }

    private sealed record CreateRequest(string Name, FileInfo Output, int? Classes, string? InputShape, double? Width, int? Depth, long? Seed,
        int? VocabularySize, int? Users, int? Items, string? Data, DataOptions DataOptions);

    public sealed record ArchitectureJson(string Name, string Description, string Input, string? Width, string? Depth);

    private static int List(CliConsole console, bool json)
    {
        if (json)
        {
            JsonOutput.Write(console, ModelZoo.Architectures.Select(a => new ArchitectureJson(a.Name, a.Description, InputText(a.InputKind), a.WidthMeaning, a.DepthMeaning)).ToList());
            return WhittleCli.Ok;
        }
        var table = new Table().AddColumns("Name", "Input", "Description", "--width", "--depth");
        foreach (var a in ModelZoo.Architectures)
            table.AddRow(a.Name, InputText(a.InputKind), Markup.Escape(a.Description), Markup.Escape(a.WidthMeaning ?? "-"), Markup.Escape(a.DepthMeaning ?? "-"));
        console.Out.Write(table);
        return WhittleCli.Ok;
    }

    private static string InputText(ZooInputKind kind) => kind switch
    {
        ZooInputKind.TokenIds => "token ids",
        ZooInputKind.UserItemIds => "user, item ids",
        _ => "features",
    };

    private static int CreateModel(CliConsole console, CreateRequest r)
    {
        if (!ModelZoo.TryGet(r.Name, out var architecture))
            throw new UsageException($"no zoo architecture '{r.Name}'; known: {string.Join(", ", ModelZoo.Architectures.Select(a => a.Name))}");
        var shape = r.InputShape is null ? null : CliParsing.PositiveInts(r.InputShape, "--input-shape");
        int? classes = r.Classes, vocabularySize = r.VocabularySize, users = r.Users, items = r.Items;
        Vocabulary? vocabulary = null;
        string? sizedFrom = null;
        if (r.Data is not null)
        {
            var spec = DatasetSpec.Parse(r.Data);
            switch (architecture.InputKind, spec.Family)
            {
                case (ZooInputKind.TokenIds, DatasetFamily.Text):
                    if (r.VocabularySize is not null || r.InputShape is not null || r.Classes is not null)
                        throw new UsageException("--data sizes a text model (vocabulary, sequence length, classes); leave out --vocab-size, --input-shape and --classes, or use --max-vocab/--max-length");
                    var (train, _) = spec.OpenText(r.DataOptions.Categories).SplitTest(r.DataOptions.TestFraction, r.DataOptions.SplitSeed);
                    vocabulary = Vocabulary.Build(train.Texts, train.ClassNames, r.DataOptions.Tokenizer);
                    (vocabularySize, classes, shape) = (vocabulary.Count, vocabulary.ClassNames.Count, [vocabulary.Options.SequenceLength]);
                    sizedFrom = $"vocabulary of {vocabulary.Count:N0} tokens from {train.Count:N0} training texts of {train.Description}";
                    break;
                case (ZooInputKind.UserItemIds, DatasetFamily.Interactions):
                    if (r.Users is not null || r.Items is not null) throw new UsageException("--data gives the user and item counts; leave out --users and --items");
                    var interactions = spec.OpenInteractions();
                    (users, items) = (interactions.UserCount, interactions.ItemCount);
                    sizedFrom = $"{users:N0} users and {items:N0} items of {interactions.Description}";
                    break;
                default:
                    throw new UsageException($"--data {spec}: {architecture.Name} takes {InputText(architecture.InputKind)}, which {spec.Family.ToString().ToLowerInvariant()} data does not size");
            }
        }
        OnnxModel model;
        try
        {
            model = architecture.Create(new ZooModelSettings(classes, shape, r.Width, r.Depth, r.Seed, vocabularySize, users, items));
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{architecture.Name}: {e.Message.Split(" (Parameter")[0]}");
        }
        model.Validate().ThrowIfInvalid(r.Name);
        // Verified before written: ONNX Runtime must load and run it.
        using (var session = new OnnxRuntimeSession(model))
            session.Run(session.SampleInputs(2));
        VerifiedModelWriter.Write(model, r.Output.FullName, new WriteVerification());
        vocabulary?.Save(Vocabulary.PathFor(r.Output.FullName));
        var size = ModelSizeReport.Measure(model);
        console.Out.MarkupLine($"Wrote {Markup.Escape(r.Output.FullName)}: {Markup.Escape(architecture.Name)}, {Format.Count(size.Parameters)} parameters, {Format.Bytes(size.TotalBytes)}, input {Markup.Escape(string.Join(", ", model.Graph.Inputs.Select(i => $"{i.Name} {i.TypeDescription}")))}");
        if (sizedFrom is not null) console.Out.MarkupLine($"Sized from the {Markup.Escape(sizedFrom)}");
        if (vocabulary is not null) console.Out.MarkupLine($"Wrote the vocabulary to {Markup.Escape(Vocabulary.PathFor(r.Output.FullName))}");
        return WhittleCli.Ok;
    }
}
