using Whittle.Onnx;

namespace Whittle.Quantization;

/// <summary>The operators dynamic quantization can rewrite.</summary>
public enum DynamicQuantizationOp
{
    /// <summary>MatMul with a 2-D initializer weight [K, N].</summary>
    MatMul,

    /// <summary>Gemm with an initializer weight (transB, alpha, beta and the bias C honoured).</summary>
    Gemm,

    /// <summary>Gather from an initializer table along axis 0 (embeddings).</summary>
    Gather,
}

/// <summary>Settings of <see cref="DynamicQuantizer"/>; validated on construction.</summary>
public sealed class DynamicQuantizationOptions
{
    /// <summary>The operators quantized when none are given: all of them.</summary>
    public static IReadOnlyList<DynamicQuantizationOp> DefaultOps { get; } =
        [DynamicQuantizationOp.MatMul, DynamicQuantizationOp.Gemm, DynamicQuantizationOp.Gather];

    /// <summary>Creates the options.</summary>
    /// <param name="ops">Operators to quantize; null means <see cref="DefaultOps"/>.</param>
    /// <param name="exclude">Node names or op types to keep in float; each must match some node.</param>
    /// <param name="perTensor">One scale per weight instead of one per output column (per embedding row for Gather).</param>
    /// <param name="reduceRange">Quantize MatMul/Gemm weights to 7 bits ([-64, 64]), which avoids the saturation of
    /// 16-bit intermediate sums in the u8×s8 kernels of x86 CPUs without VNNI.</param>
    /// <exception cref="InvalidOptionException">An empty or duplicated op list or exclusion rule.</exception>
    public DynamicQuantizationOptions(
        IEnumerable<DynamicQuantizationOp>? ops = null, IEnumerable<string>? exclude = null, bool perTensor = false, bool reduceRange = false)
    {
        var list = (ops ?? DefaultOps).ToList();
        if (list.Count == 0) throw new InvalidOptionException(nameof(Ops), "Ops is empty: at least one operator type must be quantized");
        var repeated = list.GroupBy(o => o).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new InvalidOptionException(nameof(Ops), $"Ops gives {repeated.Key} twice");
        foreach (var o in list) OptionChecks.Defined(o, nameof(Ops));
        Ops = list;
        Exclude = ExclusionRules.Validate(exclude, nameof(Exclude));
        PerTensor = perTensor;
        ReduceRange = reduceRange;
    }

    /// <summary>Operators to quantize.</summary>
    public IReadOnlyList<DynamicQuantizationOp> Ops { get; }

    /// <summary>Node names or op types kept in float.</summary>
    public IReadOnlyList<string> Exclude { get; }

    /// <summary>One scale per weight instead of per output column / embedding row.</summary>
    public bool PerTensor { get; }

    /// <summary>7-bit MatMul/Gemm weights.</summary>
    public bool ReduceRange { get; }
}

/// <summary>What dynamic quantization did.</summary>
/// <param name="Nodes">Every MatMul, Gemm and Gather node, quantized or skipped with the reason.</param>
/// <param name="InitializerBytesBefore">Bytes of all initializers of the input model.</param>
/// <param name="InitializerBytesAfter">Bytes of all initializers of the output model.</param>
/// <param name="OpsetBefore">Default-domain opset of the input model.</param>
/// <param name="OpsetAfter">Default-domain opset of the output model (raised when the inserted operators need it).</param>
public sealed record DynamicQuantizationReport(
    IReadOnlyList<NodeQuantizationRecord> Nodes, long InitializerBytesBefore, long InitializerBytesAfter, long OpsetBefore, long OpsetAfter)
{
    /// <summary>Number of nodes rewritten.</summary>
    public int QuantizedCount => Nodes.Count(n => n.Quantized);
}

