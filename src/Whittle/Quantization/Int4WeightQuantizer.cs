using System.Globalization;
using Whittle.Onnx;

namespace Whittle.Quantization;

/// <summary>How MatMulNBits may treat its float input internally (its <c>accuracy_level</c> attribute).</summary>
public enum Int4AccuracyLevel
{
    /// <summary>Not set: the input is used as it is (float32 compute).</summary>
    Unset = 0,

    /// <summary>At least float32.</summary>
    Float32 = 1,

    /// <summary>At least float16.</summary>
    Float16 = 2,

    /// <summary>At least bfloat16.</summary>
    BFloat16 = 3,

    /// <summary>The input may be quantized to int8 per block (fastest on CPUs with int8 dot products).</summary>
    Int8 = 4,
}

/// <summary>Settings of <see cref="Int4WeightQuantizer"/>; validated on construction.</summary>
public sealed class Int4QuantizationOptions
{
    /// <summary>Values per block along K when none is given.</summary>
    public const int DefaultBlockSize = 32;

    /// <summary>Creates the options.</summary>
    /// <param name="blockSize">Values per block along K: a power of two, at least 16 (32, 64, 128 are usual).</param>
    /// <param name="symmetric">Symmetric blocks (zero point 8) instead of min/max blocks.</param>
    /// <param name="exclude">Node names or op types to keep in float; each must match some node.</param>
    /// <param name="accuracyLevel">MatMulNBits' accuracy_level.</param>
    /// <exception cref="InvalidOptionException">A bad block size, accuracy level or exclusion rule.</exception>
    public Int4QuantizationOptions(int blockSize = DefaultBlockSize, bool symmetric = false, IEnumerable<string>? exclude = null,
        Int4AccuracyLevel accuracyLevel = Int4AccuracyLevel.Unset)
    {
        // MatMulNBits' rule, the one BlockwiseInt4.CheckBlockSize enforces on the math side.
        if (blockSize < 16 || (blockSize & (blockSize - 1)) != 0)
            throw OptionChecks.Invalid(nameof(BlockSize), "a power of two and at least 16 (e.g. 32, 64, 128)", blockSize);
        OptionChecks.Defined(accuracyLevel, nameof(AccuracyLevel));
        BlockSize = blockSize;
        Symmetric = symmetric;
        Exclude = ExclusionRules.Validate(exclude, nameof(Exclude));
        AccuracyLevel = accuracyLevel;
    }

    /// <summary>Values per block along K.</summary>
    public int BlockSize { get; }

    /// <summary>Symmetric blocks instead of min/max blocks.</summary>
    public bool Symmetric { get; }

    /// <summary>Node names or op types kept in float.</summary>
    public IReadOnlyList<string> Exclude { get; }

    /// <summary>MatMulNBits' accuracy_level.</summary>
    public Int4AccuracyLevel AccuracyLevel { get; }
}

/// <summary>What weight-only int4 quantization did.</summary>
/// <param name="Nodes">Every MatMul and Gemm, quantized or skipped with the reason.</param>
/// <param name="InitializerBytesBefore">Bytes of all initializers of the input model.</param>
/// <param name="InitializerBytesAfter">Bytes of all initializers of the output model.</param>
public sealed record Int4QuantizationReport(IReadOnlyList<NodeQuantizationRecord> Nodes, long InitializerBytesBefore, long InitializerBytesAfter)
{
    /// <summary>Number of nodes rewritten.</summary>
    public int QuantizedCount => Nodes.Count(n => n.Quantized);
}

/// <summary>
/// Weight-only int4: MatMul and Gemm weights become ONNX Runtime's <c>com.microsoft.MatMulNBits</c>
/// (bits = 4), block-wise along K with a scale and zero point per block (<see cref="BlockwiseInt4"/>);
/// activations stay float. Gemm's transB is applied to the stored layout, alpha is folded into the
/// weight, and beta·C is added after the MatMulNBits. Works on a copy; the input model is not touched.
/// </summary>
public static class Int4WeightQuantizer
{
    /// <summary>The operator domain of MatMulNBits.</summary>
    public const string MicrosoftDomain = "com.microsoft";

    /// <summary>Quantizes every eligible MatMul and Gemm with the default options.</summary>
    public static (OnnxModel Model, Int4QuantizationReport Report) Quantize(OnnxModel source) => Quantize(source, new Int4QuantizationOptions());

    /// <summary>Quantizes the eligible, not excluded MatMul and Gemm nodes.</summary>
    /// <exception cref="InvalidOptionException">An exclusion rule matches no node.</exception>
    public static (OnnxModel Model, Int4QuantizationReport Report) Quantize(OnnxModel source, Int4QuantizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        var model = source.Clone();
        var g = model.Graph;
        long bytesBefore = g.Initializers.Sum(t => t.StorageBytes);
        var excluded = ExclusionRules.Resolve(g, options.Exclude, nameof(options.Exclude));
        var records = new List<NodeQuantizationRecord>();
        var done = new Dictionary<string, (string B, string Scales, string ZeroPoints, string FirstNode, int K, int N)>(StringComparer.Ordinal);
        foreach (var node in g.Nodes)
        {
            if (node.Domain.Length != 0 || node.OpType is not ("MatMul" or "Gemm")) continue;
            string? reason = excluded.TryGetValue(node.DisplayName, out var rule) ? $"excluded by rule '{rule}'" : WhyNot(g, node);
            if (reason is not null)
            {
                records.Add(new NodeQuantizationRecord(node.DisplayName, node.OpType, false, reason, 0, 0));
                continue;
            }
            records.Add(Rewrite(g, node, options, done));
        }
        if (records.Any(r => r.Quantized))
        {
            if (model.GetOpset(MicrosoftDomain) is null) model.SetOpset(MicrosoftDomain, 1);
            // IR < 4 requires every initializer to be a graph input; the new ones are not.
            if (model.Proto.IrVersion < 4) model.Proto.IrVersion = 4;
        }
        g.RemoveUnusedNodes();
        g.SortTopologically();
        return (model, new Int4QuantizationReport(records, bytesBefore, g.Initializers.Sum(t => t.StorageBytes)));
    }

