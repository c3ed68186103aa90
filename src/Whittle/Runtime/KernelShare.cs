namespace Whittle.Runtime;

/// <summary>What an ONNX Runtime kernel spends its time on, for an int8 model's time budget.</summary>
public enum KernelKind
{
    /// <summary>Integer compute: QLinearConv, ConvInteger, MatMulInteger, QLinearMatMul, DynamicQuantizeMatMul, MatMulIntegerToFloat, QGemm, the QLinear* element-wise and pooling kernels, NhwcMaxPool, MatMulNBits.</summary>
    Integer,

    /// <summary>Conversion and layout work around the integer kernels: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, Cast, Transpose, ORT's NCHWc reorders, reshapes.</summary>
    Conversion,

    /// <summary>Everything else: float compute (Conv, FusedConv, Gemm, MatMul, pools, activations, ...).</summary>
    Float,
}

/// <summary>The time of one kernel type in a profile.</summary>
/// <param name="OpType">The kernel (ORT's op name in the optimized graph).</param>
/// <param name="Kind">What it spends its time on.</param>
/// <param name="Ms">Sum of the median times of its nodes, ms.</param>
public sealed record OpTypeTime(string OpType, KernelKind Kind, double Ms);

/// <summary>
/// How a model's kernel time (from <see cref="NodeProfiler"/>) divides between integer kernels,
/// the conversions and layout changes around them, and float kernels. Kernel times are medians per
/// node, so their sum is below the wall-clock time of a run (idle threads and the work between
/// kernels are in no kernel).
/// </summary>
/// <param name="IntegerMs">Time in integer kernels, ms.</param>
/// <param name="ConversionMs">Time in quantize/dequantize, casts, transposes and reorders, ms.</param>
/// <param name="FloatMs">Time in every other kernel, ms.</param>
/// <param name="ByOpType">Time per kernel type, slowest first.</param>
public sealed record KernelShare(double IntegerMs, double ConversionMs, double FloatMs, IReadOnlyList<OpTypeTime> ByOpType)
{
    private static readonly HashSet<string> IntegerKernels = new(StringComparer.Ordinal)
    {
        "ConvInteger", "MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QGemm", "QAttention",
        "QEmbedLayerNormalization", "DynamicQuantizeLSTM", "NhwcMaxPool", "MatMulNBits",
    };

    private static readonly HashSet<string> ConversionKernels = new(StringComparer.Ordinal)
    {
        "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "Cast", "Transpose", "ReorderInput", "ReorderOutput",
        "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity",
    };

    /// <summary>Sum of all kernel times, ms.</summary>
    public double TotalMs => IntegerMs + ConversionMs + FloatMs;

    /// <summary>Integer kernels' share of the kernel time (0 when there is none).</summary>
    public double IntegerShare => TotalMs > 0 ? IntegerMs / TotalMs : 0;

    /// <summary>Conversion and layout kernels' share of the kernel time.</summary>
    public double ConversionShare => TotalMs > 0 ? ConversionMs / TotalMs : 0;

    /// <summary>Float kernels' share of the kernel time.</summary>
    public double FloatShare => TotalMs > 0 ? FloatMs / TotalMs : 0;

    /// <summary>
    /// The kind of a kernel by its op name: every <c>QLinear*</c> kernel (QLinearConv, QLinearMatMul,
    /// QLinearAdd, QLinearGlobalAveragePool, ...) and the integer MatMul/Conv family are
    /// <see cref="KernelKind.Integer"/>; quantize/dequantize, casts, transposes, ORT's NCHWc reorders
    /// and reshapes are <see cref="KernelKind.Conversion"/>; anything else is <see cref="KernelKind.Float"/>.
    /// </summary>
    public static KernelKind Classify(string opType)
    {
        ArgumentNullException.ThrowIfNull(opType);
        if (opType.StartsWith("QLinear", StringComparison.Ordinal) || IntegerKernels.Contains(opType)) return KernelKind.Integer;
        return ConversionKernels.Contains(opType) ? KernelKind.Conversion : KernelKind.Float;
    }

    /// <summary>Sums a profile's kernels by kind and by op type.</summary>
    public static KernelShare Of(IEnumerable<NodeTime> kernels)
    {
        ArgumentNullException.ThrowIfNull(kernels);
        var byOp = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var k in kernels) byOp[k.OpType] = byOp.GetValueOrDefault(k.OpType) + k.MedianMs;
        var ops = byOp.Select(kv => new OpTypeTime(kv.Key, Classify(kv.Key), kv.Value))
            .OrderByDescending(o => o.Ms).ThenBy(o => o.OpType, StringComparer.Ordinal).ToList();
        double Sum(KernelKind kind) => ops.Where(o => o.Kind == kind).Sum(o => o.Ms);
        return new KernelShare(Sum(KernelKind.Integer), Sum(KernelKind.Conversion), Sum(KernelKind.Float), ops);
    }
}
