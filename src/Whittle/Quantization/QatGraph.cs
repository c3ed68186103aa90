using Whittle.Data;
using Whittle.Engine.Converters;
using Whittle.Onnx;
using Whittle.Training;

namespace Whittle.Quantization;

/// <summary>How the fake quantizers of quantization-aware training get their step sizes.</summary>
public enum QatScales
{
    /// <summary>Step sizes of weights and activations are trained (LSQ, Esser et al. 2020), starting from the calibrated ones.</summary>
    Learned,

    /// <summary>Activations keep their calibrated scales; weight scales follow max |w| per channel of the current weights.</summary>
    Fixed,
}

/// <summary>
/// The training form of a QDQ model: every QuantizeLinear→DequantizeLinear pair becomes a
/// fake-quant node (<see cref="FakeQuantizeConverter"/>) with the pair's scale and zero point,
/// every quantized weight becomes its float values behind a per-channel fake-quant, and int32
/// biases become float; so the Engine trains the model while its forward pass sees the values
/// the quantized model computes. <see cref="Export"/> turns the trained graph back into QDQ with
/// the same placement, folding any re-inserted BatchNorm first (exact for per-channel weights:
/// the weight scale absorbs the BatchNorm's factor).
/// </summary>
internal sealed class QatGraph
{
    private readonly List<string> _insertedBatchNorms = [];

    private QatGraph(OnnxModel model, QatScales scales)
    {
        Model = model;
        Scales = scales;
    }

    /// <summary>The training graph (float weights, fake-quant nodes, possibly re-inserted BatchNorms).</summary>
    public OnnxModel Model { get; private set; }

    /// <summary>How step sizes are trained.</summary>
    public QatScales Scales { get; }

    /// <summary>The BatchNormalization nodes <see cref="ReinsertBatchNorms"/> added.</summary>
    public IReadOnlyList<string> InsertedBatchNorms => _insertedBatchNorms;

    /// <summary>Fake-quant nodes on weights (value: the layer reading the weight).</summary>
    public int WeightQuantizers => Model.Graph.Nodes.Count(n => IsFakeQuantize(n) && Model.Graph.FindInitializer(n.Inputs[0]) is not null);

    /// <summary>Fake-quant nodes on activations.</summary>
    public int ActivationQuantizers => Model.Graph.Nodes.Count(n => IsFakeQuantize(n) && Model.Graph.FindInitializer(n.Inputs[0]) is null);

    private static bool IsFakeQuantize(OnnxNode n) => n.Domain == FakeQuantizeConverter.Domain && n.OpType == "FakeQuantize";

