using Whittle.Training;
using static TorchSharp.torch;

namespace Whittle.Distillation;

/// <summary>
/// The <see cref="TrainingLoss"/> of logit distillation: the <see cref="Teacher"/> runs on every
/// batch the student sees and the loss is <see cref="LogitDistillation.Loss(TorchSharp.torch.Tensor, TorchSharp.torch.Tensor, TorchSharp.torch.Tensor, double, double)"/>,
/// α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(s, y). α can change between epochs
/// (<see cref="Alpha"/>; the distillation job anneals it when the teacher stops helping), T cannot.
/// </summary>
public sealed class DistillationLoss : TrainingLoss
{
    private double _alpha;

    /// <summary>A loss that distills <paramref name="teacher"/> (not owned: the caller disposes it).</summary>
    /// <param name="teacher">The teacher.</param>
    /// <param name="temperature">T, positive.</param>
    /// <param name="alpha">α in [0, 1]: the weight of the soft term.</param>
    /// <param name="hints">Hint layers whose loss is added while the teacher teaches (α above 0); the teacher must return their teacher values after its logits. Null for logits only.</param>
    public DistillationLoss(Teacher teacher, double temperature, double alpha, HintLayers? hints = null)
    {
        if (hints is not null && teacher is not null && !teacher.FeatureValues.SequenceEqual(hints.TeacherValues))
            throw new ArgumentException("the teacher must return the hint layers' teacher values, in their order", nameof(hints));
        Hints = hints;
        ArgumentNullException.ThrowIfNull(teacher);
        OptionChecks.Positive(temperature, nameof(Temperature));
        OptionChecks.InRange(alpha, nameof(Alpha), 0, 1, includeMinimum: true, includeMaximum: true);
        Teacher = teacher;
        Temperature = temperature;
        _alpha = alpha;
    }

    /// <summary>The hint layers, or null.</summary>
    public HintLayers? Hints { get; }

    /// <summary>The teacher.</summary>
    public Teacher Teacher { get; }

    /// <summary>T.</summary>
    public double Temperature { get; }

    /// <summary>α, the weight of the soft term; settable between epochs, in [0, 1].</summary>
    public double Alpha
    {
        get => _alpha;
        set
        {
            OptionChecks.InRange(value, nameof(Alpha), 0, 1, includeMinimum: true, includeMaximum: true);
            _alpha = value;
        }
    }

    /// <summary>
    /// Plain cross-entropy on the labels (the hard term): validation scores the task, not the
    /// teacher's targets, so epochs distilled at different α (or not at all) compare, and
    /// validation does not run the teacher.
    /// </summary>
    public override TrainingLoss ValidationLoss { get; } = new CrossEntropy();

    /// <inheritdoc />
    public override Tensor Compute(Tensor input, Tensor outputs, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(outputs);
        if (_alpha == 0) return LogitDistillation.HardTerm(outputs, labels);
        var teacher = Teacher.Run(input);
        try
        {
            var logits = LogitDistillation.Loss(outputs, teacher[0], labels, Temperature, _alpha);
            if (Hints is null) return logits;
            using (logits)
            using (var hints = Hints.Loss(teacher[1..]))
                return logits.add(hints);
        }
        finally
        {
            foreach (var t in teacher) t.Dispose();
        }
    }

    /// <inheritdoc />
    // α is left out: it is a state of the run, and the checkpoint fingerprint must not change when it is annealed.
    public override string ToString() => Hints is null
        ? FormattableString.Invariant($"Distillation(teacher={Teacher.Label}, T={Temperature})")
        : FormattableString.Invariant($"Distillation(teacher={Teacher.Label}, T={Temperature}, hints={Hints}, beta={Hints.Weight})");
}
