using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Zoo;

namespace Whittle.Data;

/// <summary>What a model does with its data: classify samples, or rank items for users.</summary>
public enum ModelTask
{
    /// <summary>Labelled samples (images, features, text) into classes.</summary>
    Classification,

    /// <summary>Recommender: score (user, item) pairs, judged by ranking held-out items.</summary>
    Ranking,

    /// <summary>Sentence embeddings of texts tokenized with the model's own WordPiece vocabulary, judged by the cosine and nearest neighbours of the pooled embeddings.</summary>
    Embedding,
}

/// <summary>The inputs a BERT-style model takes besides its token ids, filled from the ids when data is fed.</summary>
/// <param name="Companions">The attention mask (1 where the id is not padding) and token type ids (0) inputs.</param>
/// <param name="PadId">The padding id.</param>
internal sealed record SubwordInputs(IReadOnlyList<TensorSignature> Companions, int PadId);

/// <summary>Recommender interactions bound to a model: all of them, and their leave-one-out split.</summary>
/// <param name="All">Every interaction (negatives are sampled outside it).</param>
/// <param name="Train">The training part.</param>
/// <param name="Test">The held-out positive of each user.</param>
public sealed record InteractionSplits(InteractionData All, InteractionData Train, InteractionData Test);

/// <summary>
/// A dataset bound to one model: its task, samples already in the model's input shape, the fixed
/// held-out test part, a text model's vocabulary, a recommender's interactions. Splits load on
/// first use, and each is checked once: finite features, integer ids within the model's tables.
/// Made by <see cref="ModelData.Bind(OnnxModel, string, DataOptions?, bool)"/>.
/// </summary>
public sealed class BoundData
{
    private readonly Lazy<TensorDataset?> _train, _test;

    private readonly SubwordInputs? _subword;

    internal BoundData(ModelTask task, DatasetSpec spec, DataOptions options, DatasetOrigin origin, string description, TensorSignature input, int[] sampleShape,
        Func<TensorDataset?> train, Func<TensorDataset?> test, Vocabulary? vocabulary, bool newVocabulary, InteractionSplits? interactions,
        WordPieceVocabulary? wordPiece = null, SubwordInputs? subword = null)
    {
        WordPiece = wordPiece;
        _subword = subword;
        Task = task;
        Spec = spec;
        Options = options;
        Origin = origin;
        Description = description;
        Input = input;
        SampleShape = sampleShape;
        _train = new(train);
        _test = new(test);
        Vocabulary = vocabulary;
        IsNewVocabulary = newVocabulary;
        Interactions = interactions;
    }

    /// <summary>Classification or ranking.</summary>
    public ModelTask Task { get; }

    /// <summary>The dataset spec the data came from.</summary>
    public DatasetSpec Spec { get; }

    /// <summary>How it was read.</summary>
    public DataOptions Options { get; }

    /// <summary>Where the data came from (an installed package, the bundled subset, the user's files).</summary>
    public DatasetOrigin Origin { get; }

    /// <summary>Says what the data is, for reports.</summary>
    public string Description { get; }

    /// <summary>The model input the samples feed (the first, for a recommender's user and item inputs).</summary>
    public TensorSignature Input { get; }

    /// <summary>The shape of one sample as the model takes it (without the batch dimension).</summary>
    public IReadOnlyList<int> SampleShape { get; }

    /// <summary>
    /// The training split (labelled, in the model's shape): images and features from the data's
    /// training split, text without its fixed test part, a recommender's training pairs with
    /// sampled negatives (seed <see cref="DataOptions.SplitSeed"/>). Null when the data has no labels.
    /// </summary>
    public TensorDataset? Train => _train.Value;

    /// <summary>The fixed held-out test split, when the data has one (a recommender's is in <see cref="Interactions"/>).</summary>
    public TensorDataset? Test => _test.Value;

    /// <summary>A text model's vocabulary (its own, or built from the training texts); else null.</summary>
    public Vocabulary? Vocabulary { get; }

    /// <summary>A BERT-style model's own WordPiece vocabulary the texts were tokenized with (task <see cref="ModelTask.Embedding"/>); else null.</summary>
    public WordPieceVocabulary? WordPiece { get; }