    /// <summary>The training form of <paramref name="qdq"/> (not modified), a model in the form <see cref="QdqRewriter"/> writes.</summary>
    /// <exception cref="QuantizationException">The model holds quantized operators other than QuantizeLinear/DequantizeLinear, or a weight type QAT does not train.</exception>
    public static QatGraph Build(OnnxModel qdq, QatScales scales)
    {
        ArgumentNullException.ThrowIfNull(qdq);
        OptionChecks.Defined(scales, nameof(scales));
        var model = qdq.Clone();
        var g = model.Graph;
        var qoperators = g.Nodes.Where(n => n.OpType.StartsWith("QLinear", StringComparison.Ordinal) || n.OpType is "ConvInteger" or "MatMulInteger" or "DynamicQuantizeLinear" or "MatMulNBits").Select(n => $"{n.DisplayName} ({n.OpType})").ToList();
        if (qoperators.Count > 0)
            throw new QuantizationException($"quantization-aware training starts from a QDQ model; this one has quantized operators: {string.Join(", ", qoperators)}");
        model.SetOpset(FakeQuantizeConverter.Domain, 1);

        // Weights and biases: DequantizeLinear of an integer initializer.
        foreach (var dq in g.Nodes.Where(n => n.Domain.Length == 0 && n.OpType == "DequantizeLinear").ToList())
        {
            if (g.FindInitializer(dq.Inputs[0]) is not { } q) continue;
            var (scale, zeroPoint, axis) = Parameters(g, dq);
            var dims = q.Dims;
            var values = Dequantize(q.ToInt32Array(), dims, axis, scale, zeroPoint);
            var baseName = BaseName(dq.Inputs[0]);
            switch (q.DataType)
            {
                case OnnxDataType.Int32:
                    // A bias: trained in float, quantized again at export with the final scales.
                    g.RemoveNode(dq);
                    var biasName = g.UniqueName(baseName);
                    g.AddInitializer(OnnxTensor.FromFloats(biasName, dims, values));
                    g.ReplaceAllUses(dq.Outputs[0], biasName);
                    break;
                case OnnxDataType.Int8 or OnnxDataType.Int4:
                    if (zeroPoint.Any(z => z != 0))
                        throw new QuantizationException($"weight '{baseName}' has a nonzero zero point; QAT trains symmetric weights");
                    int qmax = StaticQuantizationOptions.WeightQMax(q.DataType == OnnxDataType.Int4 ? QuantizationType.Int4 : QuantizationType.Int8);
                    var weightName = g.UniqueName(baseName);
                    g.AddInitializer(OnnxTensor.FromFloats(weightName, dims, values));
                    long perScale = Math.Max(1, values.Length / scale.Length);
                    var fq = FakeQuantizeNode(g, weightName, scale, zeroPoint, axis, -qmax, qmax, dq.Outputs[0],
                        scales == QatScales.Learned ? FakeQuantizeConverter.Learned : FakeQuantizeConverter.Observe, FakeQuantize.LsqGradientScale(perScale, qmax), baseName);
                    g.ReplaceNode(dq, fq);
                    break;
                default:
                    throw new QuantizationException($"'{dq.Inputs[0]}' is {OnnxDataTypes.Name(q.DataType)}; QAT trains int8 and int4 weights and int32 biases");
            }
            RemoveIfUnused(g, dq.Inputs.ToArray());
        }

        // Activations: QuantizeLinear → DequantizeLinear pairs.
        foreach (var quantize in g.Nodes.Where(n => n.Domain.Length == 0 && n.OpType == "QuantizeLinear").ToList())
        {
            var readers = g.FindConsumers(quantize.Outputs[0]);
            if (readers.Count == 0 || readers.Any(r => r.OpType != "DequantizeLinear"))
                throw new QuantizationException($"'{quantize.DisplayName}' feeds {string.Join(", ", readers.Select(r => r.OpType).DefaultIfEmpty("nothing"))}; QAT needs each QuantizeLinear to feed DequantizeLinear nodes" +
                    (readers.Any(r => r.Name.Contains(IntegerConvAlignment.NodeSuffix, StringComparison.Ordinal)) ? " (quantize with AlignConvChannels off for training; align the exported model)" : ""));
            var (scale, zeroPoint, axis) = Parameters(g, quantize);
            var zpType = g.FindInitializer(quantize.Inputs[2])?.DataType ?? OnnxDataType.UInt8;
            var (qmin, qmax) = QuantMath.StorageRange(zpType == OnnxDataType.Int8 ? QuantizationType.Int8 : QuantizationType.UInt8);
            g.RemoveNode(quantize);
            foreach (var dq in readers)
            {
                var fq = FakeQuantizeNode(g, quantize.Inputs[0], scale, zeroPoint, axis, qmin, qmax, dq.Outputs[0],
                    scales == QatScales.Learned ? FakeQuantizeConverter.Learned : FakeQuantizeConverter.Fixed, FakeQuantize.LsqGradientScale(1, qmax), BaseName(quantize.Inputs[0]));
                g.ReplaceNode(dq, fq);
            }
            RemoveIfUnused(g, quantize.Inputs.Skip(1).ToArray());
        }
        g.SortTopologically();
        return new QatGraph(model, scales);
    }

    /// <summary>
    /// Re-inserts a BatchNorm after every layer that has none (<see cref="BatchNormReinsertion"/>),
    /// initialized to the identity from the statistics of its output on <paramref name="calibration"/>.
    /// </summary>
    public void ReinsertBatchNorms(TensorDataset calibration)
    {
        var reinserted = BatchNormReinsertion.Insert(Model, calibration, init: BatchNormInit.Identity);
        Model = reinserted.Model;
        Model.RemoveMetadata(BatchNormReinsertion.MetadataKey);
        _insertedBatchNorms.AddRange(reinserted.InsertedNodes);
    }

