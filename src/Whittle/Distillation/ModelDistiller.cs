using System.Text.Json.Serialization;
using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Training;
using static TorchSharp.torch;

namespace Whittle.Distillation;

/// <summary>How the weight α of the teacher's soft targets changes over a distillation run.</summary>
public enum AlphaPolicy
{
    /// <summary>
    /// α while the teacher still leads the student on validation data by at least
    /// <see cref="ModelDistillationOptions.TeacherLead"/>, then labels only for the rest of the
    /// run; and never past <see cref="ModelDistillationOptions.EarlyStopFraction"/> of the epochs
    /// (early-stopped distillation, Cho &amp; Hariharan 2019). The default: a teacher that cannot
    /// teach this student any more stops pulling it towards its own mistakes, and says so.
    /// </summary>
    Adaptive,

    /// <summary>α for the whole run.</summary>
    Fixed,

    /// <summary>α for the first <see cref="ModelDistillationOptions.EarlyStopFraction"/> of the epochs, then labels only.</summary>
    EarlyStop,
}

/// <summary>Options of the distillation job: the training recipe (the same as <see cref="ModelTrainer"/>'s) and the distillation loss. Immutable; validated here.</summary>
public sealed class ModelDistillationOptions
{
    /// <summary>The default temperature, 2: the width-8 student of the BN-folded 3-conv CNN (5 epochs, adaptive α)
    /// scored 82.01 % at T 1, 83.13 % at T 2 and 82.59 % at T 4, against 82.74 % trained alone (docs/distillation.md).
    /// </summary>
    public const double DefaultTemperature = 2;

    /// <summary>The default weight of the soft term.</summary>
    public const double DefaultAlpha = 0.5;

    /// <summary>
    /// Whether the soft term compares standardized logits by default: yes. On the width-8 student of the
    /// BN-folded 3-conv CNN (5 epochs, 3 seeds, T 2, α 0.5, adaptive; docs/distillation.md) it gained
    /// +1.15 points over training alone with <c>train</c>'s defaults and +0.65 at lr 2e-3, where Hinton's
    /// loss on raw logits gained +0.20 (lr 2e-3). (With α 0.9 and the teacher kept to the last epoch it had
    /// ended 0.8 point below training alone, hence α 0.5 and the early stop of the adaptive policy.)
    /// </summary>
    public const bool DefaultStandardizeLogits = true;

    /// <summary>The default lead (validation accuracy, fraction) the teacher must keep over the student for α to stay on (<see cref="AlphaPolicy.Adaptive"/>).</summary>
    public const double DefaultTeacherLead = 0.02;

    /// <summary>The default share of the epochs distilled before labels alone take over (<see cref="AlphaPolicy.EarlyStop"/>, and the limit of <see cref="AlphaPolicy.Adaptive"/>).</summary>
    public const double DefaultEarlyStopFraction = 0.6;

    /// <summary>The default weight β of the hint-layer losses, when hint layers are asked for.</summary>
    public const double DefaultFeatureWeight = 1;

    /// <summary>The value of <see cref="FeatureLayers"/> that pairs the layers by stage (<see cref="FeatureLayerPairing.ByStage(OnnxModel, OnnxModel)"/>).</summary>
    public const string AutoFeatureLayers = "auto";

    /// <summary>The defaults.</summary>
    public static ModelDistillationOptions Default { get; } = new();

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="training">The training recipe and job settings (epochs, optimizer, schedule, seed, BatchNorm re-insertion, ...); null for <see cref="ModelTrainingOptions.Default"/>. Its loss must be null (the distillation loss replaces it).</param>
    /// <param name="temperature">T, positive.</param>
    /// <param name="alpha">α, the weight of the soft term, in (0, 1].</param>
    /// <param name="policy">How α changes over the run.</param>
    /// <param name="teacherLead">With <see cref="AlphaPolicy.Adaptive"/>, the validation-accuracy lead (a fraction, e.g. 0.02 = 2 points) below which the teacher stops teaching.</param>
    /// <param name="earlyStopFraction">The share of the epochs distilled at most, in (0, 1].</param>
    /// <param name="featureLayers">Hint layers (FitNets) added to the logit loss: <see cref="AutoFeatureLayers"/> pairs the last feature of every stage the models share, <c>"s1=t1,s2=t2"</c> names student and teacher values; null for logits only.</param>
    /// <param name="featureWeight">β, the weight of the summed hint losses; positive.</param>
    /// <param name="standardizeLogits">Compare Z-scored logits in the soft term (Sun et al., "Logit Standardization in Knowledge Distillation", CVPR 2024), and calibrate the student's output scale on the validation part after training (temperature scaling), the default; false for Hinton's loss on raw logits.</param>
    public ModelDistillationOptions(ModelTrainingOptions? training = null, double temperature = DefaultTemperature, double alpha = DefaultAlpha,
        AlphaPolicy policy = AlphaPolicy.Adaptive, double teacherLead = DefaultTeacherLead, double earlyStopFraction = DefaultEarlyStopFraction,
        string? featureLayers = null, double featureWeight = DefaultFeatureWeight, bool standardizeLogits = DefaultStandardizeLogits)
    {
        StandardizeLogits = standardizeLogits;
        FeatureLayerPairing.CheckSetting(featureLayers);
        OptionChecks.Positive(featureWeight, nameof(FeatureWeight));
        FeatureLayers = featureLayers?.Trim();
        FeatureWeight = featureWeight;
        training ??= ModelTrainingOptions.Default;
        if (training.Loss is not null) throw new InvalidOptionException(nameof(Training), "the training options give a loss; distillation replaces it with its own");
        if (training.Callbacks is not null) throw new InvalidOptionException(nameof(Training), "the training options carry callbacks; distillation sets its own α policy");
        OptionChecks.Positive(temperature, nameof(Temperature));
        OptionChecks.InRange(alpha, nameof(Alpha), 0, 1, includeMinimum: false, includeMaximum: true);
        OptionChecks.Defined(policy, nameof(Policy));
        OptionChecks.InRange(teacherLead, nameof(TeacherLead), 0, 1, includeMinimum: true, includeMaximum: false);
        OptionChecks.InRange(earlyStopFraction, nameof(EarlyStopFraction), 0, 1, includeMinimum: false, includeMaximum: true);
        Training = training;
        Temperature = temperature;
        Alpha = alpha;
        Policy = policy;
        TeacherLead = teacherLead;
        EarlyStopFraction = earlyStopFraction;
    }

