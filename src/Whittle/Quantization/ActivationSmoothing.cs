using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Quantization;

/// <summary>What <see cref="ActivationSmoothing.Apply"/> did to one activation.</summary>
/// <param name="Activation">The MatMul input that is now divided by the scales.</param>
/// <param name="Nodes">The MatMuls reading it, whose weight rows are multiplied by the scales.</param>
/// <param name="MaxScale">The largest scale.</param>
/// <param name="MinScale">The smallest scale.</param>
public sealed record SmoothedActivation(string Activation, IReadOnlyList<string> Nodes, double MaxScale, double MinScale);

/// <summary>
/// SmoothQuant-style scaling (Xiao et al. 2023) for activations quantized per tensor: a few channels of a
/// transformer's activations are far larger than the rest, so one scale for the whole tensor leaves the
/// others a handful of levels. Each input channel j of a MatMul is divided by
/// s_j = max|X_j|^α / max|W_j|^(1−α) and the weight's row j multiplied by it: the product X·W is unchanged
/// (up to float rounding), and the difficulty moves from the activation to the weight, which is quantized
/// per column. The division is an inserted <c>Mul</c> shared by every MatMul that reads the activation
/// (Q, K and V), so the residual path that reads it too is untouched. Run it on the float model before
/// dynamic quantization.
/// </summary>
public static class ActivationSmoothing
{
    /// <summary>The migration strength of the paper's default: half the difficulty moves to the weights.</summary>
    public const double DefaultAlpha = 0.5;

    /// <summary>
    /// The scales s_j = max|X_j|^α / max|W_j|^(1−α); 1 where either maximum is 0 (a dead channel or an
    /// all-zero weight row, which no scale helps).
    /// </summary>
    /// <param name="activationMax">Per input channel, the largest |x| seen.</param>
    /// <param name="weightRowMax">Per input channel, the largest |w| of the weight row it multiplies.</param>
    /// <param name="alpha">Migration strength in [0, 1]: 0 leaves activations as they are (s = 1/max|W|), 1 makes every channel's range 1.</param>
    /// <exception cref="ArgumentException">The lengths differ, or alpha is outside [0, 1].</exception>
    public static float[] Scales(ReadOnlySpan<float> activationMax, ReadOnlySpan<float> weightRowMax, double alpha = DefaultAlpha)
    {
        if (activationMax.Length != weightRowMax.Length)
            throw new ArgumentException($"{activationMax.Length} activation channels against {weightRowMax.Length} weight rows");
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentException($"alpha must be in [0, 1], not {alpha}");
        var s = new float[activationMax.Length];
        for (int j = 0; j < s.Length; j++)
        {
            double a = Math.Abs(activationMax[j]), w = Math.Abs(weightRowMax[j]);
            s[j] = a > 0 && w > 0 && double.IsFinite(a) && double.IsFinite(w) ? (float)(Math.Pow(a, alpha) / Math.Pow(w, 1 - alpha)) : 1f;
        }
        return s;
    }