    /// <summary>
    /// The QDQ model of <paramref name="trained"/> (the training graph with trained values, e.g.
    /// <c>OnnxModule.ToOnnx()</c>): re-inserted BatchNorms folded into their layers, weights quantized
    /// with their final scales (int8, or int4 packed at opset 21), biases int32 with input × weight
    /// scale, activations as QuantizeLinear→DequantizeLinear pairs with their final scales.
    /// </summary>
    public OnnxModel Export(OnnxModel trained)
    {
        ArgumentNullException.ThrowIfNull(trained);
        var model = trained.Clone();
        var g = model.Graph;
        foreach (var name in _insertedBatchNorms) FoldBatchNorm(g, name);

        bool int4 = false;
        var weightScales = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var fq in g.Nodes.Where(n => IsFakeQuantize(n) && g.FindInitializer(n.Inputs[0]) is not null).ToList())
        {
            var w = g.FindInitializer(fq.Inputs[0])!;
            var scale = StepSizes(g, fq);
            int qmax = checked((int)fq.GetInt("qmax"));
            int? axis = scale.Length == 1 && w.Dims.Length > 0 && g.FindInitializer(fq.Inputs[1])!.Dims.Length == 0 ? null : checked((int)fq.GetInt("axis", 1));
            var type = qmax == StaticQuantizationOptions.WeightQMax(QuantizationType.Int4) ? QuantizationType.Int4 : QuantizationType.Int8;
            int4 |= type == QuantizationType.Int4;
            var values = w.ToFloatArray();
            var shape = Array.ConvertAll(w.Dims, d => checked((int)d));
            var q = SymmetricWeights.Quantize(values, shape, axis, scale, qmax);
            g.RemoveNode(fq);
            SymmetricWeights.Write(g, w.Name, w.Dims, axis, q, scale, type, output: fq.Outputs[0]);
            weightScales[fq.Outputs[0]] = scale;
            RemoveIfUnused(g, fq.Inputs.ToArray());
        }

        // Biases of layers whose input and weight are both quantized become int32, as static quantization writes them.
        var activationScales = g.Nodes.Where(IsFakeQuantize).ToDictionary(n => n.Outputs[0], n => StepSizes(g, n)[0], StringComparer.Ordinal);
        foreach (var layer in g.Nodes.Where(n => n.Domain.Length == 0 && n.OpType is "Conv" or "Gemm" && n.Inputs.Count > 2).ToList())
            if (activationScales.TryGetValue(layer.Inputs[0], out var inputScale) && weightScales.TryGetValue(layer.Inputs[1], out var ws)
                && g.FindInitializer(layer.Inputs[2]) is { DataType: OnnxDataType.Float })
                QdqRewriter.QuantizeBias(g, layer.Inputs[2], inputScale, ws);

