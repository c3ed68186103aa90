namespace Whittle.Pruning;

/// <summary>How structured channel pruning picks the channels to remove. Immutable; validated here.</summary>
public sealed class ChannelPruningOptions
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="ratio">Fraction of each group's channels to remove (per layer) or of all prunable channels (global), in [0, 1).</param>
    /// <param name="importance">How channels are ranked (the built-in criteria).</param>
    /// <param name="scope">Per-layer ratio or one global ranking (scores normalized by each group's mean).</param>
    /// <param name="roundTo">Kept channels per group are a multiple of this (e.g. 8 for SIMD-friendly widths); 1 for none.</param>
    /// <param name="minChannels">Every group keeps at least this many channels (all when it has fewer); e.g. 16, below which ORT's int8 convolution leaves its fast kernel.</param>
    /// <param name="exclusions">Producer layers whose output channels stay; null for none.</param>
    /// <param name="scorer">
    /// A channel-importance rule of your own, used instead of <paramref name="importance"/> (which must
    /// then stay at its default); null for the built-in criterion.
    /// </param>
    /// <exception cref="InvalidOptionException">A value is out of range, or a scorer is given together with a non-default importance.</exception>
    public ChannelPruningOptions(double ratio, ImportanceCriterion importance = ImportanceCriterion.L1, MagnitudeScope scope = MagnitudeScope.LayerWise,
        int roundTo = 1, PruningExclusions? exclusions = null, IChannelImportanceScorer? scorer = null, int minChannels = 1)
    {
        OptionChecks.InRange(ratio, nameof(Ratio), 0, 1);
        OptionChecks.Defined(importance, nameof(Importance));
        OptionChecks.Defined(scope, nameof(Scope));
        OptionChecks.Positive(roundTo, nameof(RoundTo));
        OptionChecks.Positive(minChannels, nameof(MinChannels));
        if (scorer is not null)
        {
            if (string.IsNullOrWhiteSpace(scorer.Name))
                throw new InvalidOptionException(nameof(Scorer), $"the scorer {scorer.GetType().FullName} has a blank name");
            if (importance is not (ImportanceCriterion.L1 or ImportanceCriterion.Auto))
                throw new InvalidOptionException(nameof(Scorer),
                    $"the scorer '{scorer.Name}' replaces the built-in importance, but Importance is also set to {importance}; set one of them");
        }
        Ratio = ratio;
        Importance = importance;
        Scope = scope;
        RoundTo = roundTo;
        MinChannels = minChannels;
        Exclusions = exclusions ?? PruningExclusions.None;
        Scorer = scorer;
    }

    /// <summary>Fraction of channels to remove.</summary>
    public double Ratio { get; }

    /// <summary>How channels are ranked when no <see cref="Scorer"/> is given.</summary>
    public ImportanceCriterion Importance { get; }

    /// <summary>Per-layer or global.</summary>
    public MagnitudeScope Scope { get; }

    /// <summary>Kept channels are a multiple of this.</summary>
    public int RoundTo { get; }

    /// <summary>Every group keeps at least this many channels.</summary>
    public int MinChannels { get; }

    /// <summary>Producer layers whose output channels stay.</summary>
    public PruningExclusions Exclusions { get; }

    /// <summary>The user's importance rule, or null for <see cref="Importance"/>.</summary>
    public IChannelImportanceScorer? Scorer { get; }

    /// <summary>The importance as plans, reports and metadata name it: the scorer's name, or the criterion.</summary>
    public string ImportanceName => Scorer?.Name ?? Importance.ToString();

    /// <summary>Whether ranking needs loss gradients (Taylor, or a scorer that asks for them).</summary>
    public bool NeedsGradients => Scorer?.NeedsGradients ?? Importance == ImportanceCriterion.Taylor;

    /// <summary>The same rules with another ratio (steps of an iterative schedule).</summary>
    public ChannelPruningOptions WithRatio(double ratio) => new(ratio, Importance, Scope, RoundTo, Exclusions, Scorer, MinChannels);

    /// <summary>These rules with <see cref="ImportanceCriterion.Auto"/> decided: Taylor when <paramref name="fineTunes"/> (there are training data for its gradients), L1 otherwise; unchanged for any other criterion or a scorer.</summary>
    public ChannelPruningOptions Resolved(bool fineTunes) => Importance != ImportanceCriterion.Auto || Scorer is not null ? this
        : new(Ratio, fineTunes ? ImportanceCriterion.Taylor : ImportanceCriterion.L1, Scope, RoundTo, Exclusions, Scorer, MinChannels);
}
