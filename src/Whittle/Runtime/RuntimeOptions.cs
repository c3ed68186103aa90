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
/// Explicit ONNX Runtime session settings. Immutable; validated here; every default lives here
/// and nowhere else. The <c>With...</c> methods give a copy with one setting changed.
/// </summary>
public sealed class RuntimeOptions
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="intraOpThreads">Threads for parallelism inside an operator; 0 means ONNX Runtime's default (one per core).</param>
    /// <param name="interOpThreads">Threads for running independent operators in parallel (1 = sequential execution).</param>
    /// <param name="optimization">Graph optimization level.</param>
    /// <param name="allowSpinning">
    /// Whether idle intra-op threads spin. Spinning lowers the latency of one session but, with
    /// two sessions in one process on a small machine, their spinning threads steal each other's
    /// cores and skew comparisons by up to 2x; benchmarks that compare models turn it off.
    /// </param>
    /// <param name="profilePrefix">
    /// When set, ONNX Runtime records a per-node profile (Chrome trace JSON) in a file starting
    /// with this prefix; <see cref="OnnxRuntimeSession.EndProfiling"/> returns its path.
    /// </param>
    /// <exception cref="InvalidOptionException">A thread count is negative, or the level unknown.</exception>
    public RuntimeOptions(int intraOpThreads = 0, int interOpThreads = 1, GraphOptimization optimization = GraphOptimization.All, bool allowSpinning = true,
        string? profilePrefix = null)
    {
        if (intraOpThreads < 0) throw OptionChecks.Invalid(nameof(IntraOpThreads), "0 (the default) or positive", intraOpThreads);
        if (interOpThreads < 0) throw OptionChecks.Invalid(nameof(InterOpThreads), "0 (the default) or positive", interOpThreads);
        OptionChecks.Defined(optimization, nameof(Optimization));
        IntraOpThreads = intraOpThreads;
        InterOpThreads = interOpThreads;
        Optimization = optimization;
        AllowSpinning = allowSpinning;
        ProfilePrefix = profilePrefix;
    }

    /// <summary>Threads for parallelism inside an operator; 0 means ONNX Runtime's default (one per core).</summary>
    public int IntraOpThreads { get; }

    /// <summary>Threads for running independent operators in parallel (1 = sequential execution).</summary>
    public int InterOpThreads { get; }

    /// <summary>Graph optimization level.</summary>
    public GraphOptimization Optimization { get; }

    /// <summary>Whether idle intra-op threads spin.</summary>
    public bool AllowSpinning { get; }

    /// <summary>The profile file prefix, when profiling.</summary>
    public string? ProfilePrefix { get; }

    /// <summary>The default options.</summary>
    public static RuntimeOptions Default { get; } = new();

    /// <summary>Options for timing several sessions side by side in one process.</summary>
    public static RuntimeOptions ForComparison(int intraOpThreads = 0) => new(intraOpThreads, allowSpinning: false);

    /// <summary>A copy with another intra-op thread count.</summary>
    public RuntimeOptions WithIntraOpThreads(int threads) => new(threads, InterOpThreads, Optimization, AllowSpinning, ProfilePrefix);

    /// <summary>A copy with another graph optimization level.</summary>
    public RuntimeOptions WithOptimization(GraphOptimization optimization) => new(IntraOpThreads, InterOpThreads, optimization, AllowSpinning, ProfilePrefix);

    /// <summary>A copy that profiles into files starting with <paramref name="prefix"/> (null for none).</summary>
    public RuntimeOptions WithProfilePrefix(string? prefix) => new(IntraOpThreads, InterOpThreads, Optimization, AllowSpinning, prefix);
}
