using System.Globalization;

namespace Whittle.Data;

/// <summary>
/// A supervised (or unlabeled) dataset held in memory: the features of all samples as one
/// dense row-major float32 tensor [N, ...<see cref="SampleShape"/>], and optionally one class
/// index per sample. Plain arrays, so ONNX Runtime and TorchSharp can both take them as is.
/// </summary>
/// <remarks>
/// A dataset never changes after it is made: <see cref="Subset(int[])"/>, <see cref="Shuffle"/>,
/// <see cref="Split"/> and <see cref="Preprocess"/> return new datasets. Every seeded operation
/// uses the same portable generator, so a seed gives the same result on every machine and
/// .NET version.
/// </remarks>
public sealed class TensorDataset
{
    private readonly float[] _features;
    private readonly int[] _sampleShape;
    private readonly int[]? _labels;
    private readonly string[] _classNames;

    /// <summary>
    /// Wraps <paramref name="features"/> (not copied: the dataset takes ownership, so do not
    /// change the array afterwards) as N samples of <paramref name="sampleShape"/>.
    /// </summary>
    /// <param name="features">All samples, row-major; its length must be a multiple of the sample size.</param>
    /// <param name="sampleShape">The shape of one sample, e.g. [1, 28, 28]; every dimension positive.</param>
    /// <param name="labels">One class index per sample, or null for unlabeled data (not copied).</param>
    /// <param name="classCount">
    /// The number of classes; when null it is the number of <paramref name="classNames"/>, else
    /// one more than the largest label, else zero.
    /// </param>
    /// <param name="classNames">Display names of the classes in index order, or null to name them by number.</param>
    public TensorDataset(float[] features, int[] sampleShape, int[]? labels = null, int? classCount = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Length == 0) throw new ArgumentException("The sample shape needs at least one dimension.", nameof(sampleShape));
        long sampleSize = 1;
        foreach (int dim in sampleShape)
        {
            if (dim <= 0) throw new ArgumentException($"Sample shape {ShapeText(sampleShape)} has a dimension that is not positive.", nameof(sampleShape));
            sampleSize *= dim;
            if (sampleSize > Array.MaxLength) throw new ArgumentException($"Sample shape {ShapeText(sampleShape)} is too large for one array.", nameof(sampleShape));
        }
        if (features.Length % sampleSize != 0)
            throw new ArgumentException($"{features.Length} feature values are not a whole number of samples of shape {ShapeText(sampleShape)} ({sampleSize} values each).", nameof(features));
        int count = (int)(features.Length / sampleSize);