/// <summary>
/// Dynamic int8 quantization: weights are quantized once, offline (int8 symmetric, per output
/// column by default); activations are quantized at run time, per batch, from their own min/max.
/// No calibration data is needed. MatMul and Gemm become the pattern ONNX Runtime's
/// <c>quantize_dynamic</c> emits and its CPU graph optimizer fuses into
/// <c>DynamicQuantizeMatMul</c> (through <c>MatMulIntegerToFloat</c>):
/// <code>
/// DynamicQuantizeLinear(X) -> (Xq uint8, x_scale, x_zp)
/// MatMulInteger(Xq, Wq int8, x_zp, w_zp = 0) -> int32 -> Cast(float) -> Mul(·, Mul(x_scale, w_scale)) [-> Add(bias)]
/// </code>
/// Gather from an embedding table keeps the table in int8 and dequantizes only the gathered rows:
/// per row, Cast(Gather(Tq, ids)) × Gather(row_scales, ids); per tensor, DequantizeLinear(Gather(Tq, ids)).
/// Works on a copy; the input model is not touched.
/// </summary>
public static class DynamicQuantizer
{
    private const long FloatType = 1; // TensorProto.FLOAT, the Cast target

    /// <summary>Quantizes every MatMul, Gemm and Gather with the default options.</summary>
    public static (OnnxModel Model, DynamicQuantizationReport Report) Quantize(OnnxModel source) => Quantize(source, new DynamicQuantizationOptions());

    /// <summary>Quantizes the selected nodes; returns the new model and what was done to each candidate.</summary>
    /// <exception cref="InvalidOptionException">An exclusion rule matches no node.</exception>
    /// <exception cref="OnnxException">The inserted operators need a newer opset and raising it could change other nodes.</exception>
    public static (OnnxModel Model, DynamicQuantizationReport Report) Quantize(OnnxModel source, DynamicQuantizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        var model = source.Clone();
        var g = model.Graph;
        long opsetBefore = model.GetOpset("") ?? 1;
        long bytesBefore = g.Initializers.Sum(t => t.StorageBytes);
        var excluded = ExclusionRules.Resolve(g, options.Exclude, nameof(options.Exclude));

        var records = new List<NodeQuantizationRecord>();
        var plans = new List<(OnnxNode Node, DynamicQuantizationOp Op)>();
        foreach (var node in g.Nodes)
        {
            if (node.Domain.Length != 0 || !Enum.TryParse<DynamicQuantizationOp>(node.OpType, out var op) || node.OpType != op.ToString()) continue;
            string? reason = !options.Ops.Contains(op) ? "op type not selected"
                : excluded.TryGetValue(node.DisplayName, out var rule) ? $"excluded by rule '{rule}'"
                : WhyNot(g, node, op);
            if (reason is null) plans.Add((node, op));
            else records.Add(new NodeQuantizationRecord(node.DisplayName, node.OpType, false, reason, 0, 0));
        }

        long opsetAfter = opsetBefore;
        if (plans.Count > 0)
        {
            // DynamicQuantizeLinear is opset 11; DequantizeLinear 10; Mul with broadcasting 7.
            long required = plans.Any(p => p.Op != DynamicQuantizationOp.Gather) ? 11 : options.PerTensor ? 10 : 7;
            opsetAfter = OpsetUpgrade.UpgradeInPlace(model, (int)required);
            // IR < 4 requires every initializer to be a graph input; the new ones are not.
            if (model.Proto.IrVersion < 4) model.Proto.IrVersion = 4;
        }

        var rewriter = new Rewriter(g, options);
        foreach (var (node, op) in plans)
            records.Add(op == DynamicQuantizationOp.Gather ? rewriter.Gather(node) : rewriter.MatMulLike(node, op));
        g.RemoveUnusedNodes();
        g.SortTopologically();

        // Report in graph order of the input model.
        var order = source.Graph.Nodes.Select((n, i) => (n.DisplayName, i)).GroupBy(p => p.DisplayName).ToDictionary(p => p.Key, p => p.First().i);
        records.Sort((a, b) => order.GetValueOrDefault(a.Node).CompareTo(order.GetValueOrDefault(b.Node)));
        return (model, new DynamicQuantizationReport(records, bytesBefore, g.Initializers.Sum(t => t.StorageBytes), opsetBefore, opsetAfter));
    }

