using Whittle.Onnx;
using Whittle.Training;

namespace Whittle.Distillation;

/// <summary>Who teaches the recovery training of a compressed model.</summary>
public enum TeacherChoice
{
    /// <summary>The uncompressed source model (the default: it is what the compressed model should still compute).</summary>
    Source,

    /// <summary>No teacher: the labels alone.</summary>
    None,

    /// <summary>Another model (<see cref="RecoveryOptions.TeacherModel"/>).</summary>
    Model,
}

/// <summary>
/// How a compressed model is trained back to its accuracy (fine-tuning after pruning, and later
/// quantization-aware training): with its folded BatchNorms re-inserted
/// (<see cref="BatchNormReinsertion"/>), and distilled from a teacher (by default the model it was
/// compressed from). Immutable; validated here.
/// </summary>
public sealed class RecoveryOptions
{
    /// <summary>
    /// The default temperature of recovery distillation, 2 (with α 0.5, as <c>distill</c>): against T 4, α 0.7,
    /// the BN-folded PyTorch 3-conv CNN at 90 % global sparsity (AGP, 2 epochs) kept 88.53 % against 88.31 %,
    /// and the ResNet-8 16/32/64 at 50 % channels (Taylor, lr 4e-3, 3 epochs) 90.12 % against 89.62 % (docs/distillation.md).
    /// </summary>
    public const double DefaultTemperature = 2;

    /// <summary>The default weight of the soft (teacher) term (see <see cref="DefaultTemperature"/>).</summary>
    public const double DefaultAlpha = 0.5;

    /// <summary>The default share of the fine-tuning epochs the teacher teaches.</summary>
    public const double DefaultDistillFraction = 1;

    /// <summary>The defaults: BatchNorm re-insertion on, the source model as teacher, T = 2, α = 0.5.</summary>
    public static RecoveryOptions Default { get; } = new();

    /// <summary>Neither BatchNorm re-insertion nor a teacher: plain fine-tuning on the labels.</summary>
    public static RecoveryOptions None { get; } = new(reinsertBatchNorm: false, teacher: TeacherChoice.None);

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="reinsertBatchNorm">Train with BatchNorms re-inserted after the Conv/Gemm layers that have none, folded back afterwards.</param>
    /// <param name="teacher">Who teaches.</param>
    /// <param name="teacherModel">The teacher when <paramref name="teacher"/> is <see cref="TeacherChoice.Model"/>; otherwise null.</param>
    /// <param name="temperature">T of the soft term, positive.</param>
    /// <param name="alpha">α, the weight of the soft term, in [0, 1].</param>
    /// <param name="featureLayers">Hint layers (FitNets) added to the logit loss while the teacher teaches: <see cref="ModelDistillationOptions.AutoFeatureLayers"/> pairs the last feature of every stage, <c>"s1=t1,s2=t2"</c> names compressed-model and teacher values; null for logits only.</param>
    /// <param name="featureWeight">β, the weight of the mean relative hint loss; positive.</param>
    /// <param name="distillFraction">The share of the fine-tuning epochs the teacher teaches, in (0, 1]; the rest train on the labels alone (early-stopped distillation, Cho &amp; Hariharan 2019). 1 teaches throughout.</param>
    public RecoveryOptions(bool reinsertBatchNorm = true, TeacherChoice teacher = TeacherChoice.Source, OnnxModel? teacherModel = null,
        double temperature = DefaultTemperature, double alpha = DefaultAlpha, string? featureLayers = null,
        double featureWeight = ModelDistillationOptions.DefaultFeatureWeight, double distillFraction = DefaultDistillFraction)
    {
        OptionChecks.InRange(distillFraction, nameof(DistillFraction), 0, 1, includeMinimum: false, includeMaximum: true);
        DistillFraction = distillFraction;
        FeatureLayerPairing.CheckSetting(featureLayers);
        OptionChecks.Positive(featureWeight, nameof(FeatureWeight));
        if (featureLayers is not null && teacher == TeacherChoice.None)
            throw new InvalidOptionException(nameof(FeatureLayers), "hint layers need a teacher, but Teacher is None");
        FeatureLayers = featureLayers?.Trim();
        FeatureWeight = featureWeight;
        OptionChecks.Defined(teacher, nameof(Teacher));
        OptionChecks.Positive(temperature, nameof(Temperature));
        OptionChecks.InRange(alpha, nameof(Alpha), 0, 1, includeMinimum: true, includeMaximum: true);
        if (teacher == TeacherChoice.Model && teacherModel is null)
            throw new InvalidOptionException(nameof(TeacherModel), "Teacher is Model, but no teacher model was given");
        if (teacher != TeacherChoice.Model && teacherModel is not null)
            throw new InvalidOptionException(nameof(TeacherModel), $"a teacher model was given, but Teacher is {teacher}; use TeacherChoice.Model");
        ReinsertBatchNorm = reinsertBatchNorm;
        Teacher = teacher;
        TeacherModel = teacherModel;
        Temperature = temperature;
        Alpha = alpha;
    }

