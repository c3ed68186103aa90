using Whittle.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Whittle.Distillation;

/// <summary>
/// The feature part of a distillation run (FitNets hints): for every <see cref="FeatureLayerPair"/>,
/// the student's value is captured during its training pass, projected by a
/// <see cref="FeatureProjection"/> trained with the student (and discarded after: it is never in
/// the written model), and matched to the teacher's value by mean squared error
/// (<see cref="FeatureDistillation.Loss(FeatureProjection, Tensor, Tensor)"/>) relative to the
/// teacher feature's mean square on the batch. The hint loss is β times the mean over pairs.
/// </summary>
public sealed class HintLayers
{
    private FeatureProjection[] _projections = [];
    private OnnxModule? _student;

    /// <summary>Validates and stores the pairs and their weight.</summary>
    /// <param name="pairs">The student and teacher values (at least one).</param>
    /// <param name="weight">β, the weight of the mean relative hint loss; positive.</param>
    public HintLayers(IReadOnlyList<FeatureLayerPair> pairs, double weight)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count == 0) throw new InvalidOptionException("FeatureLayers", "hint-layer distillation needs at least one student/teacher pair");
        OptionChecks.Positive(weight, nameof(Weight));
        Pairs = pairs.ToArray();
        Weight = weight;
    }

    /// <summary>The pairs.</summary>
    public IReadOnlyList<FeatureLayerPair> Pairs { get; }

    /// <summary>β.</summary>
    public double Weight { get; }

    /// <summary>The projections of the attached student, in pair order (empty before <see cref="Attach"/>).</summary>
    public IReadOnlyList<FeatureProjection> Projections => _projections;

    /// <summary>The teacher values the teacher must return after its logits, in pair order.</summary>
    public IReadOnlyList<string> TeacherValues => Pairs.Select(p => p.TeacherValue).ToList();

    /// <summary>
    /// Prepares a student module about to train: new projections (drawn from libtorch's generator,
    /// which the trainer has seeded) registered with it, and its pair values captured.
    /// </summary>
    public void Attach(FeatureInputModule student)
    {
        ArgumentNullException.ThrowIfNull(student);
        _projections = Pairs.Select(p => new FeatureProjection(p)).ToArray();
        for (int i = 0; i < _projections.Length; i++) student.AddAuxiliary("hint" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), _projections[i]);
        student.Model.CapturedValueNames = Pairs.Select(p => p.StudentValue).ToList();
        _student = student.Model;
    }

    /// <summary>β · mean over pairs of MSE(P(student value), teacher value) / mean(teacher value²), from the last training pass of the attached student.</summary>
    /// <param name="teacherValues">The teacher's values of this batch, in <see cref="TeacherValues"/> order.</param>
    /// <exception cref="InvalidOperationException">No student is attached, or its last pass captured nothing (evaluation mode).</exception>
    public Tensor Loss(IReadOnlyList<Tensor> teacherValues)
    {
        ArgumentNullException.ThrowIfNull(teacherValues);
        var student = _student ?? throw new InvalidOperationException("no student module is attached to the hint layers");
        var captured = student.Captured;
        if (captured.Length != Pairs.Count || teacherValues.Count != Pairs.Count)
            throw new InvalidOperationException($"the hint layers expect {Pairs.Count} student and teacher values, got {captured.Length} and {teacherValues.Count}");
        Tensor total = Relative(0);
        for (int i = 1; i < Pairs.Count; i++)
        {
            using var term = Relative(i);
            var sum = Engine.HeldScalars.Add(total, term);
            total.Dispose();
            total = sum;
        }
        // Scalars held for the whole call: TorchSharp's implicit Scalar temporaries (and square(),
        // which is pow(2)) can be finalized by a GC on another thread while libtorch still reads
        // them ("Unknown scalar type" in pow, seen once in a full ResNet-8 recovery run).
        using var weight = (Weight / Pairs.Count).ToScalar();
        using (total) return total.mul(weight);

        // The MSE over the teacher feature's mean square on this batch: exports differ in feature
        // scale by orders of magnitude (folded BatchNorms leave it to the weights), and so would the
        // raw MSE; relative, a projection that outputs zeros scores 1 on every pair.
        Tensor Relative(int i)
        {
            using var mse = FeatureDistillation.Loss(_projections[i], captured[i], teacherValues[i]);
            using var teacher = teacherValues[i].detach();
            using var squares = teacher.mul(teacher);
            using var square = squares.mean();
            using var denominator = Engine.HeldScalars.Add(square, 1e-12);
            return mse.div(denominator.to(mse.dtype));
        }
    }

    /// <summary>The hint layers as reports print them: "hint layers (β 1, projections trained and discarded): s [8x14x14] -> t [16x14x14], ...".</summary>
    public string Describe() => FormattableString.Invariant(
        $"hint layers (β {Weight}, projections trained and discarded): {string.Join(", ", Pairs.Select(p => $"{p.StudentValue} [{string.Join("x", p.StudentShape)}] -> {p.TeacherValue} [{string.Join("x", p.TeacherShape)}]"))}");

    /// <summary>The pairs as text: "student=teacher [C,H,W -> C,H,W], ...".</summary>
    public override string ToString() => string.Join(", ", Pairs.Select(p => $"{p.StudentValue}={p.TeacherValue}"));
}
