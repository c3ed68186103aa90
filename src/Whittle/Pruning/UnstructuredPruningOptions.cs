namespace Whittle.Pruning;

/// <summary>Whether magnitude pruning ranks each layer's weights separately or all weights together.</summary>
public enum MagnitudeScope
{
    /// <summary>Every layer reaches the same sparsity (capped per layer).</summary>
    LayerWise,

    /// <summary>One threshold over all layers; layers of small weights lose more.</summary>
    Global,
}

/// <summary>What global magnitude pruning ranks the weights of all layers by.</summary>
public enum GlobalRanking
{
    /// <summary>
    /// LAMP scores (<see cref="Sparsity.LampScores"/>): layer-adaptive, never empties a layer, and
    /// indifferent to the per-layer scale BatchNorm folding leaves. The default.
    /// </summary>
    Lamp,

    /// <summary>Raw |w|: one threshold over all layers, so layers of small weights (after folding, often whole layers) lose the most.</summary>
    Magnitude,
}

/// <summary>How unstructured magnitude pruning chooses the weights to zero. Immutable; validated here.</summary>
public sealed class UnstructuredPruningOptions
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="sparsity">Fraction of the prunable weights to zero, in [0, 1).</param>
    /// <param name="scope">Layer-wise or global ranking.</param>
    /// <param name="exclusions">Layers left dense; null for none.</param>
    /// <param name="layerCaps">Per node name, the largest sparsity that layer may reach; null for none.</param>
    /// <param name="ranking">With <see cref="MagnitudeScope.Global"/>, what the weights are ranked by (LAMP by default).</param>
    public UnstructuredPruningOptions(double sparsity, MagnitudeScope scope = MagnitudeScope.LayerWise, PruningExclusions? exclusions = null,
        IReadOnlyDictionary<string, double>? layerCaps = null, GlobalRanking ranking = GlobalRanking.Lamp)
    {
        OptionChecks.Defined(ranking, nameof(Ranking));
        OptionChecks.InRange(sparsity, nameof(Sparsity), 0, 1);
        OptionChecks.Defined(scope, nameof(Scope));
        var caps = new Dictionary<string, double>(layerCaps ?? new Dictionary<string, double>(), StringComparer.Ordinal);
        foreach (var (name, cap) in caps)
            if (!(cap >= 0 && cap <= 1))
                throw new InvalidOptionException(nameof(LayerCaps), $"LayerCaps must be in [0, 1], got {OptionChecks.Format(cap)} for '{name}'");
        Sparsity = sparsity;
        Scope = scope;
        Exclusions = exclusions ?? PruningExclusions.None;
        LayerCaps = caps;
        Ranking = ranking;
    }

    /// <summary>With global scope, what the weights are ranked by.</summary>
    public GlobalRanking Ranking { get; }

    /// <summary>Fraction of the prunable weights to zero.</summary>
    public double Sparsity { get; }

    /// <summary>Layer-wise or global ranking.</summary>
    public MagnitudeScope Scope { get; }

    /// <summary>Layers left dense.</summary>
    public PruningExclusions Exclusions { get; }

    /// <summary>Per node name, the largest sparsity that layer may reach.</summary>
    public IReadOnlyDictionary<string, double> LayerCaps { get; }

    /// <summary>The same rules with another target sparsity (the steps of a gradual schedule).</summary>
    public UnstructuredPruningOptions WithSparsity(double sparsity) => new(sparsity, Scope, Exclusions, LayerCaps, Ranking);
}

/// <summary>N:M semi-structured sparsity: in every M consecutive weights along the reduction axis, N are kept. Immutable.</summary>
public sealed class NmSparsityOptions
{
    /// <summary>Validates and stores the pattern.</summary>
    /// <param name="n">Weights kept per group (2 for 2:4).</param>
    /// <param name="m">Group length (4 for 2:4).</param>
    /// <param name="exclusions">Layers left dense; null for none. Layers whose reduction axis is not a multiple of M are left dense too, and reported.</param>
    public NmSparsityOptions(int n = 2, int m = 4, PruningExclusions? exclusions = null)
    {
        OptionChecks.AtLeast(m, 2, nameof(M));
        if (n < 1 || n >= m) throw OptionChecks.Invalid(nameof(N), $"in [1, M) = [1, {m})", n);
        N = n;
        M = m;
        Exclusions = exclusions ?? PruningExclusions.None;
    }

    /// <summary>Weights kept per group.</summary>
    public int N { get; }

    /// <summary>Group length.</summary>
    public int M { get; }

    /// <summary>Layers left dense.</summary>
    public PruningExclusions Exclusions { get; }

    /// <inheritdoc />
    public override string ToString() => $"{N}:{M}";
}