    /// <summary>The training recipe.</summary>
    public ModelTrainingOptions Training { get; }

    /// <summary>Whether the soft term compares standardized logits (and the output scale is calibrated after).</summary>
    public bool StandardizeLogits { get; }

    /// <summary>The hint layers (<see cref="AutoFeatureLayers"/> or explicit pairs), or null for logits only.</summary>
    public string? FeatureLayers { get; }

    /// <summary>β, the weight of the hint losses.</summary>
    public double FeatureWeight { get; }

    /// <summary>T.</summary>
    public double Temperature { get; }

    /// <summary>α at the start.</summary>
    public double Alpha { get; }

    /// <summary>How α changes.</summary>
    public AlphaPolicy Policy { get; }

    /// <summary>The lead the teacher must keep (adaptive).</summary>
    public double TeacherLead { get; }

    /// <summary>The share of epochs distilled at most.</summary>
    public double EarlyStopFraction { get; }

    /// <summary>The last epoch (1-based) that may use the teacher under the early-stop limit.</summary>
    internal int LastDistilledEpoch => Policy == AlphaPolicy.Fixed ? Training.Trainer.Epochs
        : Math.Max(1, (int)Math.Round(EarlyStopFraction * Training.Trainer.Epochs, MidpointRounding.AwayFromZero));
}

/// <summary>What the distillation job did.</summary>
/// <param name="Training">The training run of the student (model, epochs, test figures).</param>
/// <param name="Teacher">The teacher's file or graph name.</param>
/// <param name="TeacherValidationAccuracy">The teacher's accuracy on the validation part, in ONNX Runtime.</param>
/// <param name="TeacherTestAccuracy">The teacher's test accuracy in ONNX Runtime, when there is a test split.</param>
/// <param name="Temperature">T.</param>
/// <param name="Policy">The α policy.</param>
/// <param name="AlphaByEpoch">α of every epoch trained (first seed).</param>
/// <param name="Notes">What the policy decided, and why.</param>
/// <param name="Alpha">α at the start.</param>
/// <param name="StandardizedLogits">Whether the soft term compared standardized logits.</param>
/// <param name="OutputScale">The factor temperature scaling folded into the student's output (standardized logits), or null.</param>
public sealed record ModelDistillationResult(ModelTrainingResult Training, string Teacher, double TeacherValidationAccuracy, double? TeacherTestAccuracy,
    double Temperature, string Policy, IReadOnlyList<double> AlphaByEpoch, IReadOnlyList<string> Notes, double Alpha = ModelDistillationOptions.DefaultAlpha,
    bool StandardizedLogits = false, double? OutputScale = null)
{
    /// <summary>The distilled student.</summary>
    [JsonIgnore]
    public OnnxModel Model => Training.Model;

    /// <summary>Writes the student through <see cref="VerifiedModelWriter"/> (as <see cref="ModelTrainingResult.Save"/>).</summary>
    public void Save(string path) => Training.Save(path);
}

