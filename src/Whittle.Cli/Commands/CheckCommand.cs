using System.CommandLine;
using Spectre.Console;
using Whittle.Data;
using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Runtime;
using static TorchSharp.torch;

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
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var cmd = new Command("check", "Can Whittle train this model? Lists unsupported operators, then compares the Engine (TorchSharp) with ONNX Runtime on sample inputs")
        {
            model, samples, tolerance, json,
        };
        dataArgs.AddTo(cmd);
        cmd.SetAction(parse => Execute(console, parse.GetRequiredValue(model), parse.GetValue(dataArgs.Data), parse.GetValue(dataArgs.Normalize),
            parse.GetValue(dataArgs.Scale), parse.GetValue(samples), parse.GetValue(tolerance), parse.GetValue(json)));
        return cmd;
    }

    public sealed record OutputDifference(string Output, string Shape, double MaxAbsDifference, double MaxRelativeDifference, bool WithinTolerance);

    public sealed record CheckJson(string Model, bool Supported, IReadOnlyList<string> Problems, string Inputs, int Samples, double Tolerance,
        IReadOnlyList<OutputDifference> Outputs, int Parameters, int Buffers, bool Passed);

    private static int Execute(CliConsole console, FileInfo file, string? data, string? normalize, float? scale, int samples, double tolerance, bool json)
    {
        if (samples < 1) throw new UsageException("--samples must be at least 1");
        if (!(tolerance >= 0)) throw new UsageException("--tolerance must be a non-negative number");
        var model = OnnxModel.Load(file.FullName);
        var problems = EnginePreflight.FindProblems(model);
        if (problems.Count > 0)
        {
            var failed = new CheckJson(file.FullName, false, problems, "", 0, tolerance, [], 0, 0, false);
            if (json) JsonOutput.Write(console, failed);
            else
            {
                console.Out.MarkupLine($"[red]✗[/] {Markup.Escape(file.Name)}: the Engine cannot run this model ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}):");
                foreach (var p in problems) console.Out.MarkupLine($"  • {Markup.Escape(p)}");
            }
            return WhittleCli.Failure;
        }

        using var session = new OnnxRuntimeSession(model);
        // A model with a fixed batch dimension runs exactly that batch.
        int generatedBatch = session.Inputs.Select(i => i.FixedBatchSize).FirstOrDefault(b => b is not null) ?? samples;
        var (inputs, description) = data is null
            ? (session.SampleInputs(generatedBatch, seed: 0), $"generated from the input shapes (batch {generatedBatch}, seed 0)")
            : FromData(session, data, normalize, scale, samples, file.FullName);
        var expected = session.Run(inputs);

        using var scope = NewDisposeScope();
        using var module = new OnnxModule(model);
        module.eval();
        Tensor[] actual;
        using (no_grad())
        {
            var torchInputs = module.InputNames.Select(n => ToTorch(inputs[n])).ToArray();
            actual = module.Run(torchInputs);
        }
        var differences = new List<OutputDifference>();
        for (int i = 0; i < actual.Length; i++)
        {
            var name = module.OutputNames[i];
            var want = expected[name].AsFloats();
            var got = TorchTensors.ToFloats(actual[i]);
            if (want.Length != got.Length)
                throw new EngineException($"{file.FullName}: output '{name}' has {got.Length} values in the Engine and {want.Length} in ONNX Runtime");
            double maxAbs = 0, maxRel = 0;
            for (int k = 0; k < want.Length; k++)
            {
                double d = Math.Abs((double)want[k] - got[k]);
                if (double.IsNaN(d)) d = float.IsNaN(want[k]) && float.IsNaN(got[k]) ? 0 : double.PositiveInfinity;
                maxAbs = Math.Max(maxAbs, d);
                maxRel = Math.Max(maxRel, d / Math.Max(Math.Abs((double)want[k]), 1e-12));
            }
            differences.Add(new OutputDifference(name, $"[{string.Join(",", expected[name].Shape)}]", maxAbs, maxRel, maxAbs <= tolerance));
        }
        bool passed = differences.All(d => d.WithinTolerance);
        var result = new CheckJson(file.FullName, true, [], description, samples, tolerance, differences,
            module.ParametersByInitializer.Count, module.BuffersByInitializer.Count, passed);
        if (json)
        {
            JsonOutput.Write(console, result);
            return passed ? WhittleCli.Ok : WhittleCli.Failure;
        }
        var o = console.Out;
        o.MarkupLine($"[green]✓[/] pre-flight: every operator of {Markup.Escape(file.Name)} is supported ({model.Graph.Nodes.Count} nodes; {result.Parameters} trainable tensors, {result.Buffers} running-statistic buffers)");
        o.MarkupLine($"Inputs: {Markup.Escape(description)}");
        var table = new Table().Title("Engine (TorchSharp) vs ONNX Runtime, eval mode").AddColumns("Output", "Shape", "max |Δ|", "max relative Δ", $"≤ {tolerance:G3}");
        foreach (var d in differences)
            table.AddRow(Markup.Escape(d.Output), Markup.Escape(d.Shape), d.MaxAbsDifference.ToString("G3"), d.MaxRelativeDifference.ToString("G3"), d.WithinTolerance ? "[green]yes[/]" : "[red]no[/]");
        o.Write(table);
        o.MarkupLine(passed ? "[green]The Engine matches ONNX Runtime: this model can be trained by Whittle.[/]" : "[red]The Engine does not match ONNX Runtime within the tolerance.[/]");
        return passed ? WhittleCli.Ok : WhittleCli.Failure;
    }

    private static (Dictionary<string, RuntimeTensor>, string) FromData(OnnxRuntimeSession session, string data, string? normalize, float? scale, int samples, string label)
    {
        if (session.Inputs.Count != 1) throw new UsageException($"--data feeds one input, but the model takes {session.Inputs.Count}");
        var loaded = DataArguments.Load(data, null, normalize, scale);
        var dataset = loaded.Dataset.Take(samples);
        var input = session.Inputs[0];
        var shape = EvalCommand.MatchSampleShape(input, dataset, label);
        int batch = input.FixedBatchSize ?? dataset.Count;
        dataset = dataset.Take(batch);
        var values = dataset.Features.ToArray();
        var dims = new long[] { dataset.Count }.Concat(shape.Select(d => (long)d)).ToArray();
        return (new Dictionary<string, RuntimeTensor> { [input.Name] = RuntimeTensor.FromFloats(values, dims) },
            $"the first {dataset.Count} samples of {loaded.Description}");
    }

    private static Tensor ToTorch(RuntimeTensor t) => t.Data switch
    {
        float[] f => tensor(f, t.Shape),
        long[] l => tensor(l, t.Shape),
        int[] i => tensor(i, t.Shape),
        double[] d => tensor(d, t.Shape),
        byte[] b => tensor(b, t.Shape),
        bool[] b => tensor(b, t.Shape),
        _ => throw new EngineException($"cannot feed {t} to the Engine"),
    };
}
