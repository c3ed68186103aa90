namespace Whittle.Pruning;

/// <summary>When during fine-tuning the target sparsity (or channel ratio) is reached.</summary>
public enum PruningSchedule
{
    /// <summary>Prune to the target once, then fine-tune with the masks (or the smaller graph) fixed.</summary>
    OneShot,

    /// <summary>Prune in equal steps at the start of every fine-tuning epoch: epoch e of E reaches e/E of the target.</summary>
    Iterative,

    /// <summary>Automated gradual pruning (Zhu &amp; Gupta): the cubic <see cref="Sparsity.AgpTarget"/>, re-pruned every few optimizer steps.</summary>
    Agp,
}

/// <summary>How pruning is interleaved with fine-tuning. Immutable; every default lives here.</summary>
public sealed class PruningScheduleOptions
{
    /// <summary>
    /// The default share of the fine-tuning steps by which AGP reaches the target: half, so the
    /// second half recovers at the final sparsity (0.75 left the last quarter at a near-zero cosine
    /// learning rate: 87.87 % against 88.00 % on the 3-conv CNN, docs/distillation.md).
    /// </summary>
    public const double DefaultAgpEndFraction = 0.5;

    /// <summary>Validates and stores the schedule.</summary>
    /// <param name="schedule">One-shot, iterative or AGP.</param>
    /// <param name="agpEndFraction">AGP reaches the final sparsity after this fraction of the fine-tuning steps, leaving the rest to recover; in (0, 1].</param>
    /// <param name="agpFrequency">AGP recomputes the masks every this many optimizer steps (Δt); positive.</param>
    /// <param name="initialSparsity">AGP's s_i, in [0, 1).</param>
    public PruningScheduleOptions(PruningSchedule schedule = PruningSchedule.OneShot, double agpEndFraction = DefaultAgpEndFraction, int agpFrequency = 50, double initialSparsity = 0)
    {
        OptionChecks.Defined(schedule, nameof(Schedule));
        OptionChecks.InRange(agpEndFraction, nameof(AgpEndFraction), 0, 1, includeMinimum: false, includeMaximum: true);
        OptionChecks.Positive(agpFrequency, nameof(AgpFrequency));
        OptionChecks.InRange(initialSparsity, nameof(InitialSparsity), 0, 1);
        Schedule = schedule;
        AgpEndFraction = agpEndFraction;
        AgpFrequency = agpFrequency;
        InitialSparsity = initialSparsity;
    }

    /// <summary>One-shot, iterative or AGP.</summary>
    public PruningSchedule Schedule { get; }

    /// <summary>Fraction of the fine-tuning steps after which AGP reaches the final sparsity.</summary>
    public double AgpEndFraction { get; }

    /// <summary>Optimizer steps between AGP mask updates.</summary>
    public int AgpFrequency { get; }

    /// <summary>AGP's initial sparsity.</summary>
    public double InitialSparsity { get; }

    /// <summary>
    /// The fraction of the final target in force after <paramref name="globalStep"/> steps of a run
    /// of <paramref name="totalSteps"/> steps in <paramref name="epochs"/> epochs, as a sparsity for
    /// a final sparsity <paramref name="final"/>. One-shot is at the target from the start.
    /// </summary>
    public double TargetAt(long globalStep, long totalSteps, int epochs, double final)
    {
        switch (Schedule)
        {
            case PruningSchedule.OneShot:
                return final;
            case PruningSchedule.Iterative:
                long perEpoch = Math.Max(1, totalSteps / Math.Max(1, epochs));
                long epoch = Math.Min(epochs, globalStep / perEpoch + 1);
                return final * epoch / epochs;
            default:
                double end = Math.Max(1, Math.Round(AgpEndFraction * totalSteps));
                if (globalStep >= end) return final;
                // Masks change only every Δt steps; between updates the last target holds.
                long quantized = globalStep / AgpFrequency * AgpFrequency;
                return Sparsity.AgpTarget(quantized, 0, end, Math.Min(InitialSparsity, final), final);
        }
    }
}