    /// <summary>True when <see cref="Vocabulary"/> was built from the training texts rather than found next to the model.</summary>
    public bool IsNewVocabulary { get; }

    /// <summary>A recommender's interactions; else null.</summary>
    public InteractionSplits? Interactions { get; }

    /// <summary>Training pairs of a recommender with negatives sampled by <paramref name="seed"/>.</summary>
    /// <exception cref="InvalidOperationException">The data is not recommender data.</exception>
    public TensorDataset TrainingPairs(int seed) => Interactions is { } i
        ? ImplicitFeedback.TrainingPairs(i.Train, Options.TrainNegatives, seed)
        : throw new InvalidOperationException("training pairs come from recommender data");

    /// <summary>Samples for checks and calibration: the training split, else the test split.</summary>
    /// <exception cref="DataFormatException">There are none.</exception>
    public TensorDataset Samples => Train ?? Test ?? throw new DataFormatException($"{Spec}: the data holds no samples");

    /// <summary>Writes what a model made from this one needs beside it (a text model's vocabulary) next to <paramref name="modelPath"/>.</summary>
    public void WriteBeside(string modelPath)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        Vocabulary?.Save(Vocabulary.PathFor(modelPath));
    }

    /// <summary>Feeds for one batch of <paramref name="data"/> (samples <paramref name="start"/> .. start + count − 1), converted to the input's element type.</summary>
    public IReadOnlyDictionary<string, RuntimeTensor> Feeds(TensorDataset data, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(data);
        int size = data.SampleSize;
        var values = data.Features.Slice(start * size, count * size).ToArray();
        long[] shape = [count, .. SampleShape.Select(d => (long)d)];
        var feeds = new Dictionary<string, RuntimeTensor> { [Input.Name] = OnnxRuntimeSession.FromFeatures(Input, values, shape, Spec.ToString()) };
        if (_subword is { } subword)
            foreach (var companion in subword.Companions)
            {
                var filled = new float[values.Length];
                if (GeneratedInputs.RoleOf(companion.Name) == IntegerInputRole.AttentionMask)
                    for (int i = 0; i < values.Length; i++) filled[i] = values[i] == subword.PadId ? 0 : 1;
                feeds[companion.Name] = OnnxRuntimeSession.FromFeatures(companion, filled, shape, Spec.ToString());
            }
        return feeds;
    }

    /// <summary>Batches of <paramref name="data"/> as model feeds (the model's fixed batch size, else <paramref name="batchSize"/>).</summary>
    public IEnumerable<IReadOnlyDictionary<string, RuntimeTensor>> Batches(TensorDataset data, int batchSize, int? maxSamples = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        int batch = Input.FixedBatchSize ?? batchSize;
        int count = Math.Min(data.Count, maxSamples ?? int.MaxValue);
        if (Input.FixedBatchSize is not null) count -= count % batch;
        for (int start = 0; start < count; start += batch) yield return Feeds(data, start, Math.Min(batch, count - start));
    }
}

/// <summary>
/// Binds a dataset to a model: the task follows from the data, samples are reshaped to what the
/// model's input declares (a flat 784 to 1×28×28), text is tokenized with the vocabulary saved
/// next to the model, recommender ids are checked against the model's embedding tables, and every
/// split is checked for non-finite features when it loads. The one place where data meets a model,
/// for every job.
/// </summary>
public static class ModelData
{
    /// <summary>Binds the dataset <paramref name="spec"/> to <paramref name="model"/>.</summary>
    /// <param name="model">The model (its <see cref="OnnxModel.SourcePath"/> locates a text model's vocabulary).</param>
    /// <param name="spec">A dataset spec such as <c>fashion-mnist</c>, <c>npy:X.npy,y.npy</c>, <c>fortunes</c> or <c>interactions:FILE</c> (a bare <c>FILE.npy</c> is taken as <c>npy:FILE.npy</c>).</param>
    /// <param name="options">How to read it; null for the defaults.</param>
    /// <param name="buildVocabulary">Text: build a vocabulary from the training texts when the model has none beside it (training a new model); otherwise a missing vocabulary is an error.</param>
    /// <exception cref="WhittleException">The data does not fit the model, or cannot be read.</exception>
    public static BoundData Bind(OnnxModel model, string spec, DataOptions? options = null, bool buildVocabulary = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(spec);
        if (!spec.Contains(':') && spec.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) spec = "npy:" + spec;
        return Bind(model, DatasetSpec.Parse(spec), options, buildVocabulary);
    }

