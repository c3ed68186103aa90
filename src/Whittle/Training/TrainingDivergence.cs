using System.Globalization;

namespace Whittle.Training;

/// <summary>What a finished run's history says about divergence: nothing, a warning, or a failure that must not be written.</summary>
/// <param name="Failed">True when the trained model is unusable (chance level, or the weights kept are from a run whose loss exploded).</param>
/// <param name="Message">One line for the user, naming the epochs and suggesting a learning rate; null when the run is fine.</param>
public sealed record DivergenceVerdict(bool Failed, string? Message)
{
    /// <summary>The run is fine.</summary>
    public static DivergenceVerdict Fine { get; } = new(false, null);
}

/// <summary>
/// The divergence guard: a run whose best validation accuracy is at chance level, or whose training
/// loss grew by orders of magnitude, produced a model nobody wants, even when every loss stayed
/// finite (a loss of 2e14 is finite). Pure: it reads the history only.
/// </summary>
public static class TrainingDivergence
{
    /// <summary>How many times the lowest epoch loss the last one may reach before the run counts as exploded.</summary>
    public const double LossGrowthLimit = 100;

    /// <summary>Accuracy this far above chance (1 / classes) still counts as chance level.</summary>
    public const double ChanceMargin = 0.02;

    /// <summary>
    /// A chance-level run failed (rather than just not learned yet) when some epoch's loss reached
    /// this many times ln(classes), the loss of predicting every class alike: only logits blown up
    /// by too large steps get there.
    /// </summary>
    public const double UniformLossMultiple = 10;

    /// <summary>Diagnoses a run.</summary>
    /// <param name="history">Every epoch of the run, in order.</param>
    /// <param name="bestEpoch">The epoch whose weights the model has (1-based).</param>
    /// <param name="classes">Classes of a classifier (2 or more), or null when accuracy does not apply (ranking pairs).</param>
    /// <param name="learningRate">The run's base learning rate, for the suggestion; null when unknown.</param>
    public static DivergenceVerdict Diagnose(IReadOnlyList<EpochRecord> history, int bestEpoch, int? classes, double? learningRate)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0) return DivergenceVerdict.Fine;
        var kept = history[Math.Clamp(bestEpoch, 1, history.Count) - 1];
        double lowest = history.Min(e => e.TrainingLoss);
        var last = history[^1];
        bool exploded = lowest > 0 && last.TrainingLoss >= LossGrowthLimit * lowest;
        string lr = learningRate is { } r ? string.Create(CultureInfo.InvariantCulture, $"; the learning rate {r:G3} is likely too high, try {r / 10:G3}") : "; try a lower learning rate";
        if (classes is >= 2 && kept.ValidationAccuracy is { } accuracy && accuracy <= 1.0 / classes.Value + ChanceMargin)
        {
            bool blownUp = history.Max(e => e.TrainingLoss) >= UniformLossMultiple * Math.Log(classes.Value);
            var where = string.Create(CultureInfo.InvariantCulture,
                $"the best epoch ({kept.Epoch}) has validation accuracy {accuracy * 100:F2}% with {classes} classes (chance {100.0 / classes.Value:F2}%); loss {history[0].TrainingLoss:G3} in epoch 1, {last.TrainingLoss:G3} in epoch {last.Epoch}");
            return blownUp
                ? new DivergenceVerdict(true, $"training ended at chance level: {where}{lr}")
                : new DivergenceVerdict(false, $"the model is at chance level: {where}; it may need more epochs, more data or another learning rate");
        }
        if (exploded && kept.Epoch == last.Epoch)
            return new DivergenceVerdict(true, string.Create(CultureInfo.InvariantCulture,
                $"training diverged: the loss grew from {lowest:G3} to {last.TrainingLoss:G3} (epoch {last.Epoch}), and those are the weights kept{lr}"));
        if (exploded)
            return new DivergenceVerdict(false, string.Create(CultureInfo.InvariantCulture,
                $"the loss grew from {lowest:G3} to {last.TrainingLoss:G3} by epoch {last.Epoch}; the model keeps epoch {kept.Epoch}'s weights{lr}"));
        return DivergenceVerdict.Fine;
    }
}
