using Whittle.Onnx;

namespace Whittle.Runtime;

/// <summary>Size and timing of the peak-rate micro-kernels. Immutable; validated here; every default lives here.</summary>
public sealed class PeakMacRateOptions
{
    /// <summary>The options with every default.</summary>
    public static PeakMacRateOptions Default { get; } = new();

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="rows">M of the [M, K] × [K, N] product (rows of the activation).</param>
    /// <param name="depth">K, the length of every dot product.</param>
    /// <param name="columns">N (columns of the constant weight).</param>
    /// <param name="rounds">How the two kernels are timed; null for <see cref="LatencyRoundsOptions.Default"/>.</param>
    /// <exception cref="InvalidOptionException">A size is not positive.</exception>
    public PeakMacRateOptions(int rows = 128, int depth = 512, int columns = 512, LatencyRoundsOptions? rounds = null)
    {
        Rows = OptionChecks.Positive(rows, nameof(Rows));
        Depth = OptionChecks.Positive(depth, nameof(Depth));
        Columns = OptionChecks.Positive(columns, nameof(Columns));
        Rounds = rounds ?? LatencyRoundsOptions.Default;
    }

    /// <summary>M: rows of the activation.</summary>
    public int Rows { get; }

    /// <summary>K: the dot-product length.</summary>
    public int Depth { get; }

    /// <summary>N: columns of the weight.</summary>
    public int Columns { get; }

    /// <summary>How the kernels are timed.</summary>
    public LatencyRoundsOptions Rounds { get; }

    /// <summary>Multiply-accumulates of one run: M·K·N.</summary>
    public long MacsPerRun => (long)Rows * Depth * Columns;
}

/// <summary>The measured MAC rate of one micro-kernel.</summary>
/// <param name="Kernel">What ran (e.g. "MatMul fp32 [128x512]x[512x512]").</param>
/// <param name="MacsPerRun">Multiply-accumulates of one run.</param>
/// <param name="MedianMs">Median of the per-round times, ms.</param>
/// <param name="BestMs">Fastest timed run, ms.</param>
public sealed record KernelRate(string Kernel, long MacsPerRun, double MedianMs, double BestMs)
{
    /// <summary>
    /// The peak: MAC/s of the fastest run. A run cannot be faster than the hardware allows, only slower
    /// (preempted, sharing caches with other jobs), so the fastest of many short runs is the estimate
    /// of the peak that holds on a loaded machine; the roofline uses it.
    /// </summary>
    public double MacsPerSecond => Roofline.MacsPerSecond(MacsPerRun, BestMs);

    /// <summary>MAC/s at the median round: what the load left of the peak while it was measured.</summary>
    public double MedianMacsPerSecond => Roofline.MacsPerSecond(MacsPerRun, MedianMs);
}

/// <summary>The machine's measured peak MAC rates in ONNX Runtime, float32 and int8, on one thread count.</summary>
/// <param name="IntraOpThreads">The intra-op threads the kernels ran on (0 = ORT's default, one per core).</param>
/// <param name="Rounds">Rounds timed (each kernel once or more per round, in rotating order).</param>
/// <param name="Float32">The float32 MatMul.</param>
/// <param name="Int8">The uint8 × int8 MatMulInteger.</param>
public sealed record MachinePeaks(int IntraOpThreads, int Rounds, KernelRate Float32, KernelRate Int8)
{
    /// <summary>Int8 peak ÷ float32 peak: the most int8 can gain on compute alone.</summary>
    public double Int8OverFloat32 => Int8.MacsPerSecond / Float32.MacsPerSecond;

    /// <summary>
    /// The better of two measurements, kernel by kernel (the higher peak rate): a run can only be slowed
    /// by load, so the fastest seen in any measurement of the same process is the best estimate; rounds add up.
    /// </summary>
    /// <exception cref="ArgumentException">The two were measured on different thread counts.</exception>
    public static MachinePeaks Best(MachinePeaks a, MachinePeaks b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.IntraOpThreads != b.IntraOpThreads)
            throw new ArgumentException($"peaks on {a.IntraOpThreads} and {b.IntraOpThreads} threads are not comparable");
        static KernelRate Faster(KernelRate x, KernelRate y) => y.MacsPerSecond > x.MacsPerSecond ? y : x;
        return new MachinePeaks(a.IntraOpThreads, a.Rounds + b.Rounds, Faster(a.Float32, b.Float32), Faster(a.Int8, b.Int8));
    }
}

