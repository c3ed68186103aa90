namespace Whittle.Data;

/// <summary>
/// One mini-batch from <see cref="TensorDataset.Batches"/>: the features of its samples as a
/// dense row-major float32 tensor of <see cref="Shape"/> [B, ...sample shape], and their labels
/// as class indices (int32 or int64) or one-hot rows. Every array is the batch's own.
/// </summary>
/// <remarks>
/// The features are gathered from the dataset only when <see cref="Features"/> is first read, so
/// a consumer that copies them straight into its own memory with <see cref="CopyFeaturesTo"/>
/// allocates no per-batch array. That matters for training loops: a batch of 64 images of
/// 28 × 28 is 200 KB, above the 85 KB large-object threshold, and large objects are reclaimed
/// only by full collections, which .NET schedules after allocating a multiple of the live heap;
/// with a loaded dataset as that heap, one such array per step made a training process's
/// resident memory grow by the whole epoch's batches every epoch.
/// </remarks>
public sealed class Batch
{
    private readonly float[] _source;
    private readonly int _sampleSize;
    private readonly int[]? _labels;
    private float[]? _features;
    private long[]? _labelsAsInt64;

    /// <param name="source">The dataset's features, [N × <paramref name="sampleSize"/>], never changed after the dataset is made.</param>
    /// <param name="sampleSize">Feature values per sample.</param>
    /// <param name="shape">[B, ...sample shape].</param>
    /// <param name="indices">The samples of the batch, in batch order.</param>
    /// <param name="labels">Their labels, or null.</param>
    /// <param name="classCount">The dataset's number of classes.</param>
    internal Batch(float[] source, int sampleSize, int[] shape, int[] indices, int[]? labels, int classCount)
    {
        _source = source;
        _sampleSize = sampleSize;
        Shape = shape;
        Indices = indices;
        _labels = labels;
        ClassCount = classCount;
    }

    /// <summary>The features, row-major, of <see cref="Shape"/>; gathered on first use.</summary>
    public float[] Features => _features ??= GatherFeatures();

    /// <summary>
    /// Copies the features, row-major, into <paramref name="destination"/> (at least
    /// <see cref="Count"/> × sample size values) without allocating: for filling a tensor's own memory.
    /// </summary>
    /// <param name="destination">Where the features go; only the first Count × sample size values are written.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public void CopyFeaturesTo(Span<float> destination)
    {
        long length = (long)Indices.Length * _sampleSize;
        if (destination.Length < length)
            throw new ArgumentException($"The destination holds {destination.Length} values; the batch has {length}.", nameof(destination));
        if (_features is not null)
        {
            _features.AsSpan().CopyTo(destination);
            return;
        }
        for (int i = 0; i < Indices.Length; i++)
            _source.AsSpan(Indices[i] * _sampleSize, _sampleSize).CopyTo(destination.Slice(i * _sampleSize, _sampleSize));
    }

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

    private float[] GatherFeatures()
    {
        float[] features = new float[(long)Indices.Length * _sampleSize];
        CopyFeaturesTo(features);
        return features;
    }

    private static InvalidOperationException Unlabeled() => new("This batch comes from an unlabeled dataset: it has no class labels.");
}