    private static string? WhyNot(OnnxGraph g, OnnxNode node, DynamicQuantizationOp op)
    {
        int weightInput = op == DynamicQuantizationOp.Gather ? 0 : 1;
        string role = op == DynamicQuantizationOp.Gather ? "table (input data)" : "weight (input B)";
        if (node.Inputs.Count <= weightInput) return $"no {role}";
        var w = g.FindInitializer(node.Inputs[weightInput]);
        if (w is null) return $"the {role} is not an initializer";
        if (w.DataType != OnnxDataType.Float) return $"the {role} is {OnnxDataTypes.Name(w.DataType)}, not float32";
        if (op == DynamicQuantizationOp.Gather)
        {
            long axis = node.GetInt("axis", 0);
            if (w.Dims.Length == 0) return "the table is a scalar";
            if (axis != 0 && axis != -w.Dims.Length) return $"axis={axis}: only row lookups (axis 0) are quantized";
            return null;
        }
        if (w.Dims.Length != 2) return $"the weight has rank {w.Dims.Length}; only 2-D weights are quantized";
        if (op == DynamicQuantizationOp.Gemm && node.GetInt("transA", 0) != 0) return "transA=1";
        return null;
    }

    private sealed class Rewriter(OnnxGraph g, DynamicQuantizationOptions options)
    {
        // (initializer, layout) -> quantized tensors and the node that first quantized them.
        private readonly Dictionary<string, (string Q, string Scale, string ZeroPoint, string FirstNode)> _done = new(StringComparer.Ordinal);

        public NodeQuantizationRecord MatMulLike(OnnxNode node, DynamicQuantizationOp op)
        {
            var w = g.FindInitializer(node.Inputs[1])!;
            bool transB = op == DynamicQuantizationOp.Gemm && node.GetInt("transB", 0) != 0;
            float alpha = op == DynamicQuantizationOp.Gemm ? node.GetFloat("alpha", 1f) : 1f;
            long k = transB ? w.Dims[1] : w.Dims[0], n = transB ? w.Dims[0] : w.Dims[1];
            // Gemm's alpha is folded into the weight, and transB into its layout, so one key per variant.
            string key = $"{w.Name}|{(transB ? "T" : "N")}|{alpha.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}";
            long before = 0, after = 0;
            string detail;
            if (_done.TryGetValue(key, out var shared))
            {
                detail = $"reuses the int8 weight quantized for '{shared.FirstNode}' (shared initializer)";
            }
            else
            {
                var values = WeightValues.Read(w, node.DisplayName);
                if (transB) values = Transpose(values, (int)n, (int)k);
                if (alpha != 1f) for (int i = 0; i < values.Length; i++) values[i] *= alpha;
                shared = QuantizeWeight(w.Name, values, [(int)k, (int)n], axis: 1, options.ReduceRange, node.DisplayName);
                _done[key] = shared;
                before = w.StorageBytes;
                after = Bytes(shared.Q) + Bytes(shared.Scale) + Bytes(shared.ZeroPoint);
                detail = $"int8 weight [{k}, {n}]{(options.PerTensor ? " per tensor" : " per column")}{(options.ReduceRange ? ", 7-bit" : "")}{(transB ? ", transposed" : "")}"
                    + (alpha != 1f ? $", alpha {alpha} folded in" : "");
            }

            string baseName = node.Name.Length > 0 ? node.Name : node.Outputs[0];
            string output = node.Outputs[0];
            string xq = g.UniqueName(baseName + "_x_quantized"), xs = g.UniqueName(baseName + "_x_scale"), xzp = g.UniqueName(baseName + "_x_zero_point");
            g.AddNode(new OnnxNode("DynamicQuantizeLinear", [node.Inputs[0]], [xq, xs, xzp], g.UniqueName(baseName + "_quantize_input")));
            string int32 = g.UniqueName(baseName + "_int32");
            g.AddNode(new OnnxNode("MatMulInteger", [xq, shared.Q, xzp, shared.ZeroPoint], [int32], g.UniqueName(baseName + "_matmul_integer")));
            string asFloat = g.UniqueName(baseName + "_int32_as_float");
            g.AddNode(new OnnxNode("Cast", [int32], [asFloat], g.UniqueName(baseName + "_cast"))).SetAttribute("to", FloatType);
            // Input order (x_scale, w_scale) matters: ORT's MatMulIntegerToFloat fusion reads them as (a_scale, b_scale).
            string scale = g.UniqueName(baseName + "_output_scale");
            g.AddNode(new OnnxNode("Mul", [xs, shared.Scale], [scale], g.UniqueName(baseName + "_scale_product")));

            string? bias = op == DynamicQuantizationOp.Gemm && node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? node.Inputs[2] : null;
            string product = bias is null ? output : g.UniqueName(baseName + "_product");
            var originalName = node.Name;
            g.RemoveNode(node);
            g.AddNode(new OnnxNode("Mul", [asFloat, scale], [product], originalName.Length > 0 ? originalName : null));
            if (bias is not null)
            {
                float beta = node.GetFloat("beta", 1f);
                string c = beta == 1f ? bias : ScaledBias(bias, beta, baseName);
                g.AddNode(new OnnxNode("Add", [product, c], [output], g.UniqueName(baseName + "_bias")));
                if (beta != 1f) detail += $", beta {beta} applied to C";
            }
            return new NodeQuantizationRecord(node.DisplayName, node.OpType, true, detail, before, after);
        }