        if (labels is not null && labels.Length != count)
            throw new ArgumentException($"There are {labels.Length} labels for {count} samples.", nameof(labels));
        if (classCount is < 0) throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "The class count cannot be negative.");
        if (classNames is not null)
        {
            if (classCount is not null && classCount != classNames.Count)
                throw new ArgumentException($"The class count {classCount} differs from the {classNames.Count} class names.", nameof(classNames));
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (string? name in classNames)
            {
                if (name is null) throw new ArgumentException("A class name is null.", nameof(classNames));
                if (!seen.Add(name)) throw new ArgumentException($"Class name '{name}' appears twice.", nameof(classNames));
            }
        }

        int maxLabel = -1;
        if (labels is not null)
        {
            for (int i = 0; i < labels.Length; i++)
            {
                if (labels[i] < 0) throw new ArgumentException($"Label {labels[i]} of sample {i} is negative.", nameof(labels));
                if (labels[i] > maxLabel) maxLabel = labels[i];
            }
        }
        int classes = classCount ?? classNames?.Count ?? maxLabel + 1;
        if (maxLabel >= classes)
            throw new ArgumentException($"Label {maxLabel} is outside the {classes} classes.", nameof(labels));

        _features = features;
        _sampleShape = (int[])sampleShape.Clone();
        _labels = labels;
        _classNames = classNames?.ToArray()
            ?? Enumerable.Range(0, classes).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        SampleSize = (int)sampleSize;
        Count = count;
    }

    /// <summary>The number of samples, N.</summary>
    public int Count { get; }

    /// <summary>The shape of one sample, without the leading sample axis.</summary>
    public IReadOnlyList<int> SampleShape => _sampleShape;

    /// <summary>The number of feature values in one sample (the product of <see cref="SampleShape"/>).</summary>
    public int SampleSize { get; }

    /// <summary>The number of classes (zero for unlabeled data without class names).</summary>
    public int ClassCount => _classNames.Length;

    /// <summary>The class names in index order; numbered "0", "1", ... when none were given.</summary>
    public IReadOnlyList<string> ClassNames => _classNames;

    /// <summary>True when every sample has a class label.</summary>
    public bool HasLabels => _labels is not null;

    /// <summary>All features, row-major, [N, ...<see cref="SampleShape"/>].</summary>
    public ReadOnlyMemory<float> Features => _features;

    /// <summary>The class index of every sample.</summary>
    /// <exception cref="InvalidOperationException">The dataset is unlabeled.</exception>
    public ReadOnlyMemory<int> Labels => _labels ?? throw Unlabeled();

    /// <summary>The shape of the whole feature tensor, [N, ...<see cref="SampleShape"/>].</summary>
    public int[] TensorShape() => [Count, .. _sampleShape];

    /// <summary>The features of sample <paramref name="index"/>, row-major.</summary>
    /// <param name="index">0-based sample index.</param>
    public ReadOnlySpan<float> GetFeatures(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return new ReadOnlySpan<float>(_features, index * SampleSize, SampleSize);
    }

    /// <summary>The class index of sample <paramref name="index"/>.</summary>
    /// <param name="index">0-based sample index.</param>
    /// <exception cref="InvalidOperationException">The dataset is unlabeled.</exception>
    public int GetLabel(int index)
    {
        int[] labels = _labels ?? throw Unlabeled();
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return labels[index];
    }

    /// <summary>How many samples each class has, indexed by class.</summary>
    /// <exception cref="InvalidOperationException">The dataset is unlabeled.</exception>
    public int[] CountPerClass()
    {
        int[] labels = _labels ?? throw Unlabeled();
        int[] counts = new int[ClassCount];
        foreach (int label in labels) counts[label]++;
        return counts;
    }

    /// <summary>
    /// A new dataset of the samples at <paramref name="indices"/>, in that order (repeats allowed).
    /// Class count and names carry over even if some class no longer occurs.
    /// </summary>
    /// <param name="indices">0-based sample indices.</param>
    public TensorDataset Subset(ReadOnlySpan<int> indices)
    {
        foreach (int index in indices)
            if ((uint)index >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), index, $"Sample index {index} is outside the dataset of {Count} samples.");

        float[] features = new float[(long)indices.Length * SampleSize];
        int[]? labels = _labels is null ? null : new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            Array.Copy(_features, (long)indices[i] * SampleSize, features, (long)i * SampleSize, SampleSize);
            if (labels is not null) labels[i] = _labels![indices[i]];
        }
        return new TensorDataset(features, _sampleShape, labels, ClassCount, _classNames);
    }

    /// <summary>A new dataset of the samples at <paramref name="indices"/>, in that order (repeats allowed).</summary>
    /// <param name="indices">0-based sample indices.</param>
    public TensorDataset Subset(int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return Subset(indices.AsSpan());
    }

    /// <summary>The first <paramref name="count"/> samples, or all of them when there are fewer.</summary>
    /// <param name="count">The most samples to keep; not negative.</param>
    public TensorDataset Take(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count >= Count) return this;
        float[] features = _features.AsSpan(0, count * SampleSize).ToArray();
        int[]? labels = _labels?.AsSpan(0, count).ToArray();
        return new TensorDataset(features, _sampleShape, labels, ClassCount, _classNames);
    }

    /// <summary>The same samples in a random order that depends only on <paramref name="seed"/>.</summary>
    /// <param name="seed">Any value; the same seed always gives the same order.</param>
    public TensorDataset Shuffle(int seed) => Subset(new SeededRandom(seed).Permutation(Count));

    /// <summary>
    /// Splits the samples into a training and a validation set. The validation set gets
    /// round(<paramref name="validationFraction"/> × N) samples chosen by <paramref name="seed"/>;
    /// when <paramref name="stratified"/>, each class contributes in proportion to its size
    /// (largest-remainder rounding, so the total is still exact). Both parts keep the original
    /// sample order.
    /// </summary>
    /// <param name="validationFraction">The share of samples for validation, strictly between 0 and 1.</param>
    /// <param name="seed">Any value; the same seed always gives the same split.</param>
    /// <param name="stratified">Keep the class proportions in both parts (needs labels).</param>
    public (TensorDataset Train, TensorDataset Validation) Split(double validationFraction, int seed, bool stratified = true)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "The validation fraction must be strictly between 0 and 1.");
        if (stratified && _labels is null)
            throw new InvalidOperationException("A stratified split needs labels; this dataset is unlabeled (use stratified: false).");

        int validationCount = (int)Math.Round(validationFraction * Count, MidpointRounding.AwayFromZero);
        if (validationCount == 0 || validationCount == Count)
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction,
                $"A validation fraction of {validationFraction} of {Count} samples leaves the {(validationCount == 0 ? "validation" : "training")} set empty.");

        var random = new SeededRandom(seed);
        bool[] inValidation = new bool[Count];
        if (stratified)
        {
            int[][] byClass = MembersPerClass();
            foreach (int[] members in byClass) random.Shuffle(members);
            int[] quota = ApportionValidation(byClass, validationFraction, validationCount);
            for (int c = 0; c < byClass.Length; c++)
                for (int k = 0; k < quota[c]; k++) inValidation[byClass[c][k]] = true;
        }
        else
        {
            int[] order = random.Permutation(Count);
            for (int k = 0; k < validationCount; k++) inValidation[order[k]] = true;
        }

        int[] train = new int[Count - validationCount];
        int[] validation = new int[validationCount];
        int t = 0, v = 0;
        for (int i = 0; i < Count; i++)
        {
            if (inValidation[i]) validation[v++] = i;
            else train[t++] = i;
        }
        return (Subset(train), Subset(validation));
    }

    /// <summary>
    /// The samples in batches of <paramref name="batchSize"/>, each covering its samples once;
    /// together the batches cover every sample exactly once (unless <paramref name="dropLast"/>
    /// drops a short final batch). For a new order each epoch, pass a different seed per epoch
    /// (e.g. seed + epoch).
    /// </summary>
    /// <param name="batchSize">Samples per batch; positive. The last batch may be smaller.</param>
    /// <param name="shuffle">Visit the samples in an order chosen by <paramref name="seed"/> instead of in dataset order.</param>
    /// <param name="seed">The shuffle seed; ignored when <paramref name="shuffle"/> is false.</param>
    /// <param name="dropLast">Leave out a final batch smaller than <paramref name="batchSize"/>.</param>
    public IEnumerable<Batch> Batches(int batchSize, bool shuffle = false, int seed = 0, bool dropLast = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        int[] order = shuffle ? new SeededRandom(seed).Permutation(Count) : Enumerable.Range(0, Count).ToArray();
        int end = dropLast ? Count - Count % batchSize : Count;
        return BatchesInOrder(order, batchSize, end);
    }

    private IEnumerable<Batch> BatchesInOrder(int[] order, int batchSize, int end)
    {
        for (int start = 0; start < end; start += batchSize)
        {
            int size = Math.Min(batchSize, end - start);
            int[] indices = order.AsSpan(start, size).ToArray();
            int[]? labels = _labels is null ? null : new int[size];
            if (labels is not null)
                for (int i = 0; i < size; i++) labels[i] = _labels![indices[i]];
            // The features are gathered by the batch when asked for (see Batch's remarks).
            yield return new Batch(_features, SampleSize, [size, .. _sampleShape], indices, labels, ClassCount);
        }
    }

    /// <summary>
    /// A new dataset with <paramref name="preprocessing"/> applied: divide, normalise per
    /// channel, then reshape to the chosen layout. The features are copied only when a value
    /// changes.
    /// </summary>
    /// <param name="preprocessing">What to do; see <see cref="Preprocessing"/> for the channel rule.</param>
    public TensorDataset Preprocess(Preprocessing preprocessing) => ApplyPreprocessing(preprocessing, inPlace: false);

    /// <summary>
    /// Applies <paramref name="preprocessing"/> either into a new array or, for a dataset a
    /// loader has just made and nobody else has seen, into its own array: that saves a second
    /// copy of a large dataset (and on some virtual machines most of the time, which goes to
    /// first-touch page faults on fresh memory).
    /// </summary>
    private TensorDataset ApplyPreprocessing(Preprocessing preprocessing, bool inPlace)
    {
        ArgumentNullException.ThrowIfNull(preprocessing);
        int[] shape = LayoutShape(preprocessing.Layout);
        if (preprocessing.KeepsValues) return new TensorDataset(_features, shape, _labels, ClassCount, _classNames);

        int channels = _sampleShape[0];
        int perChannel = SampleSize / channels;
        float[] mean = Broadcast(preprocessing.Mean, 0f, channels, "mean");
        float[] std = Broadcast(preprocessing.Std, 1f, channels, "std");
        float divisor = preprocessing.Divisor;
        bool normalize = preprocessing.Mean is not null;

        float[] result = inPlace ? _features : new float[_features.Length];
        for (int sample = 0; sample < Count; sample++)
        {
            for (int c = 0; c < channels; c++)
            {
                int offset = sample * SampleSize + c * perChannel;
                ReadOnlySpan<float> source = _features.AsSpan(offset, perChannel);
                Span<float> target = result.AsSpan(offset, perChannel);
                float m = mean[c], s = std[c];
                if (normalize)
                    for (int k = 0; k < source.Length; k++) target[k] = (source[k] / divisor - m) / s;
                else
                    for (int k = 0; k < source.Length; k++) target[k] = source[k] / divisor;
            }
        }
        return new TensorDataset(result, shape, _labels, ClassCount, _classNames);
    }

    /// <summary>
    /// The mean and (population) standard deviation of every channel over all samples, the
    /// channel axis being the first axis of the sample shape, as in <see cref="Preprocessing"/>.
    /// Computed in double precision. Use it on training data to choose <see cref="Preprocessing.Normalize"/> values.
    /// </summary>
    public (float[] Mean, float[] Std) ChannelStatistics()
    {
        int channels = _sampleShape[0];
        int perChannel = SampleSize / channels;
        double[] sum = new double[channels], sumSquares = new double[channels];
        for (int sample = 0; sample < Count; sample++)
        {
            for (int c = 0; c < channels; c++)
            {
                double s = 0, q = 0;
                foreach (float x in _features.AsSpan(sample * SampleSize + c * perChannel, perChannel))
                {
                    s += x;
                    q += (double)x * x;
                }
                sum[c] += s;
                sumSquares[c] += q;
            }
        }
        double n = (double)Count * perChannel;
        float[] mean = new float[channels], std = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double m = n == 0 ? 0 : sum[c] / n;
            mean[c] = (float)m;
            std[c] = (float)Math.Sqrt(n == 0 ? 0 : Math.Max(0, sumSquares[c] / n - m * m));
        }
        return (mean, std);
    }

    /// <summary>
    /// The same features viewed with another sample shape of the same size, e.g. flat CSV rows
    /// of 784 values as [1, 28, 28]. The features are shared, not copied.
    /// </summary>
    /// <param name="sampleShape">The new shape of one sample; its product must equal <see cref="SampleSize"/>.</param>
    public TensorDataset WithSampleShape(params int[] sampleShape)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        long size = 1;
        foreach (int dim in sampleShape) size *= dim;
        if (size != SampleSize || sampleShape.Any(d => d <= 0))
            throw new ArgumentException($"Sample shape {ShapeText(sampleShape)} does not hold the {SampleSize} values of shape {ShapeText(_sampleShape)}.", nameof(sampleShape));
        return new TensorDataset(_features, sampleShape, _labels, ClassCount, _classNames);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Count} samples of shape {ShapeText(_sampleShape)}, " + (HasLabels ? $"{ClassCount} classes" : "unlabeled");

    internal static string ShapeText(IEnumerable<int> shape) => "[" + string.Join(", ", shape) + "]";

    private int[] LayoutShape(FeatureLayout layout) => layout switch
    {
        FeatureLayout.AsLoaded => _sampleShape,
        FeatureLayout.Flat => [SampleSize],
        FeatureLayout.Nchw => _sampleShape.Length switch
        {
            3 => _sampleShape,
            2 => [1, _sampleShape[0], _sampleShape[1]],
            1 => throw new InvalidOperationException(
                $"Flat samples of shape {ShapeText(_sampleShape)} cannot be laid out as NCHW: their height and width are unknown. Give them a shape first with WithSampleShape, e.g. [1, 28, 28]."),
            _ => throw new InvalidOperationException(
                $"Samples of shape {ShapeText(_sampleShape)} have {_sampleShape.Length} axes; an NCHW sample has 3 (C, H, W)."),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(layout), layout, "Unknown feature layout."),
    };

    private float[] Broadcast(IReadOnlyList<float>? values, float absent, int channels, string what)
    {
        if (values is null) return Enumerable.Repeat(absent, channels).ToArray();
        if (values.Count == 1) return Enumerable.Repeat(values[0], channels).ToArray();
        if (values.Count == channels) return values.ToArray();
        string option = what == "mean" ? nameof(Preprocessing.Mean) : nameof(Preprocessing.Std);
        throw new InvalidOptionException(option,
            $"{option} has {values.Count} values, but samples of shape {ShapeText(_sampleShape)} have {channels} channel(s) (the first axis); give one value per channel, or one for all");
    }

    private int[][] MembersPerClass()
    {
        int[] counts = CountPerClass();
        int[][] members = counts.Select(n => new int[n]).ToArray();
        int[] filled = new int[counts.Length];
        for (int i = 0; i < Count; i++)
        {
            int label = _labels![i];
            members[label][filled[label]++] = i;
        }
        return members;
    }

    // Largest-remainder apportionment: each class gets the floor of its exact share, and the
    // samples still missing from the total go to the classes with the largest fractional
    // parts (ties to the lower class index), so the split is proportional and the total exact.
    private static int[] ApportionValidation(int[][] byClass, double fraction, int total)
    {
        int[] quota = new int[byClass.Length];
        double[] remainder = new double[byClass.Length];
        int assigned = 0;
        for (int c = 0; c < byClass.Length; c++)
        {
            double exact = fraction * byClass[c].Length;
            quota[c] = (int)Math.Floor(exact);
            remainder[c] = exact - quota[c];
            assigned += quota[c];
        }
        int[] byRemainder = Enumerable.Range(0, byClass.Length)
            .Where(c => quota[c] < byClass[c].Length)
            .OrderByDescending(c => remainder[c]).ThenBy(c => c)
            .ToArray();
        for (int k = 0; assigned < total && k < byRemainder.Length; k++, assigned++) quota[byRemainder[k]]++;
        return quota;
    }

    /// <summary>Applies <paramref name="preprocessing"/> (when given) to a dataset a loader has just made, in its own array.</summary>
    internal TensorDataset PreprocessFresh(Preprocessing? preprocessing) =>
        preprocessing is null ? this : ApplyPreprocessing(preprocessing, inPlace: true);

    private static InvalidOperationException Unlabeled() => new("This dataset is unlabeled: it has no class labels.");
}
