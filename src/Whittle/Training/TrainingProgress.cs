namespace Whittle.Training;

/// <summary>Whether a <see cref="TrainingProgress"/> reports an optimizer step or a finished epoch.</summary>
public enum TrainingProgressKind
{
    /// <summary>An optimizer step has finished; the validation fields are null.</summary>
    Step,

    /// <summary>An epoch has finished, validation included, and its checkpoint is written.</summary>
    EpochEnd,
}

/// <summary>
/// One progress report of a running <see cref="Trainer"/>, enough to draw a progress bar: sent
/// after every optimizer step and once more at the end of every epoch.
/// </summary>
/// <param name="Kind">A step or an epoch end.</param>
/// <param name="Epoch">The current epoch, 1-based.</param>
/// <param name="TotalEpochs">The epochs the run will train at most.</param>
/// <param name="Step">Optimizer steps finished in this epoch.</param>
/// <param name="StepsPerEpoch">Optimizer steps in one epoch.</param>
/// <param name="GlobalStep">Optimizer steps finished in the whole run.</param>
/// <param name="Loss">Mean training loss per sample of this epoch so far.</param>
/// <param name="LearningRate">The learning rate of the last step.</param>
/// <param name="SamplesPerSecond">Training samples per second in this epoch so far.</param>
/// <param name="ValidationLoss">At an epoch end with a validation set: its mean loss; else null.</param>
/// <param name="ValidationAccuracy">At an epoch end with a validation set: its accuracy; else null.</param>
/// <param name="ValidationMacroF1">At an epoch end with a validation set: its macro-F1; else null.</param>
/// <param name="MonitoredValue">At an epoch end: the value of <see cref="TrainerOptions.Monitor"/>; else null.</param>
public sealed record TrainingProgress(
    TrainingProgressKind Kind,
    int Epoch,
    int TotalEpochs,
    int Step,
    int StepsPerEpoch,
    long GlobalStep,
    double Loss,
    double LearningRate,
    double SamplesPerSecond,
    double? ValidationLoss = null,
    double? ValidationAccuracy = null,
    double? ValidationMacroF1 = null,
    double? MonitoredValue = null);
