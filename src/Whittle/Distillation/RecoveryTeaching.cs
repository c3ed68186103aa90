using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Training;

namespace Whittle.Distillation;

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

    /// <summary>
    /// The fine-tuning options for <paramref name="student"/> (a compressed copy of the source: its
    /// values keep their names) and the hint layers its module must attach before training
    /// (<see cref="HintLayers.Attach"/>); null hints for logits only or no teacher.
    /// </summary>
    /// <exception cref="InvalidOptionException">The student's stages no longer pair with the teacher values chosen at the start.</exception>
    public (TrainerOptions Trainer, HintLayers? Hints) For(OnnxModel student)
    {
        ArgumentNullException.ThrowIfNull(student);
        if (Teacher is null) return (BaseTrainer, null);
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
        return (BaseTrainer.WithLoss(loss, BaseTrainer.Monitor), hints);
    }

    /// <summary>The hint layers of the last student <see cref="For"/> prepared, or null.</summary>
    public HintLayers? LastHints { get; private set; }

    /// <summary>Who taught and how, in one line: "distilled from X (T 4, α 0.7); hint layers (β 1): s [8x14x14] -> t [16x14x14], ..." or "labels only".</summary>
    public string Describe()
    {
        if (Teacher is null) return "labels only (no teacher)";
        var text = FormattableString.Invariant($"distilled from {Teacher.Label} (T {_options.Temperature}, α {_options.Alpha})");
        if (LastHints is { } hints)
            text += FormattableString.Invariant($"; hint layers (β {hints.Weight}, projections trained and discarded): {string.Join(", ", hints.Pairs.Select(p => $"{p.StudentValue} [{string.Join("x", p.StudentShape)}] -> {p.TeacherValue} [{string.Join("x", p.TeacherShape)}]"))}");
        return text;
    }

    private IReadOnlyList<FeatureLayerPair> Pair(string layers, OnnxModel student, IReadOnlyDictionary<string, long[]> studentShapes)
    {
        var pairs = string.Equals(layers, ModelDistillationOptions.AutoFeatureLayers, StringComparison.OrdinalIgnoreCase)
            ? FeatureLayerPairing.ByStage(student, studentShapes, _teacherModel!, _teacherShapes!)
            : FeatureLayerPairing.Explicit(layers, student, studentShapes, _teacherModel!, _teacherShapes!);
        if (pairs.Count == 0)
            throw new InvalidOptionException(nameof(RecoveryOptions.FeatureLayers),
                $"no stage of the compressed model matches one of the teacher (features of the same spatial size); name the pairs as student=teacher values. Candidates: {string.Join(", ", FeatureLayerPairing.Candidates(student).Take(10))}");
        return pairs;
    }

    /// <inheritdoc />
    public void Dispose() => Teacher?.Dispose();
}