    /// <summary>Train with re-inserted BatchNorms.</summary>
    public bool ReinsertBatchNorm { get; }

    /// <summary>Who teaches.</summary>
    public TeacherChoice Teacher { get; }

    /// <summary>The teacher model, with <see cref="TeacherChoice.Model"/>.</summary>
    public OnnxModel? TeacherModel { get; }

    /// <summary>T.</summary>
    public double Temperature { get; }

    /// <summary>α.</summary>
    public double Alpha { get; }

    /// <summary>The hint layers (<see cref="ModelDistillationOptions.AutoFeatureLayers"/> or explicit pairs), or null for logits only.</summary>
    public string? FeatureLayers { get; }

    /// <summary>β, the weight of the hint losses.</summary>
    public double FeatureWeight { get; }

    /// <summary>The share of the fine-tuning epochs the teacher teaches.</summary>
    public double DistillFraction { get; }

    /// <summary>The last fine-tuning epoch (1-based) of <paramref name="epochs"/> the teacher teaches.</summary>
    public int LastDistilledEpoch(int epochs) => Math.Max(1, (int)Math.Round(DistillFraction * epochs, MidpointRounding.AwayFromZero));

    /// <summary>The teacher for compressing <paramref name="source"/>, or null for none.</summary>
    public OnnxModel? TeacherFor(OnnxModel source) => Teacher switch
    {
        TeacherChoice.Source => source,
        TeacherChoice.Model => TeacherModel,
        _ => null,
    };

    /// <summary>
    /// <paramref name="trainer"/> with its loss replaced by distillation from the teacher for
    /// <paramref name="source"/>, and the teacher to dispose after training; the trainer unchanged
    /// (and no teacher) without one.
    /// </summary>
    public (TrainerOptions Trainer, Teacher? Teacher) Apply(TrainerOptions trainer, OnnxModel source)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(source);
        if (FeatureLayers is not null)
            throw new InvalidOptionException(nameof(FeatureLayers), "this job distils logits only; hint layers are used by pruning's recovery (Begin)");
        if (DistillFraction < 1)
            throw new InvalidOptionException(nameof(DistillFraction), "this job distils throughout; the teacher's early stop is used by pruning's recovery (Begin)");
        if (TeacherFor(source) is not { } model || Alpha == 0) return (trainer, null);
        var teacher = new Teacher(model);
        return (trainer.WithLoss(new DistillationLoss(teacher, Temperature, Alpha), trainer.Monitor), teacher);
    }

    /// <summary>
    /// Starts the recovery of models compressed from <paramref name="source"/>: opens the teacher
    /// (with the values its hint layers need) once; <see cref="RecoveryTeaching.For"/> then gives
    /// each compressed student its loss. Dispose the result after training.
    /// </summary>
    /// <param name="trainer">The fine-tuning options (their loss is replaced where a teacher teaches).</param>
    /// <param name="source">The uncompressed model.</param>
    /// <exception cref="InvalidOptionException">Hint layers were asked for and none pair, or a named value does not exist.</exception>
    public RecoveryTeaching Begin(TrainerOptions trainer, OnnxModel source)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(source);
        return new RecoveryTeaching(trainer, source, this);
    }
}
