using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Training;

namespace Whittle.Distillation;

/// <summary>What one compressed student trains with: the options (their loss distils), the hint layers its module attaches, the callbacks of the run.</summary>
/// <param name="Trainer">The fine-tuning options with the recovery loss.</param>
/// <param name="Hints">The hint layers to attach to the trained module (<see cref="HintLayers.Attach"/>), or null.</param>
/// <param name="Callbacks">Callbacks the trainer runs (the teacher's early stop).</param>
public sealed record StudentTraining(TrainerOptions Trainer, HintLayers? Hints, IReadOnlyList<TrainingCallback> Callbacks);

/// <summary>
/// The teacher of one recovery run (<see cref="RecoveryOptions.Begin"/>) and the training each
/// compressed student gets from it: logit distillation, plus hint layers
/// (<see cref="RecoveryOptions.FeatureLayers"/>) paired against the student as it is at that
/// moment, because structured pruning changes a student's widths at every step while the teacher
/// and its values stay. Owns the teacher's ONNX Runtime session.
/// </summary>
public sealed class RecoveryTeaching : IDisposable
{
    private readonly RecoveryOptions _options;
    private readonly OnnxModel? _teacherModel;
    private readonly IReadOnlyDictionary<string, long[]>? _teacherShapes;

    internal RecoveryTeaching(TrainerOptions trainer, OnnxModel source, RecoveryOptions options)
    {
        _options = options;
        BaseTrainer = trainer;
        if (options.TeacherFor(source) is not { } model || options.Alpha == 0) return;
        _teacherModel = model;
        IReadOnlyList<string>? values = null;
        if (options.FeatureLayers is { } layers)
        {
            _teacherShapes = IntermediateCapture.ValueShapes(model);
            var sourceShapes = ReferenceEquals(model, source) ? _teacherShapes : IntermediateCapture.ValueShapes(source);
            values = Pair(layers, source, sourceShapes).Select(p => p.TeacherValue).ToList();
        }
        Teacher = new Teacher(model, values);
    }

    /// <summary>The fine-tuning options without the teacher.</summary>
    public TrainerOptions BaseTrainer { get; }

    /// <summary>The teacher, or null when nobody teaches (the labels alone).</summary>
    public Teacher? Teacher { get; }

    private int _epochsPrepared;

    /// <summary>
    /// The fine-tuning options for <paramref name="student"/> (a compressed copy of the source: its
    /// values keep their names) and the hint layers its module must attach before training
    /// (<see cref="HintLayers.Attach"/>); null hints for logits only or no teacher. The callbacks
    /// turn the teacher off after <see cref="RecoveryOptions.DistillFraction"/> of the epochs of
    /// <see cref="BaseTrainer"/>, counting the epochs of every student prepared before this one
    /// (a structured schedule trains each of its steps as a run of its own).
    /// </summary>
    /// <param name="student">The compressed model about to train.</param>
    /// <param name="epochs">The epochs this student trains (its share of <see cref="BaseTrainer"/>'s).</param>
    /// <exception cref="InvalidOptionException">The student's stages no longer pair with the teacher values chosen at the start.</exception>
    public StudentTraining For(OnnxModel student, int epochs)
    {
        ArgumentNullException.ThrowIfNull(student);
        int offset = _epochsPrepared;
        _epochsPrepared += epochs;
        if (Teacher is null) return new StudentTraining(BaseTrainer, null, []);
        HintLayers? hints = null;
        if (_options.FeatureLayers is { } layers)
        {
            var pairs = Pair(layers, student, IntermediateCapture.ValueShapes(student));
            if (!pairs.Select(p => p.TeacherValue).SequenceEqual(Teacher.FeatureValues))
                throw new InvalidOptionException(nameof(RecoveryOptions.FeatureLayers),
                    $"the compressed model's stages pair with teacher values {string.Join(", ", pairs.Select(p => p.TeacherValue))}, not with {string.Join(", ", Teacher.FeatureValues)} chosen before compression; name the pairs explicitly");
            hints = new HintLayers(pairs, _options.FeatureWeight);
            LastHints = hints;
        }
        var loss = new DistillationLoss(Teacher, _options.Temperature, _options.Alpha, hints);
        int last = _options.LastDistilledEpoch(BaseTrainer.Epochs);
        TrainingCallback[] callbacks = last >= BaseTrainer.Epochs ? [] : [new EarlyStoppedTeacher(loss, _options.Alpha, offset, last)];
        return new StudentTraining(BaseTrainer.WithLoss(loss, BaseTrainer.Monitor), hints, callbacks);
    }

    /// <summary>α while the run's epoch (counted over every student of the recovery) is at most the last distilled one, then 0.</summary>
    private sealed class EarlyStoppedTeacher(DistillationLoss loss, double alpha, int offset, int lastDistilled) : TrainingCallback
    {
        public override void OnEpochStart(TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> module, int epoch) =>
            loss.Alpha = offset + epoch <= lastDistilled ? alpha : 0;
    }

    /// <summary>The hint layers of the last student <see cref="For"/> prepared, or null.</summary>
    public HintLayers? LastHints { get; private set; }

    /// <summary>Who taught and how, in one line: "distilled from X (T 2, α 0.5); hint layers (β 1): s [8x14x14] -> t [16x14x14], ..." or "labels only".</summary>
    public string Describe()
    {
        if (Teacher is null) return "labels only (no teacher)";
        int last = _options.LastDistilledEpoch(BaseTrainer.Epochs);
        var text = FormattableString.Invariant($"distilled from {Teacher.Label} (T {_options.Temperature}, α {_options.Alpha}")
            + (last >= BaseTrainer.Epochs ? ")" : FormattableString.Invariant($", epochs 1-{last} of {BaseTrainer.Epochs}, then labels only)"));
        if (LastHints is { } hints)
            text += "; " + hints.Describe();
        return text;
    }

    private IReadOnlyList<FeatureLayerPair> Pair(string layers, OnnxModel student, IReadOnlyDictionary<string, long[]> studentShapes) =>
        FeatureLayerPairing.Pair(layers, student, studentShapes, _teacherModel!, _teacherShapes!, nameof(RecoveryOptions.FeatureLayers));

    /// <inheritdoc />
    public void Dispose() => Teacher?.Dispose();
}