    /// <inheritdoc cref="Bind(OnnxModel, string, DataOptions?, bool)"/>
    public static BoundData Bind(OnnxModel model, DatasetSpec spec, DataOptions? options = null, bool buildVocabulary = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(spec);
        options ??= DataOptions.Default;
        var label = model.SourcePath ?? model.Graph.Name;
        IReadOnlyList<TensorSignature> inputs;
        int? classes;
        using (var probe = new OnnxRuntimeSession(model))
        {
            inputs = probe.Inputs;
            // A classifier's scores are [batch, classes]; a label beyond them is a data error found here, before any work.
            var scores = probe.Outputs[0].Shape;
            classes = scores.Length == 2 && scores[1] > 1 ? (int)scores[1] : null;
        }
        if (spec.Family == DatasetFamily.Text && model.SourcePath is { } modelPath && WordPieceVocabulary.FindBeside(modelPath) is { } wordPiece)
            return BindWordPiece(model, label, spec, options, inputs, WordPieceVocabulary.Load(wordPiece));
        if (spec.Family == DatasetFamily.Text && inputs.Count > 1)
            throw new DataFormatException($"{label}: text for a model with inputs {string.Join(", ", inputs)} is tokenized with the model's own WordPiece vocabulary: " +
                $"put its vocab.txt next to the model ({Path.GetFileName(model.SourcePath ?? "model.onnx")} → vocab.txt or {Path.GetFileNameWithoutExtension(model.SourcePath ?? "model")}.vocab.txt)");
        return spec.Family switch
        {
            DatasetFamily.Interactions => BindInteractions(model, label, spec, options, inputs),
            DatasetFamily.Text => BindText(model, label, spec, options, SingleInput(inputs, label, spec), buildVocabulary, classes),
            _ => BindTensors(label, spec, options, SingleInput(inputs, label, spec), classes),
        };
    }

    /// <summary>The task data of <paramref name="spec"/>'s family serves: interactions rank, everything else classifies.</summary>
    public static ModelTask TaskOf(DatasetSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Family == DatasetFamily.Interactions ? ModelTask.Ranking : ModelTask.Classification;
    }

