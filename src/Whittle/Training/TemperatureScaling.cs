using System.Globalization;
using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Training;

/// <summary>
/// Temperature scaling (Guo et al., "On Calibration of Modern Neural Networks", 2017): one positive
/// factor c on a classifier's logits, fitted on held-out data by minimizing the mean negative
/// log-likelihood of <c>softmax(c·z)</c>, and folded into the model's last layer. The arg-max, and
/// so every accuracy figure, is unchanged; the probabilities become calibrated. Whittle uses it
/// where training leaves the logits' scale free (distillation on standardized logits).
/// </summary>
public static class TemperatureScaling
{
    /// <summary>The largest factor fitted: data the logits separate perfectly would push c to infinity.</summary>
    public const double MaxScale = 1e4;

    /// <summary>
    /// The factor c &gt; 0 minimizing <see cref="MeanNll"/>. The NLL is convex in c (a log-sum-exp of
    /// functions linear in c, minus a linear term), so the minimum is found by Newton's method on its
    /// derivative <c>mean(E_softmax(c·z)[z] − z_y)</c>, inside a bracket kept by bisection.
    /// </summary>
    /// <param name="logits">Row-major [samples, classes].</param>
    /// <param name="classes">Classes per row, at least 2.</param>
    /// <param name="labels">The class of each row.</param>
    /// <returns>The fitted factor, in (0, <see cref="MaxScale"/>].</returns>
    /// <exception cref="ArgumentException">The sizes do not fit, there are no rows, or a label is out of range.</exception>
    public static double Fit(ReadOnlySpan<float> logits, int classes, ReadOnlySpan<int> labels)
    {
        Check(logits, classes, labels);
        // Bracket the root of the derivative: negative at lo, positive at hi.
        double lo = 0, hi = 1;
        while (Derivatives(logits, classes, labels, hi).First < 0)
        {
            lo = hi;
            hi *= 2;
            if (hi > MaxScale) return MaxScale;
        }
        double c = hi;
        for (int i = 0; i < 100; i++)
        {
            var (first, second) = Derivatives(logits, classes, labels, c);
            if (Math.Abs(first) < 1e-12) break;
            if (first < 0) lo = c; else hi = c;
            double next = second > 0 ? c - first / second : double.NaN;
            c = next > lo && next < hi ? next : (lo + hi) / 2;
            if (hi - lo < 1e-12 * hi) break;
        }
        return c;
    }

