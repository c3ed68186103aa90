namespace Whittle.Training;

/// <summary>
/// Stops training when the watched metric (<see cref="TrainerOptions.Monitor"/>) has not improved
/// by more than <see cref="MinDelta"/> for <see cref="Patience"/> epochs in a row (Keras'
/// <c>EarlyStopping</c>). The decision is a pure function of the metric history, so a resumed
/// run decides exactly as an uninterrupted one.
/// </summary>
public sealed class EarlyStopping
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="patience">Epochs without improvement to tolerate before stopping; positive.</param>
    /// <param name="minDelta">The smallest change that counts as an improvement; zero or positive.</param>
    public EarlyStopping(int patience = 5, double minDelta = 0)
    {
        OptionChecks.Positive(patience, nameof(Patience));
        OptionChecks.NonNegative(minDelta, nameof(MinDelta));
        Patience = patience;
        MinDelta = minDelta;
    }

    /// <summary>Epochs without improvement to tolerate before stopping.</summary>
    public int Patience { get; }

    /// <summary>The smallest change that counts as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>
    /// True when training should stop after the last of <paramref name="metrics"/> (one value per
    /// finished epoch, oldest first): the best value so far was set <see cref="Patience"/> or more
    /// epochs ago, where "better" means beating the best by more than <see cref="MinDelta"/>.
    /// </summary>
    /// <param name="metrics">The watched metric of every finished epoch.</param>
    /// <param name="mode">Whether smaller or larger is better.</param>
    public bool ShouldStop(IReadOnlyList<double> metrics, MetricMode mode)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown metric mode.");
        double best = MetricRules.Worst(mode);
        int wait = 0;
        foreach (double value in metrics)
        {
            if (MetricRules.Improves(value, best, mode, MinDelta))
            {
                best = value;
                wait = 0;
            }
            else
            {
                wait++;
            }
        }
        return wait >= Patience;
    }

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant($"EarlyStopping(patience={Patience}, minDelta={MinDelta})");
}
