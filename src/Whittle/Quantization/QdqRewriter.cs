using Whittle.Onnx;

namespace Whittle.Quantization;

/// <summary>The scale and zero point chosen for one activation.</summary>
/// <param name="Scale">The scale.</param>
/// <param name="ZeroPoint">The zero point.</param>
/// <param name="Type">The integer type.</param>
public readonly record struct ActivationParameters(float Scale, int ZeroPoint, QuantizationType Type);

/// <summary>A QDQ model and where each quantized activation can be read back.</summary>
/// <param name="Model">The quantized model.</param>
/// <param name="Dequantized">For each quantized activation of the float graph, the name of its DequantizeLinear output.</param>
/// <param name="Parameters">Scale and zero point of each quantized activation.</param>
/// <param name="Aligned">Convolutions given input channels ORT's fast int8 kernel accepts (<see cref="IntegerConvAlignment"/>); null or empty when none.</param>
public sealed record QdqModel(OnnxModel Model, IReadOnlyDictionary<string, string> Dequantized, IReadOnlyDictionary<string, ActivationParameters> Parameters,
    IReadOnlyList<AlignedConv>? Aligned = null);

/// <summary>
/// Applies quantization marks to a float graph in QDQ form: each marked activation gets a
/// QuantizeLinear→DequantizeLinear pair that every consumer reads; each marked weight is stored as
/// int8 (per channel or per tensor) behind one DequantizeLinear; biases become int32 with scale
/// input scale × weight scale; absorbed Relu/Clip nodes disappear (never one that writes a graph
/// output: graph outputs keep their float value, so its clipping would be lost). ONNX Runtime
/// fuses the pairs around supported ops into integer kernels (QLinearConv, QGemm, QLinearAdd...).
/// </summary>
public static class QdqRewriter
{
    /// <summary>Metadata key under which the written model records that Whittle quantized it.</summary>
    public const string MetadataKey = "whittle.quantization";

    /// <summary>The minimum default-domain opset of the written model (QuantizeLinear with a per-channel axis).</summary>
    public const int MinimumOpset = 13;

    /// <summary>Scale and zero point of an activation from its calibrated range.</summary>
    public static ActivationParameters ParametersFor(CalibratedRange range, StaticQuantizationOptions options)
    {
        var (scale, zp) = QuantMath.ScaleZeroPoint(range.Min, range.Max, options.ActivationType, options.SymmetricActivations, reduceRange: false);
        return new ActivationParameters(scale, zp, options.ActivationType);
    }

    /// <summary>
    /// Returns a quantized copy of <paramref name="model"/> (opset ≥ 13 already, see
    /// <see cref="OpsetUpgrade"/>). <paramref name="ranges"/> must hold every activation of
    /// <paramref name="marking"/>.
    /// </summary>
    /// <exception cref="QuantizationException">A marked activation has no calibrated range, or the model's opset is below 13.</exception>
    public static QdqModel Rewrite(OnnxModel model, MarkingResult marking, IReadOnlyDictionary<string, CalibratedRange> ranges, StaticQuantizationOptions options)
    {
        if ((model.GetOpset() ?? 0) < MinimumOpset)
            throw new QuantizationException($"QDQ needs opset {MinimumOpset} or later; the model has {model.GetOpset()}: upgrade it first");
        var missing = marking.ActivationsToCalibrate.Where(a => !ranges.ContainsKey(a)).ToList();
        if (missing.Count > 0) throw new QuantizationException($"no calibrated range for {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? $" and {missing.Count - 5} more" : "")}");

        var result = model.Clone();
        var g = result.Graph;
        var parameters = ResolveParameters(marking, ranges, options);
        var weightScales = new Dictionary<string, float[]>(StringComparer.Ordinal);

        RemoveFusedActivations(g, marking);
        var weightMarks = marking.Marks.Values.OfType<WeightMark>().OrderBy(m => m.Tensor, StringComparer.Ordinal).ToList();
        var eightBit = options.WeightType == QuantizationType.Int4 ? EightBitWeights(g, weightMarks, options.Keep8Bit) : null;
        foreach (var mark in weightMarks)
            weightScales[mark.Tensor] = QuantizeWeight(g, mark, options, eightBit is null || eightBit.Contains(mark.Tensor) ? QuantizationType.Int8 : QuantizationType.Int4);
        foreach (var mark in marking.Marks.Values.OfType<BiasMark>().OrderBy(m => m.Tensor, StringComparer.Ordinal))
        {
            if (!parameters.TryGetValue(mark.Input, out var input) || !weightScales.TryGetValue(mark.Weight, out var ws)) continue;
            QuantizeBias(g, mark.Tensor, input.Scale, ws);
        }
        var dequantized = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (tensor, p) in parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
            if (InsertActivationPair(g, tensor, p) is { } dq) dequantized[tensor] = dq;
        g.SortTopologically();
        if (eightBit is not null && weightMarks.Count > eightBit.Count) SymmetricWeights.RequireInt4Opset(result);
        return new QdqModel(result, dequantized, parameters);
    }

