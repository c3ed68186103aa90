namespace Whittle.Training;

/// <summary>
/// Training cannot go on: the loss became NaN or infinite, or a checkpoint cannot be resumed.
/// When the run has a run directory, its last checkpoint is the one written at the end of the
/// last good epoch.
/// </summary>
public sealed class TrainingException : WhittleException
{
    /// <summary>An error about the run as a whole (e.g. a checkpoint that does not fit).</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause, if any.</param>
    public TrainingException(string message, Exception? innerException = null) : base(message, innerException)
    {
    }

    /// <summary>An error at one optimizer step.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="epoch">The epoch, 1-based.</param>
    /// <param name="step">The step within the epoch, 1-based.</param>
    /// <param name="globalStep">The step within the run, 1-based.</param>
    /// <param name="learningRate">The learning rate of the step.</param>
    public TrainingException(string message, int epoch, int step, long globalStep, double learningRate) : base(message)
    {
        Epoch = epoch;
        Step = step;
        GlobalStep = globalStep;
        LearningRate = learningRate;
    }

    /// <summary>The epoch, 1-based, where the error happened at a step; else null.</summary>
    public int? Epoch { get; }

    /// <summary>The step within the epoch, 1-based, where the error happened at a step; else null.</summary>
    public int? Step { get; }

    /// <summary>The step within the run, 1-based, where the error happened at a step; else null.</summary>
    public long? GlobalStep { get; }

    /// <summary>The learning rate of the failing step; else null.</summary>
    public double? LearningRate { get; }
}