    private static string? WhyNot(OnnxGraph g, OnnxNode node)
    {
        if (node.Inputs.Count < 2) return "no weight (input B)";
        var w = g.FindInitializer(node.Inputs[1]);
        if (w is null) return "the weight (input B) is not an initializer";
        if (w.DataType != OnnxDataType.Float) return $"the weight is {OnnxDataTypes.Name(w.DataType)}, not float32";
        if (w.Dims.Length != 2) return $"the weight has rank {w.Dims.Length}; only 2-D weights are quantized";
        if (node.OpType == "Gemm" && node.GetInt("transA", 0) != 0) return "transA=1";
        return null;
    }

    private static NodeQuantizationRecord Rewrite(OnnxGraph g, OnnxNode node, Int4QuantizationOptions options,
        Dictionary<string, (string B, string Scales, string ZeroPoints, string FirstNode, int K, int N)> done)
    {
        var w = g.FindInitializer(node.Inputs[1])!;
        bool gemm = node.OpType == "Gemm";
        bool transB = gemm && node.GetInt("transB", 0) != 0;
        float alpha = gemm ? node.GetFloat("alpha", 1f) : 1f;
        string key = $"{w.Name}|{(transB ? "T" : "N")}|{alpha.ToString("R", CultureInfo.InvariantCulture)}";
        long before = 0, after = 0;
        string detail;
        if (done.TryGetValue(key, out var q))
        {
            detail = $"reuses the int4 weight quantized for '{q.FirstNode}' (shared initializer)";
        }
        else
        {
            int k = (int)(transB ? w.Dims[1] : w.Dims[0]), n = (int)(transB ? w.Dims[0] : w.Dims[1]);
            var values = WeightValues.Read(w, node.DisplayName);
            if (transB) values = DynamicQuantizer.Transpose(values, n, k);
            if (alpha != 1f) for (int i = 0; i < values.Length; i++) values[i] *= alpha;
            var blocks = BlockwiseInt4.Quantize(values, k, n, options.BlockSize, options.Symmetric);
            int perColumn = blocks.BlocksPerColumn;
            var b = g.AddInitializer(OnnxTensor.FromBytes(g.UniqueName(w.Name + "_int4"), OnnxDataType.UInt8, [n, perColumn, options.BlockSize / 2], blocks.Packed));
            var s = g.AddInitializer(OnnxTensor.FromFloats(g.UniqueName(w.Name + "_int4_scales"), [n, perColumn], blocks.Scales));
            var zp = g.AddInitializer(OnnxTensor.FromBytes(g.UniqueName(w.Name + "_int4_zero_points"), OnnxDataType.UInt8, [n, (perColumn + 1) / 2], blocks.PackedZeroPoints()));
            q = (b.Name, s.Name, zp.Name, node.DisplayName, k, n);
            done[key] = q;
            before = w.StorageBytes;
            after = b.StorageBytes + s.StorageBytes + zp.StorageBytes;
            detail = $"int4 [{k}, {n}] in blocks of {options.BlockSize}{(options.Symmetric ? ", symmetric" : "")}{(transB ? ", transposed" : "")}"
                + (k % options.BlockSize != 0 ? $", last block padded from {k % options.BlockSize}" : "")
                + (alpha != 1f ? $", alpha {alpha} folded in" : "");
        }

        string baseName = node.Name.Length > 0 ? node.Name : node.Outputs[0];
        string output = node.Outputs[0];
        string? bias = gemm && node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? node.Inputs[2] : null;
        string product = bias is null ? output : g.UniqueName(baseName + "_product");
        var originalName = node.Name;
        g.RemoveNode(node);
        var nbits = g.AddNode(new OnnxNode("MatMulNBits", [node.Inputs[0], q.B, q.Scales, q.ZeroPoints], [product],
            originalName.Length > 0 ? originalName : null, MicrosoftDomain));
        nbits.SetAttribute("K", (long)q.K);
        nbits.SetAttribute("N", (long)q.N);
        nbits.SetAttribute("bits", 4L);
        nbits.SetAttribute("block_size", (long)options.BlockSize);
        if (options.AccuracyLevel != Int4AccuracyLevel.Unset) nbits.SetAttribute("accuracy_level", (long)options.AccuracyLevel);
        if (bias is not null)
        {
            float beta = node.GetFloat("beta", 1f);
            string c = bias;
            if (beta != 1f)
            {
                string betaName = g.AddInitializer(OnnxTensor.FromFloats(g.UniqueName(baseName + "_beta"), [], [beta])).Name;
                c = g.UniqueName(baseName + "_scaled_bias");
                g.AddNode(new OnnxNode("Mul", [bias, betaName], [c], g.UniqueName(baseName + "_beta_mul")));
                detail += $", beta {beta} applied to C";
            }
            g.AddNode(new OnnxNode("Add", [product, c], [output], g.UniqueName(baseName + "_bias")));
        }
        return new NodeQuantizationRecord(node.DisplayName, node.OpType, true, detail, before, after);
    }
}
