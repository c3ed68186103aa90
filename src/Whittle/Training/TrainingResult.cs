namespace Whittle.Training;

/// <summary>Why a run ended.</summary>
public enum StopReason
{
    /// <summary>Every configured epoch was trained.</summary>
    CompletedAllEpochs,

    /// <summary><see cref="TrainerOptions.EarlyStopping"/> ended the run before the last epoch.</summary>
    EarlyStopped,
}

/// <summary>The outcome of <see cref="Trainer.Fit(Whittle.Data.TensorDataset)"/> or <see cref="Trainer.Resume(Whittle.Data.TensorDataset)"/>.</summary>
/// <param name="History">One record per trained epoch, oldest first (including epochs trained before a resume).</param>
/// <param name="StopReason">Why the run ended.</param>
/// <param name="Monitor">The metric that chose the best epoch.</param>
/// <param name="BestEpoch">The epoch, 1-based, with the best <paramref name="Monitor"/> value.</param>
/// <param name="BestValue">The best <paramref name="Monitor"/> value.</param>
/// <param name="RestoredBestWeights">True when the module holds the best epoch's weights rather than the last epoch's.</param>
/// <param name="GlobalSteps">Optimizer steps of the whole run.</param>
/// <param name="ResumedAfterEpoch">For a resumed run, the epochs its checkpoint had finished; else null.</param>
public sealed record TrainingResult(
    IReadOnlyList<EpochRecord> History,
    StopReason StopReason,
    TrainingMetric Monitor,
    int BestEpoch,
    double BestValue,
    bool RestoredBestWeights,
    long GlobalSteps,
    int? ResumedAfterEpoch)
{
    /// <summary>The record of the last trained epoch.</summary>
    public EpochRecord LastEpoch => History[^1];

    /// <summary>The record of <see cref="BestEpoch"/>.</summary>
    public EpochRecord BestEpochRecord => History[BestEpoch - 1];
}
