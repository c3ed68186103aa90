using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Onnx.Proto;
using static TorchSharp.torch;

namespace Whittle.Tests.Engine.Conformance;

/// <summary>One ONNX backend node test (Debian libonnx-testdata): a model and its reference inputs/outputs.</summary>
internal sealed record NodeTestCase(string Name, string Directory)
{
    public string ModelPath => Path.Combine(Directory, "model.onnx");

    public IEnumerable<string> DataSets => System.IO.Directory.GetDirectories(Directory, "test_data_set_*").OrderBy(d => d, StringComparer.Ordinal);

    public static OnnxTensor ReadTensor(string path) => new(TensorProto.Parser.ParseFrom(File.ReadAllBytes(path)));
}

/// <summary>Result of running one node test through the Engine.</summary>
internal enum NodeTestOutcome { Passed, Failed, Unsupported }

internal sealed record NodeTestResult(string Name, NodeTestOutcome Outcome, string Detail, IReadOnlyList<string> Ops);

/// <summary>Runs ONNX backend node tests through <see cref="OnnxModule"/> in eval mode.</summary>
internal static class OnnxBackendConformance
{
    public const string NodeDirectory = TestPaths.OnnxTestData + "/node";

    // numpy.testing.assert_allclose defaults used by ONNX's backend test runner.
    public const double RelativeTolerance = 1e-3;
    public const double AbsoluteTolerance = 1e-7;

    /// <summary>Every node test's result, computed once per test run and shared by the conformance cases and the operators doc.</summary>
    public static readonly Lazy<IReadOnlyDictionary<string, NodeTestResult>> Results =
        new(() => All().Select(Run).ToDictionary(r => r.Name, StringComparer.Ordinal), LazyThreadSafetyMode.ExecutionAndPublication);

    public static IReadOnlyList<NodeTestCase> All() =>
        System.IO.Directory.Exists(NodeDirectory)
            ? System.IO.Directory.GetDirectories(NodeDirectory).OrderBy(d => d, StringComparer.Ordinal)
                .Select(d => new NodeTestCase(Path.GetFileName(d), d)).ToList()
            : [];

    public static NodeTestResult Run(NodeTestCase test)
    {
        OnnxModel model;
        try
        {
            model = OnnxModel.Load(test.ModelPath);
        }
        catch (OnnxException e)
        {
            return new(test.Name, NodeTestOutcome.Failed, e.Message, []);
        }
        var ops = model.Graph.Nodes.Select(n => (n.Domain.Length > 0 ? n.Domain + "." : "") + n.OpType).Distinct().ToList();
        var problems = EnginePreflight.FindProblems(model);
        if (problems.Count > 0) return new(test.Name, NodeTestOutcome.Unsupported, string.Join("; ", problems), ops);

        try
        {
            using var scope = NewDisposeScope();
            using var module = new OnnxModule(model);
            module.eval();
            using var _ = no_grad();
            foreach (var set in test.DataSets)
            {
                var inputs = module.InputNames.Select((name, i) => TorchTensors.FromOnnx(NodeTestCase.ReadTensor(Path.Combine(set, $"input_{i}.pb")))).ToArray();
                var outputs = module.Run(inputs);
                for (int o = 0; o < outputs.Length; o++)
                {
                    var expected = NodeTestCase.ReadTensor(Path.Combine(set, $"output_{o}.pb"));
                    var mismatch = Compare(expected, outputs[o]);
                    if (mismatch is not null)
                        return new(test.Name, NodeTestOutcome.Failed, $"{Path.GetFileName(set)} output {o} ('{module.OutputNames[o]}'): {mismatch}", ops);
                }
            }
            return new(test.Name, NodeTestOutcome.Passed, "", ops);
        }
        catch (Exception e)
        {
            return new(test.Name, NodeTestOutcome.Failed, $"{e.GetType().Name}: {e.Message.Split('\n')[0]}", ops);
        }
    }

    /// <summary>Null when equal within tolerance; otherwise what differs.</summary>
    public static string? Compare(OnnxTensor expected, Tensor actual)
    {
        var shape = expected.Dims;
        if (!shape.SequenceEqual(actual.shape))
            return $"shape [{string.Join(",", actual.shape)}], expected [{string.Join(",", shape)}]";
        var expectedType = expected.DataType;
        var actualType = TorchTensors.ToOnnxType(actual.dtype);
        if (expectedType != actualType)
            return $"element type {OnnxDataTypes.Name(actualType)}, expected {OnnxDataTypes.Name(expectedType)}";
        if (expectedType is OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16 or OnnxDataType.BFloat16)
        {
            var want = expected.ToDoubleArray();
            if (want.Length == 0) return null;
            using var c = actual.detach().to_type(ScalarType.Float64).contiguous();
            var got = c.data<double>().ToArray();
            for (int i = 0; i < want.Length; i++)
            {
                double w = want[i], g = got[i];
                if (double.IsNaN(w) && double.IsNaN(g)) continue;
                if (double.IsInfinity(w) && w == g) continue;
                if (!(Math.Abs(w - g) <= AbsoluteTolerance + RelativeTolerance * Math.Abs(w)))
                    return $"element {i} is {g}, expected {w}";
            }
            return null;
        }
        var wantInts = expected.ToInt64Array();
        var gotInts = TorchTensors.ToLongs(actual);
        for (int i = 0; i < wantInts.Length; i++)
            if (wantInts[i] != gotInts[i]) return $"element {i} is {gotInts[i]}, expected {wantInts[i]}";
        return null;
    }
}