        public NodeQuantizationRecord Gather(OnnxNode node)
        {
            var table = g.FindInitializer(node.Inputs[0])!;
            string key = $"{table.Name}|rows";
            long before = 0, after = 0;
            string detail;
            int[] shape = table.Dims.Select(d => (int)d).ToArray();
            if (_done.TryGetValue(key, out var shared))
            {
                detail = $"reuses the int8 table quantized for '{shared.FirstNode}' (shared initializer)";
            }
            else
            {
                // Row scales are stored as [V, 1, ...] so that the gathered scales broadcast over each row.
                // Reduced range is for the u8×s8 MatMul kernels only; a table lookup has no such overflow.
                shared = QuantizeWeight(table.Name, WeightValues.Read(table, node.DisplayName), shape, axis: 0, reduceRange: false, node.DisplayName,
                    rowScaleShape: [shape[0], .. Enumerable.Repeat(1L, shape.Length - 1)]);
                _done[key] = shared;
                before = table.StorageBytes;
                after = Bytes(shared.Q) + Bytes(shared.Scale) + Bytes(shared.ZeroPoint);
                detail = $"int8 table [{string.Join(", ", shape)}]{(options.PerTensor ? " per tensor" : " per row")}";
            }

            string baseName = node.Name.Length > 0 ? node.Name : node.Outputs[0];
            string output = node.Outputs[0];
            string ids = node.Inputs[1];
            string gathered = g.UniqueName(baseName + "_int8");
            var originalName = node.Name;
            g.RemoveNode(node);
            g.AddNode(new OnnxNode("Gather", [shared.Q, ids], [gathered], originalName.Length > 0 ? originalName : null)).SetAttribute("axis", 0L);
            if (options.PerTensor)
            {
                g.AddNode(new OnnxNode("DequantizeLinear", [gathered, shared.Scale, shared.ZeroPoint], [output], g.UniqueName(baseName + "_dequantize")));
            }
            else
            {
                string asFloat = g.UniqueName(baseName + "_int8_as_float");
                g.AddNode(new OnnxNode("Cast", [gathered], [asFloat], g.UniqueName(baseName + "_cast"))).SetAttribute("to", FloatType);
                string rowScales = g.UniqueName(baseName + "_row_scales");
                g.AddNode(new OnnxNode("Gather", [shared.Scale, ids], [rowScales], g.UniqueName(baseName + "_gather_scales"))).SetAttribute("axis", 0L);
                g.AddNode(new OnnxNode("Mul", [asFloat, rowScales], [output], g.UniqueName(baseName + "_dequantize")));
            }
            return new NodeQuantizationRecord(node.DisplayName, node.OpType, true, detail, before, after);
        }

