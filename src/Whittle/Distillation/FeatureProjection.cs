using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Distillation;

/// <summary>
/// The trained adapter of a hint-layer (FitNets) loss: maps one student feature onto the shape of
/// the teacher feature it learns from. Feature maps [B, C, H, W] go through a 1×1 convolution with
/// bias (FitNets' regressor, Romero et al. 2015, as PyTorch's <c>nn.Conv2d(Cs, Ct, 1)</c>), flat
/// features [B, C] through a linear layer with bias. When the student's H×W differs from the
/// teacher's, the projected map is adaptive-average-pooled to the teacher's H×W
/// (<c>F.adaptive_avg_pool2d</c>): from a larger student map each teacher position averages the
/// student positions its bin covers; a smaller student map is spread out (bins overlap, so
/// positions repeat).
/// </summary>
/// <remarks>
/// Weights start as PyTorch's defaults for those layers (Kaiming-uniform). The projection is
/// trained with the student and thrown away afterwards: it is not part of the student's graph.
/// A 1×1 convolution and average pooling are both linear per channel, so projecting then
/// pooling equals pooling then projecting.
/// </remarks>
public sealed class FeatureProjection : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> projection;
    private readonly long[] _studentShape;
    private readonly long[] _teacherShape;

    /// <summary>A projection from one student feature shape to one teacher feature shape.</summary>
    /// <param name="studentShape">One sample's student feature, without the batch axis: [C] or [C, H, W].</param>
    /// <param name="teacherShape">One sample's teacher feature, the same rank: [C] or [C, H, W].</param>
    /// <exception cref="ArgumentException">A shape is not [C] or [C, H, W] of positive sizes, or the ranks differ.</exception>
    public FeatureProjection(IReadOnlyList<long> studentShape, IReadOnlyList<long> teacherShape) : base(nameof(FeatureProjection))
    {
        _studentShape = FeatureLayerPair.CheckFeatureShape(studentShape, nameof(studentShape));
        _teacherShape = FeatureLayerPair.CheckFeatureShape(teacherShape, nameof(teacherShape));
        if (_studentShape.Length != _teacherShape.Length)
            throw new ArgumentException(
                $"A student feature {FeatureLayerPair.Format(_studentShape)} and a teacher feature {FeatureLayerPair.Format(_teacherShape)} differ in rank; pair flat features with flat features and maps with maps.",
                nameof(teacherShape));
        projection = IsMap ? nn.Conv2d(_studentShape[0], _teacherShape[0], 1) : nn.Linear(_studentShape[0], _teacherShape[0]);
        RegisterComponents();
    }

    /// <summary>A projection for a pair found by <see cref="FeatureLayerPairing"/>.</summary>
    /// <param name="pair">The student and teacher values and their shapes.</param>
    public FeatureProjection(FeatureLayerPair pair) : this(Require(pair).StudentShape, pair.TeacherShape)
    {
    }

    /// <summary>One sample's student feature shape, [C] or [C, H, W].</summary>
    public IReadOnlyList<long> StudentShape => _studentShape;

    /// <summary>One sample's teacher feature shape, [C] or [C, H, W]: the shape of the output after the batch axis.</summary>
    public IReadOnlyList<long> TeacherShape => _teacherShape;

    /// <summary>True when the projected student map is pooled to the teacher's H×W (the spatial sizes differ).</summary>
    public bool Pools => IsMap && (_studentShape[1] != _teacherShape[1] || _studentShape[2] != _teacherShape[2]);

    private bool IsMap => _studentShape.Length == 3;

    /// <summary>The student feature [B, Cs(, Hs, Ws)] projected to the teacher's shape [B, Ct(, Ht, Wt)].</summary>
    /// <param name="student">A batch of student features of <see cref="StudentShape"/>.</param>
    /// <exception cref="ArgumentException">The feature's shape after the batch axis is not <see cref="StudentShape"/>.</exception>
    public override Tensor forward(Tensor student)
    {
        ArgumentNullException.ThrowIfNull(student);
        if (student.Dimensions != _studentShape.Length + 1 || !student.shape.Skip(1).SequenceEqual(_studentShape))
            throw new ArgumentException(
                $"The projection was made for student features [batch, {string.Join(", ", _studentShape)}], got {FeatureLayerPair.Format(student.shape)}.",
                nameof(student));
        var projected = projection.forward(student);
        if (!Pools) return projected;
        using (projected)
            return F.adaptive_avg_pool2d(projected, [_teacherShape[1], _teacherShape[2]]);
    }

    private static FeatureLayerPair Require(FeatureLayerPair pair)
    {
        ArgumentNullException.ThrowIfNull(pair);
        return pair;
    }
}
