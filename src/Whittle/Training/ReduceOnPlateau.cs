namespace Whittle.Training;

/// <summary>How <see cref="ReduceOnPlateau.Threshold"/> measures a significant improvement.</summary>
public enum ThresholdMode
{
    /// <summary>Better than best · (1 ∓ threshold): a fraction of the best value.</summary>
    Relative,

    /// <summary>Better than best ∓ threshold: an absolute amount.</summary>
    Absolute,
}

/// <summary>
/// PyTorch's <c>ReduceLROnPlateau</c>: after each epoch, when the watched metric
/// (<see cref="TrainerOptions.Monitor"/>) has not improved significantly for more than
/// <see cref="Patience"/> epochs, the learning rate is multiplied by <see cref="Factor"/> (never
/// below <see cref="MinimumLearningRate"/>), then <see cref="Cooldown"/> epochs pass before bad
/// epochs count again.
/// </summary>
/// <remarks>
/// The reduction is kept as a multiplier on the <see cref="LearningRateSchedule"/>'s value, so it
/// combines with a warm-up or any other schedule; over the constant schedule it gives exactly
/// PyTorch's learning rates. The multiplier is a pure function of the metric history (replayed
/// by <see cref="MultiplierAfter"/>), which is how a resumed run recovers it.
/// </remarks>
public sealed class ReduceOnPlateau
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="factor">Multiplier applied at each reduction, in (0, 1).</param>
    /// <param name="patience">Epochs without significant improvement tolerated before reducing; zero or positive.</param>
    /// <param name="threshold">What counts as a significant improvement; zero or positive.</param>
    /// <param name="thresholdMode">Whether <paramref name="threshold"/> is relative or absolute.</param>
    /// <param name="cooldown">Epochs after a reduction during which bad epochs are not counted; zero or positive.</param>
    /// <param name="minimumLearningRate">The learning rate is never reduced below this; zero or positive.</param>
    /// <param name="epsilon">Reductions smaller than this are skipped; zero or positive.</param>
    public ReduceOnPlateau(double factor = 0.1, int patience = 10, double threshold = 1e-4, ThresholdMode thresholdMode = ThresholdMode.Relative,
        int cooldown = 0, double minimumLearningRate = 0, double epsilon = 1e-8)
    {
        OptionChecks.InRange(factor, nameof(Factor), 0, 1, includeMinimum: false);
        OptionChecks.NonNegative(patience, nameof(Patience));
        OptionChecks.NonNegative(threshold, nameof(Threshold));
        OptionChecks.Defined(thresholdMode, nameof(ThresholdMode));
        OptionChecks.NonNegative(cooldown, nameof(Cooldown));
        OptionChecks.NonNegative(minimumLearningRate, nameof(MinimumLearningRate));
        OptionChecks.NonNegative(epsilon, nameof(Epsilon));
        Factor = factor;
        Patience = patience;
        Threshold = threshold;
        ThresholdMode = thresholdMode;
        Cooldown = cooldown;
        MinimumLearningRate = minimumLearningRate;
        Epsilon = epsilon;
    }

    /// <summary>Multiplier applied at each reduction.</summary>
    public double Factor { get; }

    /// <summary>Epochs without significant improvement tolerated before reducing.</summary>
    public int Patience { get; }

    /// <summary>What counts as a significant improvement.</summary>
    public double Threshold { get; }

    /// <summary>Whether <see cref="Threshold"/> is relative or absolute.</summary>
    public ThresholdMode ThresholdMode { get; }

    /// <summary>Epochs after a reduction during which bad epochs are not counted.</summary>
    public int Cooldown { get; }

    /// <summary>The learning rate is never reduced below this.</summary>
    public double MinimumLearningRate { get; }

    /// <summary>Reductions smaller than this are skipped.</summary>
    public double Epsilon { get; }

    /// <summary>
    /// The factor on the base learning rate after the epochs whose watched metric values are
    /// <paramref name="metrics"/> (oldest first): 1 until the first reduction, then
    /// <see cref="Factor"/>, <see cref="Factor"/>², ..., floored at
    /// <see cref="MinimumLearningRate"/> / <paramref name="baseLearningRate"/>.
    /// </summary>
    /// <param name="metrics">The watched metric of every finished epoch.</param>
    /// <param name="mode">Whether smaller or larger is better.</param>
    /// <param name="baseLearningRate">The rate the multiplier applies to, for the floor and <see cref="Epsilon"/>.</param>
    public double MultiplierAfter(IReadOnlyList<double> metrics, MetricMode mode, double baseLearningRate)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown metric mode.");
        if (!(baseLearningRate > 0) || !double.IsFinite(baseLearningRate))
            throw new ArgumentOutOfRangeException(nameof(baseLearningRate), baseLearningRate, "Must be positive and finite.");

        // A literal replay of torch.optim.lr_scheduler.ReduceLROnPlateau.step with lr = base · multiplier.
        double multiplier = 1;
        double best = MetricRules.Worst(mode);
        int badEpochs = 0, cooldownLeft = 0;
        foreach (double current in metrics)
        {
            if (IsBetter(current, best, mode))
            {
                best = current;
                badEpochs = 0;
            }
            else
            {
                badEpochs++;
            }
            if (cooldownLeft > 0)
            {
                cooldownLeft--;
                badEpochs = 0;
            }
            if (badEpochs > Patience)
            {
                double oldRate = baseLearningRate * multiplier;
                double newRate = Math.Max(oldRate * Factor, MinimumLearningRate);
                if (oldRate - newRate > Epsilon) multiplier = newRate / baseLearningRate;
                cooldownLeft = Cooldown;
                badEpochs = 0;
            }
        }
        return multiplier;
    }

    private bool IsBetter(double current, double best, MetricMode mode) => (mode, ThresholdMode) switch
    {
        (MetricMode.Min, ThresholdMode.Relative) => current < best * (1 - Threshold),
        (MetricMode.Min, ThresholdMode.Absolute) => current < best - Threshold,
        (MetricMode.Max, ThresholdMode.Relative) => current > best * (Threshold + 1),
        _ => current > best + Threshold,
    };

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant(
        $"ReduceOnPlateau(factor={Factor}, patience={Patience}, threshold={Threshold}, mode={ThresholdMode}, cooldown={Cooldown}, minLr={MinimumLearningRate}, eps={Epsilon})");
}