/// <summary>
/// Measures the machine's peak multiply-accumulate rates the way a model meets them: compute-bound
/// micro-kernels in ONNX Runtime itself, on the caller's thread count with spinning off. The float
/// kernel is a float32 MatMul of a graph input [M, K] by a constant [K, N] (ORT prepacks it for its
/// SGEMM); the int8 kernel is MatMulInteger of a uint8 input by a constant int8 [K, N] (ORT's
/// u8×s8 GEMM, VNNI where the CPU has it), the integer core of QLinearConv, QLinearMatMul and
/// DynamicQuantizeMatMul. The default size (128 × 512 × 512, 33.5 M MACs) is compute-bound and
/// cache-resident (the float weight is 1 MiB), and short (about 0.3-0.7 ms on 2 cores): on the
/// shared 2-core machine larger products (256 × 1024 × 1024) measured 3-10× below this rate,
/// because a run of tens of milliseconds is preempted by other jobs and shares the cache with
/// them, which is the load and not the kernel. The two are timed together in rounds
/// (<see cref="InterleavedRounds"/>), so a burst of load hits both.
/// </summary>
public static class PeakMacRate
{
    /// <summary>Builds, times and reports the two kernels.</summary>
    /// <param name="runtime">Threads (the count the models are timed on); spinning is turned off, profiling ignored. Null for ORT's default threads.</param>
    /// <param name="options">Kernel size and rounds; null for <see cref="PeakMacRateOptions.Default"/>.</param>
    /// <exception cref="RuntimeException">ONNX Runtime cannot run a kernel.</exception>
    public static MachinePeaks Measure(RuntimeOptions? runtime = null, PeakMacRateOptions? options = null)
    {
        runtime ??= RuntimeOptions.Default;
        options ??= PeakMacRateOptions.Default;
        var (float32, int8) = Kernels(options);
        var timing = new RuntimeOptions(runtime.IntraOpThreads, runtime.InterOpThreads, runtime.Optimization, allowSpinning: false);
        using var f32 = new OnnxRuntimeSession(float32.Model, timing);
        using var i8 = new OnnxRuntimeSession(int8.Model, timing);
        var times = InterleavedRounds.Measure([f32, i8], [float32.Inputs, int8.Inputs], options.Rounds);
        return FromTimes(runtime.IntraOpThreads, float32, times[0], int8, times[1]);
    }

    /// <summary>
    /// The two micro-kernels with their inputs, to be timed alongside other models (<see cref="RooflineTiming"/>):
    /// a kernel timed in the same rounds as a model meets the same load.
    /// </summary>
    public static (PeakKernel Float32, PeakKernel Int8) Kernels(PeakMacRateOptions? options = null)
    {
        options ??= PeakMacRateOptions.Default;
        var random = new Random(0);
        var floats = new float[options.Rows * options.Depth];
        for (int i = 0; i < floats.Length; i++) floats[i] = (float)(random.NextDouble() * 2 - 1);
        var bytes = new byte[options.Rows * options.Depth];
        random.NextBytes(bytes);
        string size = $"[{options.Rows}x{options.Depth}]x[{options.Depth}x{options.Columns}]";
        return (new PeakKernel($"MatMul fp32 {size}", Float32MatMul(options.Rows, options.Depth, options.Columns),
                new Dictionary<string, RuntimeTensor> { ["a"] = RuntimeTensor.FromFloats(floats, options.Rows, options.Depth) }, options.MacsPerRun),
            new PeakKernel($"MatMulInteger u8xs8 {size}", Int8MatMul(options.Rows, options.Depth, options.Columns),
                new Dictionary<string, RuntimeTensor> { ["a"] = RuntimeTensor.FromBytes(bytes, options.Rows, options.Depth) }, options.MacsPerRun));
    }

