namespace Whittle.Runtime;

/// <summary>How much ONNX Runtime rewrites the graph before running it.</summary>
public enum GraphOptimization
{
    /// <summary>Run the graph as written.</summary>
    Disabled,
    /// <summary>Semantics-preserving rewrites (constant folding, redundant node removal).</summary>
    Basic,
    /// <summary>Basic plus fusions (e.g. Conv+Add, attention).</summary>
    Extended,
    /// <summary>Everything, including layout changes. ONNX Runtime's default.</summary>
    All,
}

/// <summary>
/// Explicit ONNX Runtime session settings. Every default lives here and nowhere else.
/// </summary>
public sealed record RuntimeOptions
{
    /// <summary>Threads for parallelism inside an operator; 0 means ONNX Runtime's default (one per core).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Threads for running independent operators in parallel (1 = sequential execution).</summary>
    public int InterOpThreads { get; init; } = 1;

    /// <summary>Graph optimization level.</summary>
    public GraphOptimization Optimization { get; init; } = GraphOptimization.All;

    /// <summary>
    /// Whether idle intra-op threads spin. Spinning lowers the latency of one session but, with
    /// two sessions in one process on a small machine, their spinning threads steal each other's
    /// cores and skew comparisons by up to 2x; benchmarks that compare models turn it off.
    /// </summary>
    public bool AllowSpinning { get; init; } = true;

    /// <summary>
    /// When set, ONNX Runtime records a per-node profile (Chrome trace JSON) in a file starting
    /// with this prefix; <see cref="OnnxRuntimeSession.EndProfiling"/> returns its path.
    /// </summary>
    public string? ProfilePrefix { get; init; }

    /// <summary>The default options.</summary>
    public static RuntimeOptions Default { get; } = new();

    /// <summary>Options for timing several sessions side by side in one process.</summary>
    public static RuntimeOptions ForComparison(int intraOpThreads = 0) => new() { IntraOpThreads = intraOpThreads, AllowSpinning = false };

    /// <summary>Checks the values (called when a session is created).</summary>
    /// <exception cref="InvalidOptionException">A thread count is negative.</exception>
    public void Validate()
    {
        if (IntraOpThreads < 0) throw OptionChecks.Invalid(nameof(IntraOpThreads), "0 (the default) or positive", IntraOpThreads);
        if (InterOpThreads < 0) throw OptionChecks.Invalid(nameof(InterOpThreads), "0 (the default) or positive", InterOpThreads);
    }
}