    /// <summary>
    /// The sample shape the model wants: the dataset's own, or a reshape of it when the model
    /// declares fixed non-batch dims with the same element count (flat 784 vs 1×28×28).
    /// </summary>
    /// <exception cref="DataFormatException">The samples do not fit the input.</exception>
    public static int[] MatchSampleShape(TensorSignature input, TensorDataset dataset, string label)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(dataset);
        if (input.ElementType is not (OnnxDataType.Float or OnnxDataType.Int64 or OnnxDataType.Int32))
            throw new DataFormatException($"{label}: data feeds float32 features or integer ids, but input {input} is {OnnxDataTypes.Name(input.ElementType)}");
        var own = dataset.SampleShape.ToArray();
        var wanted = input.Shape.Skip(1).ToArray();
        if (wanted.Length == own.Length && wanted.Zip(own).All(p => p.First < 0 || p.First == p.Second)) return own;
        if (wanted.All(d => d > 0) && wanted.Aggregate(1L, (a, b) => a * b) == dataset.SampleSize)
            return wanted.Select(d => (int)d).ToArray();
        throw new DataFormatException($"{label}: input {input} does not fit samples of shape [{string.Join(",", own)}] from the data");
    }

    private static TensorSignature SingleInput(IReadOnlyList<TensorSignature> inputs, string label, DatasetSpec spec) => inputs.Count == 1
        ? inputs[0]
        : throw new DataFormatException($"{label}: {spec} feeds one input; this model takes {inputs.Count} ({string.Join(", ", inputs)})");

    private static BoundData BindTensors(string label, DatasetSpec spec, DataOptions options, TensorSignature input, int? classes)
    {
        var source = spec.Open(options.CsvHeader);
        var preprocessing = options.PreprocessingFor(spec);
        var train = new Lazy<LoadedDataset>(() => source.Load(DatasetSplit.Train, preprocessing));
        var test = new Lazy<LoadedDataset?>(() => source.HasTestSplit ? source.Load(DatasetSplit.Test, preprocessing) : null);
        var first = source.HasTestSplit && !train.IsValueCreated ? test.Value! : train.Value;
        var shape = MatchSampleShape(input, first.Dataset, $"{label} with data {first.Location}");
        return new BoundData(ModelTask.Classification, spec, options, first.Origin, first.Description, input, shape,
            () => Checked(train.Value, shape, classes, label), () => test.Value is { } t ? Checked(t, shape, classes, label) : null, null, false, null);
    }

    private static BoundData BindText(OnnxModel model, string label, DatasetSpec spec, DataOptions options, TensorSignature input, bool buildVocabulary, int? classes)
    {
        var path = model.SourcePath is { } p ? Vocabulary.PathFor(p) : null;
        Vocabulary? vocabulary = null;
        long rows = EmbeddingTables.RowsIndexedBy(model, input.Name);
        if (path is not null && File.Exists(path))
        {
            vocabulary = Vocabulary.Load(path);
            vocabulary.CheckEmbeddingRows(rows, path, label);
        }
        else if (!buildVocabulary)
        {
            throw new DataFormatException(path ?? label, $"no vocabulary next to {Path.GetFileName(model.SourcePath ?? label)}: a text model needs the one it was trained with ('whittle zoo create ... --data' and 'whittle train' write it)");
        }
        var categories = options.Categories ?? (spec.Kind == "fortunes" ? vocabulary?.ClassNames : null);
        var (trainTexts, testTexts) = spec.OpenText(categories).SplitTest(options.TestFraction, options.SplitSeed);
        bool isNew = vocabulary is null;
        if (vocabulary is null)
        {
            vocabulary = Vocabulary.Build(trainTexts.Texts, trainTexts.ClassNames, options.Tokenizer);
            vocabulary.CheckEmbeddingRows(rows, (path ?? "the vocabulary") + " (built from the training texts)", label);
        }
        if (classes is { } c && vocabulary.ClassNames.Count > c)
            throw new DataFormatException($"{label}: the text has {vocabulary.ClassNames.Count} classes ({string.Join(", ", vocabulary.ClassNames)}) but the model scores {c}; choose {c} with the categories option or make the model for these classes");
        var words = vocabulary;
        int[] shape = [vocabulary.Options.SequenceLength];
        return new BoundData(ModelTask.Classification, spec, options, DatasetOrigin.UserFiles,
            $"{trainTexts.Description}, {trainTexts.Count + testTexts.Count} texts ({testTexts.Count} held out for test)", input, shape,
            () => words.Encode(trainTexts), () => words.Encode(testTexts), vocabulary, isNew, null);
    }

    /// <summary>
    /// Texts for a BERT-style model (a sentence-embedding model): tokenized with its own WordPiece vocabulary
    /// to <see cref="DataOptions.SubwordLength"/> ids, the attention mask and token type ids made from them.
    /// </summary>
    private static BoundData BindWordPiece(OnnxModel model, string label, DatasetSpec spec, DataOptions options, IReadOnlyList<TensorSignature> inputs, WordPieceVocabulary vocabulary)
    {
        var integer = inputs.Where(i => i.ElementType is OnnxDataType.Int64 or OnnxDataType.Int32).ToList();
        var ids = integer.Where(i => GeneratedInputs.RoleOf(i.Name) == IntegerInputRole.Ids).ToList();
        if (ids.Count != 1 || integer.Count != inputs.Count || ids[0].Shape.Length != 2)
            throw new DataFormatException($"{label}: WordPiece text ({vocabulary.Path}) feeds one token-id input [batch, sequence] plus an attention mask and token type ids; this model takes {string.Join(", ", inputs)}");
        var input = ids[0];
        try
        {
            long rows = EmbeddingTables.RowsIndexedBy(model, input.Name);
            if (rows != vocabulary.Size)
                throw new DataFormatException(vocabulary.Path, $"the vocabulary has {vocabulary.Size} tokens but the model's embedding table indexed by '{input.Name}' has {rows} rows: it is not this model's vocabulary");
        }
        catch (OnnxException)
        {
            // The ids reach their table through other nodes (a Cast, a fused embedding): nothing to check the size against.
        }
        int length = options.SubwordLength;
        if (input.Shape[1] >= 0 && input.Shape[1] != length)
            throw new DataFormatException($"{label}: input {input} takes {input.Shape[1]} tokens per text; give that sequence length (--seq-len {input.Shape[1]})");
        var (trainTexts, testTexts) = spec.OpenText(options.Categories).SplitTest(options.TestFraction, options.SplitSeed);
        var subword = new SubwordInputs(integer.Where(i => i != input).ToList(), vocabulary.PadId);
        return new BoundData(ModelTask.Embedding, spec, options, DatasetOrigin.UserFiles,
            $"{trainTexts.Description}, {trainTexts.Count + testTexts.Count} texts ({testTexts.Count} held out), WordPiece {Path.GetFileName(vocabulary.Path)} ({vocabulary.Size} tokens), {length} tokens per text",
            input, [length], () => vocabulary.Encode(trainTexts, length), () => vocabulary.Encode(testTexts, length), null, false, null, vocabulary, subword);
    }

    private static BoundData BindInteractions(OnnxModel model, string label, DatasetSpec spec, DataOptions options, IReadOnlyList<TensorSignature> inputs)
    {
        var names = inputs.Select(i => i.Name).ToArray();
        if (!names.SequenceEqual([RecommenderOptions.UserInputName, RecommenderOptions.ItemInputName]))
            throw new DataFormatException($"{label}: ranking needs a model with inputs user and item (e.g. 'whittle zoo create ncf'); it takes {string.Join(", ", names)}");
        var all = spec.OpenInteractions();
        all.CheckFits(EmbeddingTables.RowsIndexedBy(model, RecommenderOptions.UserInputName), EmbeddingTables.RowsIndexedBy(model, RecommenderOptions.ItemInputName), label);
        var (train, test) = InteractionSplit.Split(all, InteractionSplitKind.LeaveOneOut, options.SplitSeed);
        var splits = new InteractionSplits(all, train, test);
        return new BoundData(ModelTask.Ranking, spec, options, DatasetOrigin.UserFiles,
            $"{all.Description}, {train.Count} training interactions ({options.TrainNegatives} sampled negatives each), {test.Count} held out",
            inputs[0], [2], () => ImplicitFeedback.TrainingPairs(train, options.TrainNegatives, options.SplitSeed), () => null, null, false, splits);
    }

    /// <summary>The split in the model's sample shape, with its features and labels checked once.</summary>
    private static TensorDataset Checked(LoadedDataset loaded, int[] shape, int? classes, string label)
    {
        var data = loaded.Dataset.WithSampleShape(shape);
        if (data.Count == 0) throw new DataFormatException($"{loaded.Location}: the {loaded.Split.ToString().ToLowerInvariant()} split holds no samples");
        if (classes is { } c && data.HasLabels)
        {
            var labels = data.Labels.Span;
            for (int i = 0; i < labels.Length; i++)
                if (labels[i] < 0 || labels[i] >= c)
                    throw new DataFormatException($"{loaded.Location}: sample {i} has label {labels[i]}, but {label} scores {c} classes (labels 0..{c - 1})");
        }
        var features = data.Features.Span;
        for (int i = 0; i < features.Length; i++)
        {
            if (float.IsFinite(features[i])) continue;
            int sample = i / data.SampleSize;
            throw new DataFormatException($"{loaded.Location}: sample {sample} holds {features[i]} at feature {i % data.SampleSize}; Whittle needs finite features (clean or impute the data first)");
        }
        return data;
    }
}