        private (string Q, string Scale, string ZeroPoint, string FirstNode) QuantizeWeight(
            string name, float[] values, int[] shape, int axis, bool reduceRange, string firstNode, long[]? rowScaleShape = null)
        {
            WeightValues.Check(values, name, firstNode);
            float[] scales;
            int[] zeroPoints;
            var q = new int[values.Length];
            if (options.PerTensor)
            {
                var (s, zp) = QuantMath.ScaleZeroPoint(values, QuantizationType.Int8, symmetric: true, reduceRange);
                (scales, zeroPoints) = ([s], [zp]);
                QuantMath.Quantize(values, s, zp, QuantizationType.Int8, q);
            }
            else
            {
                (scales, zeroPoints) = QuantMath.ScaleZeroPointPerChannel(values, shape, axis, QuantizationType.Int8, symmetric: true, reduceRange);
                QuantMath.QuantizePerChannel(values, shape, axis, scales, zeroPoints, QuantizationType.Int8, q);
            }
            // Symmetric int8 puts every zero point at 0, so one scalar zero point serves all channels.
            if (zeroPoints.Any(z => z != 0)) throw new InvalidOperationException($"symmetric int8 gave a nonzero zero point for '{name}'");

            var bytes = new byte[q.Length];
            for (int i = 0; i < q.Length; i++) bytes[i] = unchecked((byte)(sbyte)q[i]);
            string qName = g.UniqueName(name + "_quantized");
            g.AddInitializer(OnnxTensor.FromBytes(qName, OnnxDataType.Int8, shape.Select(d => (long)d).ToArray(), bytes));
            string scaleName = g.UniqueName(name + "_scale");
            long[] scaleDims = options.PerTensor ? [] : rowScaleShape ?? [scales.Length];
            g.AddInitializer(OnnxTensor.FromFloats(scaleName, scaleDims, scales));
            string zpName = g.UniqueName(name + "_zero_point");
            g.AddInitializer(OnnxTensor.FromBytes(zpName, OnnxDataType.Int8, [], [0]));
            return (qName, scaleName, zpName, firstNode);
        }

        private string ScaledBias(string bias, float beta, string baseName)
        {
            if (g.FindInitializer(bias) is { DataType: OnnxDataType.Float } c)
            {
                var values = c.ToFloatArray();
                for (int i = 0; i < values.Length; i++) values[i] *= beta;
                return g.AddInitializer(OnnxTensor.FromFloats(g.UniqueName(bias + "_times_beta"), c.Dims, values)).Name;
            }
            string betaName = g.AddInitializer(OnnxTensor.FromFloats(g.UniqueName(baseName + "_beta"), [], [beta])).Name;
            string scaled = g.UniqueName(baseName + "_scaled_bias");
            g.AddNode(new OnnxNode("Mul", [bias, betaName], [scaled], g.UniqueName(baseName + "_beta_mul")));
            return scaled;
        }

        private long Bytes(string initializer) => g.FindInitializer(initializer)!.StorageBytes;
    }

    internal static float[] Transpose(float[] values, int rows, int cols)
    {
        var t = new float[values.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                t[c * rows + r] = values[r * cols + c];
        return t;
    }
}
