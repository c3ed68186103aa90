using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;
using static TorchSharp.torch;

namespace Whittle.Engine;

/// <summary>Whether the Engine can train a model: the pre-flight problems, or how closely it matches ONNX Runtime.</summary>
/// <param name="Supported">False when the pre-flight found unsupported operators or attributes (then nothing was run).</param>
/// <param name="Problems">Every unsupported operator, opset or attribute, with node names.</param>
/// <param name="Inputs">Where the compared inputs came from.</param>
/// <param name="Samples">Samples compared.</param>
/// <param name="Tolerance">The largest acceptable absolute difference per output.</param>
/// <param name="Outputs">Engine against ORT, per output.</param>
/// <param name="Parameters">Trainable tensors of the Engine module.</param>
/// <param name="Buffers">Running-statistic buffers of the Engine module.</param>
public sealed record EngineCheckResult(bool Supported, IReadOnlyList<string> Problems, string Inputs, int Samples, double Tolerance,
    IReadOnlyList<OutputDifference> Outputs, int Parameters, int Buffers)
{
    /// <summary>Supported, and every output within the tolerance.</summary>
    public bool Passed => Supported && Outputs.All(o => o.MaxAbsDifference <= Tolerance);
}

/// <summary>
/// Can Whittle train this model? The pre-flight lists every unsupported operator at once; then the
/// same inputs run through the Engine (eval mode) and through ONNX Runtime, output by output.
/// </summary>
public static class EngineCheck
{
    /// <summary>Checks <paramref name="model"/> on the first samples of <paramref name="data"/>, or on generated inputs.</summary>
    /// <param name="model">The model.</param>
    /// <param name="data">Data bound to the model; null for inputs generated from the input shapes (ids within the embedding tables).</param>
    /// <param name="samples">Samples to compare (a fixed-batch model uses its batch).</param>
    /// <param name="tolerance">The largest acceptable absolute difference per output.</param>
    /// <param name="registry">The op converters to check with; null for <see cref="OpRegistry.Default"/>.</param>
    /// <param name="sequenceLength">Generated inputs: the size of symbolic non-batch dimensions (a transformer's sequence).</param>
    /// <exception cref="InvalidOptionException">Fewer than one sample, a negative tolerance or a sequence length below 1.</exception>
    public static EngineCheckResult Run(OnnxModel model, BoundData? data, int samples = 8, double tolerance = 1e-4, OpRegistry? registry = null,
        int sequenceLength = GeneratedInputs.DefaultSequenceLength)
    {
        if (sequenceLength < 1) throw new InvalidOptionException(nameof(sequenceLength), $"the sequence length must be at least 1, not {sequenceLength}");
        ArgumentNullException.ThrowIfNull(model);
        if (samples < 1) throw new InvalidOptionException(nameof(samples), $"compare at least 1 sample, not {samples}");
        if (!(tolerance >= 0)) throw new InvalidOptionException(nameof(tolerance), $"the tolerance must be 0 or more, not {tolerance}");
        var problems = EnginePreflight.FindProblems(model, registry);
        if (problems.Count > 0) return new EngineCheckResult(false, problems, "", 0, tolerance, [], 0, 0);

        using var session = new OnnxRuntimeSession(model);
        IReadOnlyDictionary<string, RuntimeTensor> inputs;
        string description;
        if (data is null)
        {
            int batch = GeneratedInputs.BatchSize(session, samples);
            inputs = GeneratedInputs.Create(model, session, batch, seed: 0, sequenceLength);
            description = $"generated from the input shapes (batch {batch}{(GeneratedInputs.HasSymbolicSequence(session) ? $", sequence {sequenceLength}" : "")}, seed 0)";
        }
        else
        {
            var pool = data.Samples;
            int batch = Math.Min(data.Input.FixedBatchSize ?? samples, pool.Count);
            inputs = data.Feeds(pool, 0, batch);
            description = $"the first {batch} samples of {data.Description}";
        }
        var expected = session.Run(inputs);

        using var scope = NewDisposeScope();
        using var module = new OnnxModule(model, registry);
        module.eval();
        Tensor[] actual;
        using (no_grad()) actual = module.Run(module.InputNames.Select(n => ToTorch(inputs[n])).ToArray());
        var differences = new List<OutputDifference>();
        for (int i = 0; i < actual.Length; i++)
        {
            var name = module.OutputNames[i];
            var comparer = new OutputComparer(name);
            comparer.Add(expected[name].AsFloats(), TorchTensors.ToFloats(actual[i]), expected[name].Shape);
            differences.Add(comparer.Result());
        }
        int count = (int)inputs.Values.First().Shape.FirstOrDefault(1);
        return new EngineCheckResult(true, [], description, count, tolerance, differences, module.ParametersByInitializer.Count, module.BuffersByInitializer.Count);
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
