using System.Globalization;

namespace Whittle.Training;

/// <summary>Turns a <see cref="Trainer"/>'s step and epoch reports into a job's stages: one stage per epoch, with the epoch's figures as its detail when it ends.</summary>
public static class TrainingProgressReporter
{
    /// <summary>A training progress sink that forwards to <paramref name="job"/> (null when <paramref name="job"/> is).</summary>
    /// <param name="job">The job's progress.</param>
    /// <param name="what">Names the training in the stage, e.g. "fine-tuning" or "seed 1".</param>
    public static IProgress<TrainingProgress>? ForJob(IProgress<JobProgress>? job, string what)
    {
        if (job is null) return null;
        return new InlineProgress<TrainingProgress>(p =>
        {
            var stage = $"{what} epoch {p.Epoch}/{p.TotalEpochs}";
            job.Report(p.Kind == TrainingProgressKind.EpochEnd
                ? new JobProgress(stage, p.StepsPerEpoch, p.StepsPerEpoch, Describe(p), Finished: true)
                : new JobProgress(stage, p.Step, Math.Max(1, p.StepsPerEpoch),
                    string.Create(CultureInfo.InvariantCulture, $"loss {p.Loss:0.0000}, lr {p.LearningRate:G3}, {p.SamplesPerSecond:0} samples/s")));
        });
    }

    /// <summary>An epoch's figures in one line: training loss, validation accuracy (or loss), learning rate, speed.</summary>
    public static string Describe(TrainingProgress p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var validation = p.ValidationAccuracy is { } a
            ? string.Create(CultureInfo.InvariantCulture, $"validation accuracy {a * 100:F2}%")
            : p.ValidationLoss is { } l ? string.Create(CultureInfo.InvariantCulture, $"validation loss {l:0.0000}") : "no validation";
        return string.Create(CultureInfo.InvariantCulture, $"loss {p.Loss:0.0000}, {validation}, lr {p.LearningRate:G3}, {p.SamplesPerSecond:0} samples/s");
    }
}