    /// <summary>
    /// With int4 weights, the weights that stay int8: those of the layers <paramref name="keep8Bit"/>
    /// names (node names or globs, op types, <c>first</c> and <c>last</c> for the first and last
    /// layer with a quantized weight in topological order).
    /// </summary>
    internal static HashSet<string> EightBitWeights(OnnxGraph g, IReadOnlyList<WeightMark> marks, IReadOnlyList<string> keep8Bit)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        if (keep8Bit.Count == 0) return result;
        var marked = marks.Select(m => m.Tensor).ToHashSet(StringComparer.Ordinal);
        var layers = g.TopologicalOrder().Where(n => n.Inputs.Any(marked.Contains)).ToList();
        var named = keep8Bit.Where(r => r is not ("first" or "last")).ToList();
        var chosen = new List<OnnxNode>();
        if (keep8Bit.Contains("first") && layers.Count > 0) chosen.Add(layers[0]);
        if (keep8Bit.Contains("last") && layers.Count > 0) chosen.Add(layers[^1]);
        if (named.Count > 0)
        {
            var matched = ExclusionRules.Resolve(g, named, "Keep8Bit");
            chosen.AddRange(layers.Where(n => matched.ContainsKey(n.DisplayName)));
        }
        foreach (var n in chosen)
            foreach (var input in n.Inputs.Where(marked.Contains)) result.Add(input);
        return result;
    }

    /// <summary>Activation parameters for every activation and shared mark (shared ones copy their source, transitively).</summary>
    private static Dictionary<string, ActivationParameters> ResolveParameters(MarkingResult marking, IReadOnlyDictionary<string, CalibratedRange> ranges, StaticQuantizationOptions options)
    {
        var result = new Dictionary<string, ActivationParameters>(StringComparer.Ordinal);
        foreach (var a in marking.Marks.Values.OfType<ActivationMark>())
            result[a.Tensor] = ParametersFor(ranges[a.Tensor], options);
        foreach (var s in marking.Marks.Values.OfType<SharedMark>())
        {
            var source = s.Source;
            var seen = new HashSet<string>(StringComparer.Ordinal) { s.Tensor };
            while (marking.Marks.TryGetValue(source, out var m) && m is SharedMark inner && seen.Add(source)) source = inner.Source;
            if (marking.Marks.TryGetValue(source, out var root) && root is ActivationMark)
                result[s.Tensor] = result[source];
        }
        return result;
    }

    /// <summary>
    /// Removes the absorbed Relu/Clip nodes. Only QuantizeLinear's saturation does their clipping
    /// then, so one whose output is not quantized (no activation mark) or is a graph output (which
    /// keeps the float value) stays: removing it would let negative values through.
    /// </summary>
    private static void RemoveFusedActivations(OnnxGraph g, MarkingResult marking)
    {
        var graphOutputs = g.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        bool Absorbable(OnnxNode n) => n.OpType is "Relu" or "Clip" && n.Outputs.Count == 1 && marking.FusedActivationOutputs.Contains(n.Outputs[0])
            && marking.Marks.GetValueOrDefault(n.Outputs[0]) is ActivationMark && !graphOutputs.Contains(n.Outputs[0]);
        foreach (var act in g.Nodes.Where(Absorbable).ToList())
        {
            var producer = g.FindProducer(act.Inputs[0]) ?? throw new QuantizationException($"absorbed activation '{act.DisplayName}' has no producer");
            var output = act.Outputs[0];
            g.RemoveNode(act);
            producer.Outputs[producer.Outputs.IndexOf(act.Inputs[0])] = output;
        }
    }

    private static float[] QuantizeWeight(OnnxGraph g, WeightMark mark, StaticQuantizationOptions options, QuantizationType type)
    {
        var w = g.FindInitializer(mark.Tensor) ?? throw new QuantizationException($"weight '{mark.Tensor}' is not an initializer");
        var values = WeightValues.Read(w, mark.Tensor);
        var dims = w.Dims;
        var shape = Array.ConvertAll(dims, d => checked((int)d));
        int? axis = options.PerChannel && dims.Length > 0 ? mark.Axis : null;
        int[] quantized;
        float[] scales;
        if (type == QuantizationType.Int4)
        {
            // The narrow symmetric grid [-7, 7]: ORT's int4 target range has no symmetric form.
            int qmax = StaticQuantizationOptions.WeightQMax(QuantizationType.Int4);
            scales = SymmetricWeights.Scales(values, shape, axis, qmax);
            quantized = SymmetricWeights.Quantize(values, shape, axis, scales, qmax);
        }
        else if (axis is { } ax)
        {
            quantized = new int[values.Length];
            var (s, zps) = QuantMath.ScaleZeroPointPerChannel(values, shape, ax, QuantizationType.Int8, symmetric: true, options.ReduceRange);
            QuantMath.QuantizePerChannel(values, shape, ax, s, zps, QuantizationType.Int8, quantized);
            scales = s;
        }
        else
        {
            quantized = new int[values.Length];
            var (s, zp) = QuantMath.ScaleZeroPoint(values, QuantizationType.Int8, symmetric: true, options.ReduceRange);
            QuantMath.Quantize(values, s, zp, QuantizationType.Int8, quantized);
            scales = [s];
        }
        var dqName = SymmetricWeights.Write(g, mark.Tensor, dims, axis, quantized, scales, type);
        Rewire(g, mark.Tensor, dqName);
        g.RemoveInitializer(mark.Tensor);
        // Per-tensor weights broadcast one scale to every channel of the bias.
        return scales;
    }

    /// <summary>Stores the float bias <paramref name="tensor"/> as int32 with scale input scale × weight scale behind a DequantizeLinear (what integer kernels add to their accumulator).</summary>
    internal static void QuantizeBias(OnnxGraph g, string tensor, float inputScale, float[] weightScales)
    {
        var b = g.FindInitializer(tensor);
        if (b is null) return;
        var values = b.ToFloatArray();
        if (weightScales.Length != 1 && weightScales.Length != values.Length) return;
        var scales = new float[weightScales.Length == 1 ? 1 : values.Length];
        for (int c = 0; c < scales.Length; c++) scales[c] = inputScale * weightScales[c];
        var q = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            var s = scales[scales.Length == 1 ? 0 : i];
            // The int32 accumulator's scale; a zero weight channel has scale 1 (QuantMath's rule), so this is never 0.
            double v = Math.Round(values[i] / (double)s, MidpointRounding.ToEven);
            q[i] = (int)Math.Clamp(v, int.MinValue, int.MaxValue);
        }
        var qName = g.UniqueName(tensor + "_quantized");
        var sName = g.UniqueName(tensor + "_scale");
        var zName = g.UniqueName(tensor + "_zero_point");
        var dqName = g.UniqueName(tensor + "_dequantized");
        long[] paramDims = scales.Length == 1 ? [] : [scales.Length];
        g.AddInitializer(OnnxTensor.FromInt32s(qName, b.Dims, q));
        g.AddInitializer(OnnxTensor.FromFloats(sName, paramDims, scales));
        g.AddInitializer(OnnxTensor.FromInt32s(zName, paramDims, new int[scales.Length]));
        var dq = new OnnxNode("DequantizeLinear", [qName, sName, zName], [dqName], g.UniqueName(tensor + "_DequantizeLinear"));
        if (scales.Length > 1) dq.SetAttribute("axis", 0L);
        Rewire(g, tensor, dqName);
        g.InsertNode(0, dq);
        g.RemoveInitializer(tensor);
    }

    private static string? InsertActivationPair(OnnxGraph g, string tensor, ActivationParameters p)
    {
        var consumers = g.FindConsumers(tensor);
        if (consumers.Count == 0) return null;
        var sName = g.UniqueName(tensor + "_scale");
        var zName = g.UniqueName(tensor + "_zero_point");
        var qName = g.UniqueName(tensor + "_quantized");
        var dqName = g.UniqueName(tensor + "_dequantized");
        g.AddInitializer(OnnxTensor.FromFloats(sName, [], [p.Scale]));
        g.AddInitializer(p.Type == QuantizationType.UInt8
            ? OnnxTensor.FromBytes(zName, OnnxDataType.UInt8, [], [(byte)p.ZeroPoint])
            : OnnxTensor.FromBytes(zName, OnnxDataType.Int8, [], [unchecked((byte)(sbyte)p.ZeroPoint)]));
        Rewire(g, tensor, dqName);
        g.AddNode(new OnnxNode("QuantizeLinear", [tensor, sName, zName], [qName], g.UniqueName(tensor + "_QuantizeLinear")));
        g.AddNode(new OnnxNode("DequantizeLinear", [qName, sName, zName], [dqName], g.UniqueName(tensor + "_DequantizeLinear")));
        return dqName;
    }

    /// <summary>Makes every node reading <paramref name="from"/> read <paramref name="to"/>; graph outputs keep their float value.</summary>
    private static void Rewire(OnnxGraph g, string from, string to)
    {
        foreach (var n in g.FindConsumers(from))
            for (int i = 0; i < n.Inputs.Count; i++)
                if (n.Inputs[i] == from) n.Inputs[i] = to;
    }
}
