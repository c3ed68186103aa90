namespace Whittle.Pruning;

/// <summary>How structured channel pruning picks the channels to remove. Immutable; validated here.</summary>
public sealed class ChannelPruningOptions
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="ratio">Fraction of each group's channels to remove (per layer) or of all prunable channels (global), in [0, 1).</param>
    /// <param name="importance">How channels are ranked.</param>
    /// <param name="scope">Per-layer ratio or one global ranking (scores normalized by each group's mean).</param>
    /// <param name="roundTo">Kept channels per group are a multiple of this (e.g. 8 for SIMD-friendly widths); 1 for none.</param>
    /// <param name="exclusions">Producer layers whose output channels stay; null for none.</param>
    public ChannelPruningOptions(double ratio, ImportanceCriterion importance = ImportanceCriterion.L1, MagnitudeScope scope = MagnitudeScope.LayerWise,
        int roundTo = 1, PruningExclusions? exclusions = null)
    {
        if (!(ratio >= 0 && ratio < 1)) throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "the channel ratio must be in [0, 1)");
        if (!Enum.IsDefined(importance)) throw new ArgumentOutOfRangeException(nameof(importance), importance, "unknown importance");
        if (!Enum.IsDefined(scope)) throw new ArgumentOutOfRangeException(nameof(scope), scope, "unknown scope");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(roundTo);
        Ratio = ratio;
        Importance = importance;
        Scope = scope;
        RoundTo = roundTo;
        Exclusions = exclusions ?? PruningExclusions.None;
    }

    /// <summary>Fraction of channels to remove.</summary>
    public double Ratio { get; }

    /// <summary>How channels are ranked.</summary>
    public ImportanceCriterion Importance { get; }

    /// <summary>Per-layer or global.</summary>
    public MagnitudeScope Scope { get; }

    /// <summary>Kept channels are a multiple of this.</summary>
    public int RoundTo { get; }

    /// <summary>Producer layers whose output channels stay.</summary>
    public PruningExclusions Exclusions { get; }

    /// <summary>The same rules with another ratio (steps of an iterative schedule).</summary>
    public ChannelPruningOptions WithRatio(double ratio) => new(ratio, Importance, Scope, RoundTo, Exclusions);
}
