using Whittle.Onnx;

namespace Whittle.Runtime;

/// <summary>
/// Reads intermediate tensors (activations) of a model in ONNX Runtime: a copy of the model
/// gets those values as extra graph outputs, the original is never touched. Calibration for
/// quantization and per-layer error reports are built on this.
/// </summary>
public static class IntermediateCapture
{
    /// <summary>
    /// A copy of <paramref name="model"/> whose graph also outputs <paramref name="valueNames"/>.
    /// Every name must be a value of the graph; all unknown names are reported at once.
    /// </summary>
    public static OnnxModel WithOutputs(OnnxModel model, IEnumerable<string> valueNames)
    {
        var copy = model.Clone();
        var known = copy.Graph.AllValueNames();
        var names = valueNames.Distinct().ToList();
        var unknown = names.Where(n => !known.Contains(n)).ToList();
        if (unknown.Count > 0)
            throw new OnnxException($"cannot capture {string.Join(", ", unknown.Select(u => $"'{u}'"))}: no such value in the graph");
        foreach (var n in names) copy.Graph.AddOutput(n);
        return copy;
    }

    /// <summary>
    /// Names of every float tensor produced by a node (the activations a calibrator may want).
    /// </summary>
    public static IReadOnlyList<string> NodeOutputs(OnnxModel model) =>
        model.Graph.Nodes.SelectMany(n => n.Outputs).Where(o => o.Length > 0).Distinct().ToList();

    /// <summary>
    /// The shape of every graph input and node output in one run of <paramref name="model"/> on
    /// generated inputs (<see cref="GeneratedInputs"/>), batch axis first, with ONNX Runtime's
    /// graph optimizations off so that every value still exists. Exact for the dimensions that do
    /// not depend on the batch size; a dynamic batch becomes <paramref name="batchSize"/> (a fixed
    /// one stays).
    /// </summary>
    /// <param name="model">The model; it is not changed.</param>
    /// <param name="batchSize">The batch size of the run, when the model does not fix one.</param>
    /// <exception cref="RuntimeException">ONNX Runtime refused the model or the generated inputs.</exception>
    public static IReadOnlyDictionary<string, long[]> ValueShapes(OnnxModel model, int batchSize = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        var names = NodeOutputs(model);
        var options = RuntimeOptions.Default.WithOptimization(GraphOptimization.Disabled);
        using var session = new OnnxRuntimeSession(WithOutputs(model, names), options);
        var inputs = GeneratedInputs.Create(model, session, GeneratedInputs.BatchSize(session, batchSize));
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var (name, t) in inputs) shapes[name] = t.Shape;
        foreach (var (name, t) in session.Run(inputs, names)) shapes[name] = t.Shape;
        return shapes;
    }

    /// <summary>
    /// Runs <paramref name="model"/> on the inputs and returns the values of
    /// <paramref name="valueNames"/> (plus nothing else).
    /// </summary>
    public static IReadOnlyDictionary<string, RuntimeTensor> Capture(OnnxModel model, IReadOnlyDictionary<string, RuntimeTensor> inputs,
        IEnumerable<string> valueNames, RuntimeOptions? options = null)
    {
        var names = valueNames.Distinct().ToList();
        using var session = new OnnxRuntimeSession(WithOutputs(model, names), options);
        return session.Run(inputs, names);
    }
}
