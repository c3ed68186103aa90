namespace Whittle.Training;

/// <summary>A per-epoch number the <see cref="Trainer"/> can watch for best-weights selection, early stopping and plateau detection.</summary>
public enum TrainingMetric
{
    /// <summary>Mean training loss of the epoch (per sample); lower is better.</summary>
    TrainingLoss,

    /// <summary>Mean loss on the validation set; lower is better.</summary>
    ValidationLoss,

    /// <summary>Fraction of validation samples classified correctly; higher is better.</summary>
    ValidationAccuracy,

    /// <summary>Unweighted mean F1 over all classes on the validation set; higher is better.</summary>
    ValidationMacroF1,
}

/// <summary>Whether a smaller or a larger value of a watched metric is better.</summary>
public enum MetricMode
{
    /// <summary>Smaller is better (losses).</summary>
    Min,

    /// <summary>Larger is better (accuracy, F1).</summary>
    Max,
}

/// <summary>Reads metrics from epoch records and compares them.</summary>
internal static class MetricRules
{
    /// <summary>The direction in which <paramref name="metric"/> improves.</summary>
    public static MetricMode NaturalMode(TrainingMetric metric) => metric switch
    {
        TrainingMetric.TrainingLoss or TrainingMetric.ValidationLoss => MetricMode.Min,
        TrainingMetric.ValidationAccuracy or TrainingMetric.ValidationMacroF1 => MetricMode.Max,
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown metric."),
    };

    /// <summary>True when the metric needs a validation set.</summary>
    public static bool NeedsValidation(TrainingMetric metric) => metric != TrainingMetric.TrainingLoss;

    /// <summary>The value of <paramref name="metric"/> in <paramref name="record"/>.</summary>
    public static double Read(EpochRecord record, TrainingMetric metric)
    {
        double? value = metric switch
        {
            TrainingMetric.TrainingLoss => record.TrainingLoss,
            TrainingMetric.ValidationLoss => record.ValidationLoss,
            TrainingMetric.ValidationAccuracy => record.ValidationAccuracy,
            TrainingMetric.ValidationMacroF1 => record.ValidationMacroF1,
            _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown metric."),
        };
        return value ?? throw new InvalidOperationException($"Epoch {record.Epoch} has no {metric}: there was no validation set.");
    }

    /// <summary>True when <paramref name="current"/> beats <paramref name="best"/> by more than <paramref name="minDelta"/>.</summary>
    public static bool Improves(double current, double best, MetricMode mode, double minDelta) =>
        mode == MetricMode.Min ? current < best - minDelta : current > best + minDelta;

    /// <summary>The worst possible value, so that any first value improves on it.</summary>
    public static double Worst(MetricMode mode) => mode == MetricMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
}
