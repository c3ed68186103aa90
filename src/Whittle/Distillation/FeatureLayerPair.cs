using System.Globalization;

namespace Whittle.Distillation;

/// <summary>
/// A student value that learns from a teacher value with a hint loss (<see cref="FeatureDistillation"/>),
/// with one sample's shape of each (the batch axis left out): [C] for flat features, [C, H, W]
/// for feature maps. Made by <see cref="FeatureLayerPairing"/>; data only.
/// </summary>
public sealed class FeatureLayerPair
{
    private readonly long[] _studentShape;
    private readonly long[] _teacherShape;

    /// <summary>A pair of values and their per-sample shapes.</summary>
    /// <param name="studentValue">The student graph's value name.</param>
    /// <param name="teacherValue">The teacher graph's value name.</param>
    /// <param name="studentShape">One sample's student feature: [C] or [C, H, W].</param>
    /// <param name="teacherShape">One sample's teacher feature, the same rank.</param>
    /// <exception cref="ArgumentException">A name is blank, a shape is not [C] or [C, H, W] of positive sizes, or the ranks differ.</exception>
    public FeatureLayerPair(string studentValue, string teacherValue, IReadOnlyList<long> studentShape, IReadOnlyList<long> teacherShape)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(studentValue);
        ArgumentException.ThrowIfNullOrWhiteSpace(teacherValue);
        _studentShape = CheckFeatureShape(studentShape, nameof(studentShape));
        _teacherShape = CheckFeatureShape(teacherShape, nameof(teacherShape));
        if (_studentShape.Length != _teacherShape.Length)
            throw new ArgumentException($"'{studentValue}' {Format(_studentShape)} and '{teacherValue}' {Format(_teacherShape)} differ in rank.", nameof(teacherShape));
        StudentValue = studentValue;
        TeacherValue = teacherValue;
    }

    /// <summary>The student graph's value name.</summary>
    public string StudentValue { get; }

    /// <summary>The teacher graph's value name.</summary>
    public string TeacherValue { get; }

    /// <summary>One sample's student feature shape, [C] or [C, H, W].</summary>
    public IReadOnlyList<long> StudentShape => _studentShape;

    /// <summary>One sample's teacher feature shape, [C] or [C, H, W].</summary>
    public IReadOnlyList<long> TeacherShape => _teacherShape;

    /// <summary>The student feature's channels.</summary>
    public long StudentChannels => _studentShape[0];

    /// <summary>The teacher feature's channels.</summary>
    public long TeacherChannels => _teacherShape[0];

    /// <summary>"student=teacher ([8, 14, 14] -> [16, 14, 14])".</summary>
    public override string ToString() => $"{StudentValue}={TeacherValue} ({Format(_studentShape)} -> {Format(_teacherShape)})";

    /// <summary>A copy of one sample's feature shape, checked to be [C] or [C, H, W] of positive sizes.</summary>
    internal static long[] CheckFeatureShape(IReadOnlyList<long> shape, string parameter)
    {
        ArgumentNullException.ThrowIfNull(shape, parameter);
        var copy = shape.ToArray();
        if ((copy.Length != 1 && copy.Length != 3) || copy.Any(d => d < 1))
            throw new ArgumentException(
                $"A feature shape without the batch axis must be [channels] or [channels, height, width] of positive sizes, got {Format(copy)}.",
                parameter);
        return copy;
    }

    /// <summary>A shape as the messages print it, "[2, 3, 4]".</summary>
    internal static string Format(IEnumerable<long> shape) =>
        "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";
}