        foreach (var fq in g.Nodes.Where(IsFakeQuantize).ToList())
        {
            var scale = StepSizes(g, fq)[0];
            var baseName = BaseName(fq.Inputs[0]);
            var sName = g.UniqueName(baseName + "_scale");
            var zName = fq.Inputs[2];
            var qName = g.UniqueName(baseName + "_quantized");
            g.AddInitializer(OnnxTensor.FromFloats(sName, [], [scale]));
            int index = g.IndexOf(fq);
            g.RemoveNode(fq);
            g.InsertNode(index, new OnnxNode("DequantizeLinear", [qName, sName, zName], [fq.Outputs[0]], g.UniqueName(baseName + "_DequantizeLinear")));
            g.InsertNode(index, new OnnxNode("QuantizeLinear", [fq.Inputs[0], sName, zName], [qName], g.UniqueName(baseName + "_QuantizeLinear")));
            RemoveIfUnused(g, fq.Inputs.Where((_, i) => i != 0 && i != 2));
        }
        model.RemoveOpset(FakeQuantizeConverter.Domain);
        if (int4) SymmetricWeights.RequireInt4Opset(model);
        g.SortTopologically();
        return model;
    }

    /// <summary>
    /// Folds a re-inserted BatchNorm y = γ (x − μ) / √(σ² + ε) + β into the layer before it:
    /// W' = c W and b' = c (b − μ) + β with c = γ / √(σ² + ε) per output channel, and the weight's
    /// step size s' = |c| s, so the fake-quantized weight of the folded layer is c times the
    /// fake-quantized weight it was trained with (per-channel; per-tensor scales are approximated).
    /// </summary>
    private static void FoldBatchNorm(OnnxGraph g, string name)
    {
        var bn = g.FindNode(name) ?? throw new QuantizationException($"the re-inserted BatchNorm '{name}' is gone");
        var layer = g.FindProducer(bn.Inputs[0]) ?? throw new QuantizationException($"'{name}' has no producer");
        var fq = g.FindProducer(layer.Inputs[1]);
        var weight = fq is not null && IsFakeQuantize(fq) ? g.FindInitializer(fq.Inputs[0]) : g.FindInitializer(layer.Inputs[1]);
        if (weight is null) throw new QuantizationException($"the weight of '{layer.DisplayName}' is not a trained initializer");
        float[] Read(int i) => g.FindInitializer(bn.Inputs[i])!.ToFloatArray();
        var (gamma, beta, mean, variance) = (Read(1), Read(2), Read(3), Read(4));
        double eps = bn.GetFloat("epsilon", 1e-5f);
        var c = new float[gamma.Length];
        for (int i = 0; i < c.Length; i++) c[i] = (float)(gamma[i] / Math.Sqrt(variance[i] + eps));

        int axis = layer.OpType == "Gemm" && layer.GetInt("transB", 0) == 0 ? 1 : 0;
        var w = weight.ToFloatArray();
        var dims = weight.Dims;
        int inner = 1;
        for (int d = axis + 1; d < dims.Length; d++) inner *= checked((int)dims[d]);
        for (int i = 0; i < w.Length; i++) w[i] *= c[(i / inner) % c.Length];
        g.ReplaceInitializer(OnnxTensor.FromFloats(weight.Name, dims, w));

        float[] bias;
        if (layer.Inputs.Count > 2 && layer.Inputs[2].Length > 0)
            bias = g.FindInitializer(layer.Inputs[2])?.ToFloatArray() ?? throw new QuantizationException($"the bias of '{layer.DisplayName}' is not an initializer");
        else
        {
            bias = new float[c.Length];
            var biasName = g.UniqueName(weight.Name + "_bias");
            while (layer.Inputs.Count < 3) layer.Inputs.Add("");
            layer.Inputs[2] = biasName;
            g.AddInitializer(OnnxTensor.FromFloats(biasName, [c.Length], bias));
        }
        for (int i = 0; i < bias.Length; i++) bias[i] = c[i] * (bias[i] - mean[i]) + beta[i];
        g.ReplaceInitializer(OnnxTensor.FromFloats(layer.Inputs[2], [bias.Length], bias));

        if (fq is not null && IsFakeQuantize(fq))
        {
            var scale = StepSizes(g, fq);
            if (scale.Length == c.Length)
                for (int i = 0; i < scale.Length; i++) scale[i] *= Math.Abs(c[i]) > 0 ? Math.Abs(c[i]) : 1;
            else
                scale = [(float)(w.Max(Math.Abs) / fq.GetInt("qmax"))];
            SetStepSizes(g, fq, scale);
        }
        layer.Outputs[0] = bn.Outputs[0];
        g.RemoveNode(bn);
        RemoveIfUnused(g, bn.Inputs.Skip(1).ToArray());
    }

    /// <summary>The step sizes a fake-quant node uses now (exp of the stored value for learned ones).</summary>
    private static float[] StepSizes(OnnxGraph g, OnnxNode fq)
    {
        var scale = g.FindInitializer(fq.Inputs[1])!.ToFloatArray();
        if (fq.GetString("mode", FakeQuantizeConverter.Fixed) != FakeQuantizeConverter.Learned) return scale;
        // As the kernel computes it: scale × exp(u) in float32.
        var u = g.FindInitializer(fq.Inputs[3])!.ToFloatArray();
        for (int i = 0; i < scale.Length; i++) scale[i] *= MathF.Exp(u[i % u.Length]);
        return scale;
    }

    /// <summary>Makes <paramref name="steps"/> the node's step sizes (a learned one restarts with multiplier 1).</summary>
    private static void SetStepSizes(OnnxGraph g, OnnxNode fq, float[] steps)
    {
        var old = g.FindInitializer(fq.Inputs[1])!;
        g.ReplaceInitializer(OnnxTensor.FromFloats(old.Name, old.Dims, steps));
        if (fq.GetString("mode", FakeQuantizeConverter.Fixed) == FakeQuantizeConverter.Learned)
        {
            var u = g.FindInitializer(fq.Inputs[3])!;
            g.ReplaceInitializer(OnnxTensor.FromFloats(u.Name, u.Dims, new float[u.ElementCount]));
        }
    }

    private static OnnxNode FakeQuantizeNode(OnnxGraph g, string input, float[] scale, long[] zeroPoint, int? axis, long qmin, long qmax, string output,
        string mode, double gradScale, string baseName)
    {
        var scaleName = g.UniqueName(baseName + "_step");
        long[] dims = scale.Length == 1 && axis is null ? [] : [scale.Length];
        g.AddInitializer(OnnxTensor.FromFloats(scaleName, dims, scale));
        var zpName = g.UniqueName(baseName + "_zero_point");
        var zpType = qmin < 0 ? OnnxDataType.Int8 : OnnxDataType.UInt8;
        g.AddInitializer(OnnxTensor.FromBytes(zpName, zpType, dims, Array.ConvertAll(zeroPoint, z => zpType == OnnxDataType.Int8 ? unchecked((byte)(sbyte)z) : (byte)z)));
        List<string> inputs = [input, scaleName, zpName];
        if (mode == FakeQuantizeConverter.Learned)
        {
            var logName = g.UniqueName(baseName + "_log_step_multiplier");
            g.AddInitializer(OnnxTensor.FromFloats(logName, dims, new float[scale.Length]));
            inputs.Add(logName);
        }
        var node = new OnnxNode("FakeQuantize", inputs, [output], g.UniqueName(baseName + "_FakeQuantize"), FakeQuantizeConverter.Domain);
        node.SetAttribute("qmin", qmin);
        node.SetAttribute("qmax", qmax);
        node.SetAttribute("axis", (long)(axis ?? 1));
        node.SetAttribute("mode", mode);
        node.SetAttribute("grad_scale", (float)gradScale);
        return node;
    }

    /// <summary>Scale, zero point (0 when absent) and the per-channel axis (null for one scale) of a QuantizeLinear or DequantizeLinear.</summary>
    private static (float[] Scale, long[] ZeroPoint, int? Axis) Parameters(OnnxGraph g, OnnxNode node)
    {
        var scale = (node.Inputs.Count > 1 ? g.FindInitializer(node.Inputs[1]) : null)?.ToFloatArray()
            ?? throw new QuantizationException($"'{node.DisplayName}': the scale must be an initializer");
        var zpTensor = node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? g.FindInitializer(node.Inputs[2]) ?? throw new QuantizationException($"'{node.DisplayName}': the zero point must be an initializer") : null;
        if (node.GetInt("block_size", 0) != 0) throw new QuantizationException($"'{node.DisplayName}' is blocked; QAT trains per-tensor and per-channel quantization");
        var zeroPoint = zpTensor?.ToInt64Array() ?? new long[scale.Length];
        int? axis = (g.FindInitializer(node.Inputs[1])!.Dims.Length == 0) ? null : checked((int)node.GetInt("axis", 1));
        return (scale, zeroPoint, axis);
    }

    private static float[] Dequantize(int[] q, long[] dims, int? axis, float[] scale, long[] zeroPoint)
    {
        var values = new float[q.Length];
        var zp = Array.ConvertAll(zeroPoint, z => checked((int)z));
        if (axis is { } a) QuantMath.DequantizePerChannel(q, Array.ConvertAll(dims, d => checked((int)d)), a, scale, zp, values);
        else QuantMath.Dequantize(q, scale[0], zp[0], values);
        return values;
    }

    private static string BaseName(string name)
    {
        foreach (var suffix in new[] { "_quantized", "_dequantized" })
            if (name.EndsWith(suffix, StringComparison.Ordinal) && name.Length > suffix.Length) return name[..^suffix.Length];
        return name;
    }

    private static void RemoveIfUnused(OnnxGraph g, IEnumerable<string> names)
    {
        var outputs = g.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in names.Where(n => n.Length > 0).Distinct())
            if (g.FindConsumers(name).Count == 0 && !outputs.Contains(name)) g.RemoveInitializer(name);
    }
}
