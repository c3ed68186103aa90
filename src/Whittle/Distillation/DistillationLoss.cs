using TorchSharp;
using Whittle.Training;
using static TorchSharp.torch;

namespace Whittle.Distillation;

/// <summary>
/// The <see cref="TrainingLoss"/> of logit distillation: the <see cref="Teacher"/> runs on every
/// batch the student sees and the loss is <see cref="LogitDistillation.Loss(TorchSharp.torch.Tensor, TorchSharp.torch.Tensor, TorchSharp.torch.Tensor, double, double)"/>,
/// α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(s, y). α can change between epochs
/// (<see cref="Alpha"/>; the distillation job anneals it when the teacher stops helping), T cannot.
/// With <see cref="StandardizeLogits"/> the soft term compares Z-scored logits
/// (<see cref="LogitDistillation.StandardizedLoss"/>), which leaves the scale of the student's logits
/// free: epochs on the labels alone then use logits times <see cref="HardScale"/>, fitted by
/// temperature scaling on the first such batch, so the switch does not meet near-uniform
/// probabilities with full-size gradients.
/// </summary>
public sealed class DistillationLoss : TrainingLoss
{
    private double _alpha;

    /// <summary>A loss that distills <paramref name="teacher"/> (not owned: the caller disposes it).</summary>
    /// <param name="teacher">The teacher.</param>
    /// <param name="temperature">T, positive.</param>
    /// <param name="alpha">α in [0, 1]: the weight of the soft term.</param>
    /// <param name="hints">Hint layers whose loss is added while the teacher teaches (α above 0); the teacher must return their teacher values after its logits. Null for logits only.</param>
    /// <param name="standardizeLogits">Compare standardized logits in the soft term (Sun et al., CVPR 2024).</param>
    public DistillationLoss(Teacher teacher, double temperature, double alpha, HintLayers? hints = null, bool standardizeLogits = false)
    {
        StandardizeLogits = standardizeLogits;
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

    /// <summary>Whether the soft term compares standardized logits.</summary>
    public bool StandardizeLogits { get; }

    /// <summary>
    /// The factor on the student's logits in epochs trained on the labels alone (α = 0) after
    /// standardized distillation: fitted on the first such batch (<see cref="TemperatureScaling.Fit"/>),
    /// then kept; null until then, and always null without standardization.
    /// </summary>
    public double? HardScale { get; private set; }

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
        if (_alpha == 0) return StandardizeLogits ? ScaledHardTerm(outputs, labels) : LogitDistillation.HardTerm(outputs, labels);
        var teacher = Teacher.Run(input);
        try
        {
            var logits = StandardizeLogits
                ? LogitDistillation.StandardizedLoss(outputs, teacher[0], labels, Temperature, _alpha)
                : LogitDistillation.Loss(outputs, teacher[0], labels, Temperature, _alpha);
            if (Hints is null) return logits;
            using (logits)
            using (var hints = Hints.Loss(teacher[1..]))
                return Engine.HeldScalars.Add(logits, hints);
        }
        finally
        {
            foreach (var t in teacher) t.Dispose();
        }
    }

    /// <summary>Forgets <see cref="HardScale"/>, for the next seed's run.</summary>
    internal void ResetHardScale() => HardScale = null;

    private Tensor ScaledHardTerm(Tensor outputs, Tensor labels)
    {
        if (HardScale is null)
        {
            using var detached = outputs.detach();
            using var cpu = detached.to(ScalarType.Float32).cpu().contiguous();
            using var classes = labels.cpu();
            HardScale = TemperatureScaling.Fit(cpu.data<float>().ToArray(), (int)outputs.shape[1], classes.data<long>().ToArray().Select(l => (int)l).ToArray());
        }
        using var scale = HardScale.Value.ToScalar();
        using var scaled = outputs.mul(scale);
        return LogitDistillation.HardTerm(scaled, labels);
    }

    /// <inheritdoc />
    // α is left out: it is a state of the run, and the checkpoint fingerprint must not change when it is annealed.
    public override string ToString() => (Hints is null
        ? FormattableString.Invariant($"Distillation(teacher={Teacher.Label}, T={Temperature}")
        : FormattableString.Invariant($"Distillation(teacher={Teacher.Label}, T={Temperature}, hints={Hints}, beta={Hints.Weight}")) + (StandardizeLogits ? ", standardized)" : ")");
}
