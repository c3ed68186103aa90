namespace Whittle.Training;

/// <summary>What one finished epoch produced: one row of the training history.</summary>
/// <param name="Epoch">The epoch, 1-based.</param>
/// <param name="TrainingLoss">Mean training loss per sample over the epoch (measured in training mode, while the weights changed).</param>
/// <param name="ValidationLoss">Mean loss per validation sample after the epoch, or null without a validation set.</param>
/// <param name="ValidationAccuracy">Fraction of validation samples classified correctly, or null without a validation set.</param>
/// <param name="ValidationMacroF1">Unweighted mean F1 over all classes on the validation set, or null without a validation set.</param>
/// <param name="LearningRate">The learning rate of the epoch's last optimizer step.</param>
/// <param name="Seconds">Wall-clock time of the epoch, training and validation.</param>
/// <param name="Steps">Optimizer steps taken in the epoch.</param>
/// <param name="SamplesPerSecond">Training samples per second of training time (validation excluded).</param>
public sealed record EpochRecord(
    int Epoch,
    double TrainingLoss,
    double? ValidationLoss,
    double? ValidationAccuracy,
    double? ValidationMacroF1,
    double LearningRate,
    double Seconds,
    int Steps,
    double SamplesPerSecond);