/// <summary>
/// The distillation job: trains a student ONNX model on data bound to it with Hinton's logit
/// distillation from a teacher ONNX model (run in ONNX Runtime) through <see cref="ModelTrainer"/>,
/// so the student gets exactly the recipe, checks, BatchNorm re-insertion, verification and
/// judging of <c>train</c>, with the loss of <see cref="DistillationLoss"/> and an α policy.
/// </summary>
public static class ModelDistiller
{
    /// <summary>Distills <paramref name="teacher"/> into <paramref name="student"/> (neither is modified).</summary>
    /// <param name="student">The model to train: a zoo model, a pruned copy of the teacher, or any ONNX classifier of the data.</param>
    /// <param name="teacher">The teacher: the student's input, logits over the same classes.</param>
    /// <param name="data">Labelled data bound to the student.</param>
    /// <param name="options">The recipe and the loss.</param>
    /// <param name="progress">Stages and training progress.</param>
    /// <exception cref="InvalidOptionException">The teacher does not fit the student or the data (every mismatch listed).</exception>
    public static ModelDistillationResult Distill(OnnxModel student, OnnxModel teacher, BoundData data, ModelDistillationOptions? options = null,
        IProgress<JobProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(data);
        options ??= ModelDistillationOptions.Default;
        if (data.Task != ModelTask.Classification)
            throw new InvalidOptionException("data", "distillation matches class logits; recommender interaction data is not supported");
        // The validation part ModelTrainer will hold out, so the teacher is judged where the student is.
        var (_, validation) = ModelTrainer.TrainingSplit(data, options.Training);

        HintLayers? hints = null;
        if (options.FeatureLayers is { } layers)
        {
            progress?.Report(new JobProgress("pairing hint layers", 0, 1));
            var pairs = FeatureLayerPairing.Pair(layers, student, Runtime.IntermediateCapture.ValueShapes(student), teacher, Runtime.IntermediateCapture.ValueShapes(teacher),
                nameof(ModelDistillationOptions.FeatureLayers));
            hints = new HintLayers(pairs, options.FeatureWeight);
        }
        using var runner = new Teacher(teacher, hints?.TeacherValues);
        runner.CheckFits(student, validation);
        progress?.Report(new JobProgress("judging the teacher", 0, 1));
        double teacherValidation = ModelEvaluator.Classify(teacher, validation).Accuracy;
        double? teacherTest = data.Test is { } test ? ModelEvaluator.Classify(teacher, test).Accuracy : null;

        var loss = new DistillationLoss(runner, options.Temperature, options.Alpha, hints, options.StandardizeLogits);
        var policies = new Dictionary<int, AlphaPolicyCallback>();
        var training = options.Training.WithLoss(loss, seed =>
        {
            loss.ResetHardScale();
            return [policies[seed] = new AlphaPolicyCallback(loss, options, teacherValidation)];
        }, hints is null ? null : hints.Attach);
        var result = ModelTrainer.Train(student, data, training, progress);
        var first = policies[options.Training.Trainer.Seed];
        var notes = policies.Values.SelectMany(p => p.Notes).Distinct().ToList();
        if (hints is not null)
            notes.Insert(0, hints.Describe());
        double? outputScale = null;
        if (options.StandardizeLogits)
        {
            // The soft term leaves the student's logit scale free (its probabilities end near uniform):
            // one factor fitted on the validation part makes them calibrated again; the arg-max is unchanged.
            progress?.Report(new JobProgress("calibrating the output scale", 0, 1));
            var calibration = TemperatureScaling.Calibrate(result.Model, validation);
            result = result with { Model = calibration.Model };
            outputScale = calibration.Scale;
            notes.Add(calibration.Describe());
        }
        return new ModelDistillationResult(result, runner.Label, teacherValidation, teacherTest, options.Temperature,
            options.Policy.ToString().ToLowerInvariant(), first.AlphaByEpoch, notes, options.Alpha, options.StandardizeLogits, outputScale);
    }
}

/// <summary>Sets the distillation loss's α at the start of every epoch, following the <see cref="AlphaPolicy"/>, and records why.</summary>
internal sealed class AlphaPolicyCallback : TrainingCallback
{
    private readonly DistillationLoss _loss;
    private readonly ModelDistillationOptions _options;
    private readonly double _teacherAccuracy;
    private readonly List<double> _alphas = [];
    private readonly List<string> _notes = [];
    private bool _stopped;

    public AlphaPolicyCallback(DistillationLoss loss, ModelDistillationOptions options, double teacherAccuracy)
    {
        _loss = loss;
        _options = options;
        _teacherAccuracy = teacherAccuracy;
    }

    public IReadOnlyList<double> AlphaByEpoch => _alphas;

    public IReadOnlyList<string> Notes => _notes;

    public override void OnEpochStart(nn.Module<Tensor, Tensor> module, int epoch)
    {
        if (!_stopped && _options.Policy != AlphaPolicy.Fixed && epoch > _options.LastDistilledEpoch)
        {
            _stopped = true;
            _notes.Add(FormattableString.Invariant($"distilled epochs 1-{_options.LastDistilledEpoch} of {_options.Training.Trainer.Epochs}, then labels only (early-stopped distillation)"));
        }
        _loss.Alpha = _stopped ? 0 : _options.Alpha;
        _alphas.Add(_loss.Alpha);
    }

    public override void OnEpochEnd(nn.Module<Tensor, Tensor> module, EpochRecord record)
    {
        if (_stopped || _options.Policy != AlphaPolicy.Adaptive || record.ValidationAccuracy is not { } student) return;
        double lead = _teacherAccuracy - student;
        if (lead < _options.TeacherLead)
        {
            _stopped = true;
            _notes.Add(FormattableString.Invariant(
                $"after epoch {record.Epoch} the teacher led the student by {lead * 100:0.00} points on validation data (less than {_options.TeacherLead * 100:0.##}): it has little left to teach, so the remaining epochs train on the labels only"));
        }
    }
}
