using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Distillation;

/// <summary>
/// The hint-layer loss of FitNets (Romero et al., "FitNets: Hints for Thin Deep Nets", 2015):
/// the mean squared error between a projected student feature and the teacher's feature,
/// <c>F.mse_loss(P(student), teacher)</c> with P a <see cref="FeatureProjection"/>. The teacher's
/// feature is detached, so gradients reach the student and the projection only.
/// </summary>
public static class FeatureDistillation
{
    /// <summary>The hint loss of one student feature against one teacher feature, a scalar.</summary>
    /// <param name="projection">The projection from the student's feature shape to the teacher's.</param>
    /// <param name="studentFeature">The student's feature, [B, Cs] or [B, Cs, Hs, Ws].</param>
    /// <param name="teacherFeature">The teacher's feature, [B, Ct] or [B, Ct, Ht, Wt] (detached here).</param>
    /// <exception cref="ArgumentException">A feature's shape does not fit the projection, or the batch sizes differ.</exception>
    public static Tensor Loss(FeatureProjection projection, Tensor studentFeature, Tensor teacherFeature)
    {
        ArgumentNullException.ThrowIfNull(projection);
        ArgumentNullException.ThrowIfNull(studentFeature);
        ArgumentNullException.ThrowIfNull(teacherFeature);
        if (teacherFeature.Dimensions != projection.TeacherShape.Count + 1 || !teacherFeature.shape.Skip(1).SequenceEqual(projection.TeacherShape))
            throw new ArgumentException(
                $"The projection was made for teacher features [batch, {string.Join(", ", projection.TeacherShape)}], got {FeatureLayerPair.Format(teacherFeature.shape)}.",
                nameof(teacherFeature));
        if (studentFeature.Dimensions > 0 && studentFeature.shape[0] != teacherFeature.shape[0])
            throw new ArgumentException(
                $"The student's batch has {studentFeature.shape[0]} samples, the teacher's {teacherFeature.shape[0]}.", nameof(teacherFeature));
        using var projected = projection.forward(studentFeature);
        return Loss(projected, teacherFeature);
    }

    /// <summary>The mean squared error between an already projected student feature and the teacher's feature, a scalar.</summary>
    /// <param name="projectedStudent">The student's feature in the teacher's shape, floating point.</param>
    /// <param name="teacherFeature">The teacher's feature, the same shape (detached here).</param>
    /// <exception cref="ArgumentException">The shapes differ or a feature is not floating point.</exception>
    public static Tensor Loss(Tensor projectedStudent, Tensor teacherFeature)
    {
        ArgumentNullException.ThrowIfNull(projectedStudent);
        ArgumentNullException.ThrowIfNull(teacherFeature);
        if (!projectedStudent.shape.SequenceEqual(teacherFeature.shape))
            throw new ArgumentException(
                $"The projected student feature has shape {FeatureLayerPair.Format(projectedStudent.shape)}, the teacher's {FeatureLayerPair.Format(teacherFeature.shape)}; they must be equal.",
                nameof(teacherFeature));
        if (!projectedStudent.is_floating_point() || !teacherFeature.is_floating_point())
            throw new ArgumentException(
                $"Features must be floating point, got {projectedStudent.dtype} (student) and {teacherFeature.dtype} (teacher).", nameof(teacherFeature));
        using var detached = teacherFeature.detach();
        using var teacher = detached.to(projectedStudent.dtype);
        return F.mse_loss(projectedStudent, teacher);
    }
}