    /// <summary>
    /// Smooths the inputs of every MatMul with a 2-D initializer weight (or of <paramref name="nodes"/>), with
    /// per-channel activation maxima measured on <paramref name="batches"/>. <paramref name="model"/> is not modified.
    /// </summary>
    /// <param name="model">The float model.</param>
    /// <param name="batches">Calibration batches (real inputs: the maxima decide the scales).</param>
    /// <param name="alpha">Migration strength (see <see cref="Scales"/>).</param>
    /// <param name="nodes">MatMul node names to smooth; null for all that qualify. A name that is not such a MatMul is an error.</param>
    /// <param name="runtime">ORT settings of the calibration runs.</param>
    /// <exception cref="QuantizationException">A named node is not a MatMul with an initializer weight, or there are no batches.</exception>
    public static (OnnxModel Model, IReadOnlyList<SmoothedActivation> Smoothed) Apply(OnnxModel model, IEnumerable<IReadOnlyDictionary<string, RuntimeTensor>> batches,
        double alpha = DefaultAlpha, IReadOnlyCollection<string>? nodes = null, RuntimeOptions? runtime = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        if (!(alpha >= 0 && alpha <= 1)) throw new InvalidOptionException(nameof(alpha), $"alpha must be in [0, 1], not {alpha}");
        var g = model.Graph;
        var uses = g.Nodes.SelectMany(n => n.Inputs).GroupBy(i => i).ToDictionary(x => x.Key, x => x.Count(), StringComparer.Ordinal);
        bool Qualifies(OnnxNode n) => n.OpType == "MatMul" && n.Domain.Length == 0 && n.Inputs.Count == 2
            && g.FindInitializer(n.Inputs[1]) is { Dims.Length: 2 } && uses[n.Inputs[1]] == 1 && g.FindInitializer(n.Inputs[0]) is null;
        var candidates = g.Nodes.Where(Qualifies).ToList();
        if (nodes is not null)
        {
            var unknown = nodes.Where(name => candidates.All(c => c.DisplayName != name)).ToList();
            if (unknown.Count > 0) throw new QuantizationException($"smoothing: {string.Join(", ", unknown)} {(unknown.Count == 1 ? "is" : "are")} not a MatMul with its own 2-D initializer weight");
            candidates = candidates.Where(c => nodes.Contains(c.DisplayName)).ToList();
        }
        var groups = candidates.GroupBy(c => c.Inputs[0], StringComparer.Ordinal).ToList();
        var activations = groups.Select(x => x.Key).ToList();
        var maxima = activations.ToDictionary(a => a, _ => (float[]?)null, StringComparer.Ordinal);
        using (var session = new OnnxRuntimeSession(IntermediateCapture.WithOutputs(model, activations), runtime))
        {
            int seen = 0;
            foreach (var batch in batches)
            {
                var values = session.Run(batch, activations);
                foreach (var a in activations)
                {
                    var t = values[a];
                    int k = (int)t.Shape[^1];
                    var m = maxima[a] ??= new float[k];
                    var x = t.AsFloats();
                    for (int i = 0; i < x.Length; i++) m[i % k] = Math.Max(m[i % k], Math.Abs(x[i]));
                }
                seen++;
            }
            if (seen == 0) throw new QuantizationException("smoothing needs at least one calibration batch");
        }

        var result = model.Clone();
        var rg = result.Graph;
        var report = new List<SmoothedActivation>();
        foreach (var group in groups)
        {
            var activation = group.Key;
            var weights = group.Select(n => rg.FindInitializer(n.Inputs[1])!).ToList();
            int k = (int)weights[0].Dims[0];
            if (weights.Any(w => w.Dims[0] != k) || maxima[activation]!.Length != k) continue;
            // One scale per channel for the activation, so the weight maximum is over every reader's row.
            var rowMax = new float[k];
            var values = weights.Select(w => WeightValues.Read(w, group.First().DisplayName)).ToList();
            foreach (var (w, v) in weights.Zip(values))
            {
                int n = (int)w.Dims[1];
                for (int j = 0; j < k; j++)
                    for (int c = 0; c < n; c++) rowMax[j] = Math.Max(rowMax[j], Math.Abs(v[j * n + c]));
            }
            var s = Scales(maxima[activation], rowMax, alpha);
            foreach (var (w, v) in weights.Zip(values))
            {
                int n = (int)w.Dims[1];
                for (int j = 0; j < k; j++)
                    for (int c = 0; c < n; c++) v[j * n + c] *= s[j];
                rg.ReplaceInitializer(OnnxTensor.FromFloats(w.Name, w.Dims, v));
            }
            var inverse = rg.UniqueName(activation + "_smooth_inverse");
            rg.AddInitializer(OnnxTensor.FromFloats(inverse, [k], s.Select(x => 1f / x).ToArray()));
            var smoothed = rg.UniqueName(activation + "_smoothed");
            var readers = group.Select(n => rg.FindProducer(n.Outputs[0])!).ToList();
            rg.InsertNode(readers.Min(rg.IndexOf), new OnnxNode("Mul", [activation, inverse], [smoothed], rg.UniqueName(activation + "_smooth")));
            foreach (var node in readers) node.Inputs[0] = smoothed;
            report.Add(new SmoothedActivation(activation, group.Select(n => n.DisplayName).ToList(), s.Max(), s.Min()));
        }
        return (result, report);
    }
}