    /// <summary>The peaks from the kernels' timings: the fastest run gives the peak rate, the median round the rate under the load.</summary>
    /// <exception cref="ArgumentException">The kernels were not timed in the same rounds, or not at all.</exception>
    public static MachinePeaks FromTimes(int intraOpThreads, PeakKernel float32, RoundTimes float32Times, PeakKernel int8, RoundTimes int8Times)
    {
        ArgumentNullException.ThrowIfNull(float32);
        ArgumentNullException.ThrowIfNull(int8);
        ArgumentNullException.ThrowIfNull(float32Times);
        ArgumentNullException.ThrowIfNull(int8Times);
        if (float32Times.RoundMs.Length == 0 || float32Times.RoundMs.Length != int8Times.RoundMs.Length || float32Times.RunMs.Length == 0 || int8Times.RunMs.Length == 0)
            throw new ArgumentException($"both kernels need the same rounds, at least one: {float32Times.RoundMs.Length} and {int8Times.RoundMs.Length}");
        static KernelRate Rate(PeakKernel k, RoundTimes t) => new(k.Name, k.MacsPerRun, Roofline.Median(t.RoundMs), t.RunMs.Min());
        return new MachinePeaks(intraOpThreads, float32Times.RoundMs.Length, Rate(float32, float32Times), Rate(int8, int8Times));
    }

    /// <summary>Y = A · B: float input <c>a</c> [rows, depth] times a constant float [depth, columns] (seeded values in [-1, 1)).</summary>
    public static OnnxModel Float32MatMul(int rows, int depth, int columns)
    {
        var model = Start("peak_fp32_matmul", OnnxDataType.Float, rows, depth, columns);
        var random = new Random(1);
        var b = new float[depth * columns];
        for (int i = 0; i < b.Length; i++) b[i] = (float)(random.NextDouble() * 2 - 1);
        model.Graph.AddInitializer(OnnxTensor.FromFloats("b", [depth, columns], b));
        model.Graph.AddNode(new OnnxNode("MatMul", ["a", "b"], ["y"], "matmul"));
        model.Graph.AddOutput(new OnnxValueInfo("y", OnnxDataType.Float, [new OnnxDim(rows, null), new OnnxDim(columns, null)]));
        return model;
    }

    /// <summary>Y = MatMulInteger(A, B): uint8 input <c>a</c> [rows, depth] times a constant int8 [depth, columns] (seeded values), int32 output; zero points 0.</summary>
    public static OnnxModel Int8MatMul(int rows, int depth, int columns)
    {
        var model = Start("peak_int8_matmul", OnnxDataType.UInt8, rows, depth, columns);
        var b = new byte[depth * columns];
        new Random(1).NextBytes(b);
        model.Graph.AddInitializer(OnnxTensor.FromBytes("b", OnnxDataType.Int8, [depth, columns], b));
        model.Graph.AddNode(new OnnxNode("MatMulInteger", ["a", "b"], ["y"], "matmul"));
        model.Graph.AddOutput(new OnnxValueInfo("y", OnnxDataType.Int32, [new OnnxDim(rows, null), new OnnxDim(columns, null)]));
        return model;
    }

    private static OnnxModel Start(string name, OnnxDataType input, int rows, int depth, int columns)
    {
        OptionChecks.Positive(rows, "rows");
        OptionChecks.Positive(depth, "depth");
        OptionChecks.Positive(columns, "columns");
        var model = OnnxModel.Create(name, opset: 13);
        model.Graph.AddInput(new OnnxValueInfo("a", input, [new OnnxDim(rows, null), new OnnxDim(depth, null)]));
        return model;
    }

}

/// <summary>A peak-rate micro-kernel: its model, the inputs it runs on, and the MACs of one run.</summary>
/// <param name="Name">What it computes, with its size.</param>
/// <param name="Model">The one-node model.</param>
/// <param name="Inputs">Its seeded input.</param>
/// <param name="MacsPerRun">Multiply-accumulates of one run.</param>
public sealed record PeakKernel(string Name, OnnxModel Model, IReadOnlyDictionary<string, RuntimeTensor> Inputs, long MacsPerRun);