    /// <summary>The mean negative log-likelihood of <c>softmax(scale·z)</c> on the labels.</summary>
    /// <param name="logits">Row-major [samples, classes].</param>
    /// <param name="classes">Classes per row, at least 2.</param>
    /// <param name="labels">The class of each row.</param>
    /// <param name="scale">The factor on the logits.</param>
    public static double MeanNll(ReadOnlySpan<float> logits, int classes, ReadOnlySpan<int> labels, double scale)
    {
        Check(logits, classes, labels);
        double total = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            var row = logits.Slice(i * classes, classes);
            double max = double.NegativeInfinity;
            foreach (var v in row) max = Math.Max(max, scale * v);
            double sum = 0;
            foreach (var v in row) sum += Math.Exp(scale * v - max);
            total += max + Math.Log(sum) - scale * row[labels[i]];
        }
        return total / labels.Length;
    }

    /// <summary>
    /// Fits the factor on <paramref name="data"/> (run in ONNX Runtime) and returns the model with it
    /// folded in (<see cref="Apply"/>). <paramref name="model"/> is not modified.
    /// </summary>
    /// <param name="model">A classifier whose first output is logits [batch, classes].</param>
    /// <param name="data">Held-out labelled samples (the validation part).</param>
    /// <param name="runtime">ONNX Runtime options; null for the defaults.</param>
    public static TemperatureScalingResult Calibrate(OnnxModel model, TensorDataset data, RuntimeOptions? runtime = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (!data.HasLabels || data.Count == 0) throw new DataFormatException("temperature scaling needs labelled held-out samples");
        float[] logits;
        int classes;
        using (var session = new OnnxRuntimeSession(model, runtime ?? new RuntimeOptions()))
        {
            var label = model.SourcePath ?? model.Graph.Name;
            var shape = session.Inputs.Count == 1 ? ModelData.MatchSampleShape(session.Inputs[0], data, label) : data.SampleShape.ToArray();
            var scores = session.RunBatches(data.Features, shape, session.Inputs[0].FixedBatchSize ?? 256);
            if (scores.Shape.Length != 2 || scores.Shape[1] < 2)
                throw new RuntimeException($"{label}: temperature scaling needs logits [batch, classes ≥ 2], got [{string.Join(",", scores.Shape)}]");
            logits = scores.AsFloats().ToArray();
            classes = (int)scores.Shape[1];
        }
        var labels = data.Labels.Span;
        double scale = Fit(logits, classes, labels);
        double before = MeanNll(logits, classes, labels, 1), after = MeanNll(logits, classes, labels, scale);
        var (scaled, how) = Apply(model, scale);
        return new TemperatureScalingResult(scaled, scale, before, after, how);
    }

    /// <summary>
    /// The model with its first output multiplied by <paramref name="scale"/>: folded into the
    /// weights and bias of the Gemm, or the MatMul (and the constant Add after it), that produces the
    /// output, so the graph keeps its operators; otherwise a Mul by the constant is appended.
    /// <paramref name="model"/> is not modified.
    /// </summary>
    /// <param name="model">The classifier.</param>
    /// <param name="scale">The positive, finite factor.</param>
    /// <returns>The scaled copy and how the factor was applied.</returns>
    public static (OnnxModel Model, string How) Apply(OnnxModel model, double scale)
    {
        ArgumentNullException.ThrowIfNull(model);
        OptionChecks.Positive(scale, nameof(scale));
        var copy = model.Clone();
        var graph = copy.Graph;
        string output = graph.Outputs[0].Name;
        var producer = graph.FindProducer(output);
        if (producer is { OpType: "Gemm", Domain: "" } && ScaleInitializer(graph, producer, 1, scale)
            && (producer.Inputs.Count < 3 || producer.Inputs[2].Length == 0 || ScaleInitializer(graph, producer, 2, scale)))
            return (copy, $"folded into Gemm '{producer.DisplayName}'");
        copy = model.Clone();
        graph = copy.Graph;
        producer = graph.FindProducer(output);
        if (producer is { OpType: "Add", Domain: "" } && producer.Inputs.Count == 2)
        {
            int constant = graph.FindInitializer(producer.Inputs[1]) is not null ? 1 : graph.FindInitializer(producer.Inputs[0]) is not null ? 0 : -1;
            var matmul = constant < 0 ? null : graph.FindProducer(producer.Inputs[1 - constant]);
            if (matmul is { OpType: "MatMul", Domain: "" } && graph.FindConsumers(matmul.Outputs[0]).Count == 1
                && ScaleInitializer(graph, matmul, 1, scale) && ScaleInitializer(graph, producer, constant, scale))
                return (copy, $"folded into MatMul '{matmul.DisplayName}' and its bias");
        }
        copy = model.Clone();
        graph = copy.Graph;
        producer = graph.FindProducer(output) ?? throw new OnnxException($"output '{output}' is not computed by a node, so it cannot be scaled");
        string unscaled = graph.UniqueName(output + "_unscaled");
        // The node writes the unscaled logits; its consumers and the graph output read the scaled ones.
        producer.Outputs[producer.Outputs.IndexOf(output)] = unscaled;
        string factor = graph.UniqueName("temperature_scale");
        graph.AddInitializer(OnnxTensor.FromFloats(factor, [], [(float)scale]));
        graph.AddNode(new OnnxNode("Mul", [unscaled, factor], [output], graph.UniqueName("TemperatureScale")));
        return (copy, "a Mul by the factor appended to the output");
    }

    /// <summary>Multiplies the float initializer at input <paramref name="index"/> of <paramref name="node"/> by the factor (a private copy when other nodes share it); false if it is not one.</summary>
    private static bool ScaleInitializer(OnnxGraph graph, OnnxNode node, int index, double scale)
    {
        if (index >= node.Inputs.Count || graph.FindInitializer(node.Inputs[index]) is not { DataType: OnnxDataType.Float } tensor) return false;
        var values = tensor.ToFloatArray();
        for (int i = 0; i < values.Length; i++) values[i] = (float)(values[i] * scale);
        if (graph.FindConsumers(tensor.Name).Count > 1 || graph.Outputs.Any(o => o.Name == tensor.Name))
        {
            string name = graph.UniqueName(tensor.Name + "_scaled");
            graph.AddInitializer(OnnxTensor.FromFloats(name, tensor.Dims, values));
            node.Inputs[index] = name;
        }
        else
        {
            tensor.SetData(values);
        }
        return true;
    }

    private static void Check(ReadOnlySpan<float> logits, int classes, ReadOnlySpan<int> labels)
    {
        if (classes < 2) throw new ArgumentException($"temperature scaling needs at least two classes, got {classes}", nameof(classes));
        if (labels.Length == 0 || logits.Length != (long)labels.Length * classes)
            throw new ArgumentException($"{logits.Length} logits do not make {labels.Length} rows of {classes} classes", nameof(logits));
        foreach (var l in labels)
            if (l < 0 || l >= classes) throw new ArgumentException($"label {l} is outside 0..{classes - 1}", nameof(labels));
    }

    private static (double First, double Second) Derivatives(ReadOnlySpan<float> logits, int classes, ReadOnlySpan<int> labels, double scale)
    {
        double first = 0, second = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            var row = logits.Slice(i * classes, classes);
            double max = double.NegativeInfinity;
            foreach (var v in row) max = Math.Max(max, scale * v);
            double sum = 0, mean = 0, square = 0;
            foreach (var v in row)
            {
                double p = Math.Exp(scale * v - max);
                sum += p;
                mean += p * v;
                square += p * v * v;
            }
            mean /= sum;
            square /= sum;
            first += mean - row[labels[i]];
            second += square - mean * mean;
        }
        return (first / labels.Length, second / labels.Length);
    }
}

/// <summary>A fitted temperature scaling.</summary>
/// <param name="Model">The model with the factor folded in.</param>
/// <param name="Scale">The factor c on the logits (1/temperature).</param>
/// <param name="NllBefore">Mean NLL of the held-out data before.</param>
/// <param name="NllAfter">Mean NLL after.</param>
/// <param name="How">Where the factor went.</param>
public sealed record TemperatureScalingResult(OnnxModel Model, double Scale, double NllBefore, double NllAfter, string How)
{
    /// <summary>One line for reports.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"output logits scaled by {Scale:0.###} (temperature scaling fitted on the validation part: NLL {NllBefore:0.###} -> {NllAfter:0.###}), {How}");
}
