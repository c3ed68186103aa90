namespace Whittle.Data;

/// <summary>
/// One mini-batch from <see cref="TensorDataset.Batches"/>: the features of its samples as a
/// dense row-major float32 tensor of <see cref="Shape"/> [B, ...sample shape], and their labels
/// as class indices (int32 or int64) or one-hot rows. Every array is the batch's own.
/// </summary>
public sealed class Batch
{
    private readonly int[]? _labels;
    private long[]? _labelsAsInt64;

    internal Batch(float[] features, int[] shape, int[] indices, int[]? labels, int classCount)
    {
        Features = features;
        Shape = shape;
        Indices = indices;
        _labels = labels;
        ClassCount = classCount;
    }

    /// <summary>The features, row-major, of <see cref="Shape"/>.</summary>
    public float[] Features { get; }

    /// <summary>The feature tensor's shape, batch axis first: [B, ...sample shape].</summary>
    public int[] Shape { get; }

    /// <summary><see cref="Shape"/> as 64-bit dimensions, the form TorchSharp takes.</summary>
    public long[] ShapeAsInt64 => Array.ConvertAll(Shape, d => (long)d);

    /// <summary>The number of samples in the batch, B.</summary>
    public int Count => Indices.Length;

    /// <summary>Where each sample of the batch sits in the dataset it came from.</summary>
    public int[] Indices { get; }

    /// <summary>The number of classes of the dataset, the width of <see cref="OneHot()"/>.</summary>
    public int ClassCount { get; }

    /// <summary>True when the batch has labels.</summary>
    public bool HasLabels => _labels is not null;

    /// <summary>The class index of each sample, [B].</summary>
    /// <exception cref="InvalidOperationException">The batch comes from an unlabeled dataset.</exception>
    public int[] Labels => _labels ?? throw Unlabeled();

    /// <summary>The class index of each sample as int64, [B]: what a cross-entropy loss or an ONNX int64 input expects.</summary>
    /// <exception cref="InvalidOperationException">The batch comes from an unlabeled dataset.</exception>
    public long[] LabelsAsInt64 => _labelsAsInt64 ??= Array.ConvertAll(Labels, l => (long)l);

    /// <summary>One-hot labels over the dataset's <see cref="ClassCount"/> classes, row-major [B, ClassCount].</summary>
    /// <exception cref="InvalidOperationException">The batch comes from an unlabeled dataset.</exception>
    public float[] OneHot() => OneHot(ClassCount);

    /// <summary>One-hot labels, row-major [B, <paramref name="classCount"/>]: 1 at each sample's class, 0 elsewhere.</summary>
    /// <param name="classCount">The width of each row; must exceed every label.</param>
    /// <exception cref="InvalidOperationException">The batch comes from an unlabeled dataset.</exception>
    public float[] OneHot(int classCount)
    {
        int[] labels = Labels;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classCount);
        float[] rows = new float[(long)labels.Length * classCount];
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= classCount)
                throw new ArgumentOutOfRangeException(nameof(classCount), classCount, $"Label {labels[i]} does not fit in {classCount} one-hot classes.");
            rows[(long)i * classCount + labels[i]] = 1f;
        }
        return rows;
    }

    private static InvalidOperationException Unlabeled() => new("This batch comes from an unlabeled dataset: it has no class labels.");
}
