using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Whittle.Onnx;

namespace Whittle.Runtime;

/// <summary>Name, element type and declared shape (-1 for a dynamic dimension) of a session input or output.</summary>
/// <param name="Name">The value name.</param>
/// <param name="ElementType">The element type.</param>
/// <param name="Shape">The declared shape; -1 marks a dynamic dimension.</param>
/// <param name="SymbolicShape">Names of symbolic dimensions (empty string when fixed or unnamed).</param>
public sealed record TensorSignature(string Name, OnnxDataType ElementType, long[] Shape, string[] SymbolicShape)
{
    /// <summary>The batch size the model fixes in its first dimension, or null when that dimension is dynamic (or the input is a scalar).</summary>
    public int? FixedBatchSize => Shape.Length > 0 && Shape[0] >= 0 ? (int)Shape[0] : null;

    /// <summary>A description such as <c>float32[batch,1,28,28]</c>.</summary>
    public override string ToString() =>
        $"{Name}: {OnnxDataTypes.Name(ElementType)}[{string.Join(",", Shape.Select((d, i) => d >= 0 ? d.ToString() : SymbolicShape[i].Length > 0 ? SymbolicShape[i] : "?"))}]";
}

/// <summary>
/// An ONNX Runtime inference session over an <see cref="OnnxModel"/>, with explicit threading
/// and optimization settings, batched inference and ORT failures turned into clear errors.
/// </summary>
public sealed class OnnxRuntimeSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();

    /// <summary>
    /// Creates a session; the model is serialized in memory (the file is not re-read, so edits are
    /// seen). External data is read in, so the session runs exactly the bytes
    /// <see cref="OnnxModel.Save"/> would write; only a model over 2 GB that way keeps its
    /// references, and ORT reads them from the model's <see cref="OnnxModel.BaseDirectory"/>.
    /// </summary>
    /// <exception cref="RuntimeException">ONNX Runtime rejects the model.</exception>
    /// <exception cref="OnnxException">The model's external data cannot be read.</exception>
    public OnnxRuntimeSession(OnnxModel model, RuntimeOptions? options = null)
        : this(model, options, ExternalData.InlineLimit)
    {
    }

    /// <summary>A session that keeps external data in its files above <paramref name="inlineLimit"/> bytes (tests use a small one).</summary>
    internal OnnxRuntimeSession(OnnxModel model, RuntimeOptions? options, long inlineLimit)
    {
        ArgumentNullException.ThrowIfNull(model);
        Options = options ?? RuntimeOptions.Default;
        Label = model.SourcePath ?? model.Graph.Name;
        var bytes = model.ToRuntimeBytes(inlineLimit, out var dataDirectory);
        using var so = CreateSessionOptions(Options);
        // A model given as bytes has no location of its own; without this ORT would look for
        // the data files relative to the working directory.
        if (dataDirectory is not null) so.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", dataDirectory);
        try
        {
            _session = new InferenceSession(bytes, so);
        }
        catch (OnnxRuntimeException e)
        {
            throw new RuntimeException($"{Label}: ONNX Runtime cannot load the model: {FirstLine(e.Message)}", e);
        }
        Inputs = _session.InputMetadata.Select(kv => Signature(kv.Key, kv.Value)).ToList();
        Outputs = _session.OutputMetadata.Select(kv => Signature(kv.Key, kv.Value)).ToList();
    }

    /// <summary>The options the session was created with.</summary>
    public RuntimeOptions Options { get; }

    /// <summary>The model's file path or graph name, used in messages.</summary>
    public string Label { get; }

    /// <summary>Inputs the model needs.</summary>
    public IReadOnlyList<TensorSignature> Inputs { get; }

    /// <summary>Outputs the model produces.</summary>
    public IReadOnlyList<TensorSignature> Outputs { get; }

    /// <summary>Runs the model once; returns the requested outputs (all by default) by name.</summary>
    /// <exception cref="RuntimeException">Missing or mismatched inputs, or an ORT failure.</exception>
    public IReadOnlyDictionary<string, RuntimeTensor> Run(IReadOnlyDictionary<string, RuntimeTensor> inputs, IReadOnlyCollection<string>? outputNames = null)
    {
        var missing = Inputs.Where(i => !inputs.ContainsKey(i.Name)).Select(i => i.ToString()).ToList();
        if (missing.Count > 0) throw new RuntimeException($"{Label}: missing input(s): {string.Join(", ", missing)}");
        var unknown = inputs.Keys.Where(k => Inputs.All(i => i.Name != k)).ToList();
        if (unknown.Count > 0)
            throw new RuntimeException($"{Label}: unknown input(s) {string.Join(", ", unknown)}; the model takes {string.Join(", ", Inputs)}");
        foreach (var sig in Inputs) CheckShape(sig, inputs[sig.Name]);

        var names = outputNames ?? Outputs.Select(o => o.Name).ToArray();
        var values = new List<OrtValue>(inputs.Count);
        try
        {
            var orderedNames = new List<string>(inputs.Count);
            foreach (var (name, tensor) in inputs)
            {
                orderedNames.Add(name);
                values.Add(ToOrtValue(tensor));
            }
            using var results = _session.Run(_runOptions, orderedNames, values, names);
            var output = new Dictionary<string, RuntimeTensor>(StringComparer.Ordinal);
            int k = 0;
            foreach (var name in names) output[name] = FromOrtValue(results[k++], name);
            return output;
        }
        catch (OnnxRuntimeException e)
        {
            throw new RuntimeException($"{Label}: inference failed: {FirstLine(e.Message)}", e);
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    /// <summary>Runs a model with a single input and returns its first output.</summary>
    public RuntimeTensor Run(RuntimeTensor input)
    {
        if (Inputs.Count != 1)
            throw new RuntimeException($"{Label}: the model takes {Inputs.Count} inputs ({string.Join(", ", Inputs)}); pass them by name");
        return Run(new Dictionary<string, RuntimeTensor> { [Inputs[0].Name] = input }, [Outputs[0].Name])[Outputs[0].Name];
    }

    /// <summary>
    /// Runs the model over the samples stored row-major in
    /// <paramref name="features"/> (each of <paramref name="sampleShape"/>), in batches, and
    /// returns the first output of every sample concatenated: [count, ...outputShape].
    /// Float32 features feed the model's inputs in one of three ways:
    /// <list type="bullet">
    /// <item>one float input: as they are;</item>
    /// <item>one integer input (token ids): converted to int64/int32; every value must be a whole number;</item>
    /// <item>k inputs of shape [batch] (a recommender's user and item ids), with samples of shape [k]: column j feeds input j, converted to its type.</item>
    /// </list>
    /// </summary>
    /// <param name="features">count × product(sampleShape) values, for any sample count.</param>
    /// <param name="sampleShape">Shape of one sample (without the batch dimension).</param>
    /// <param name="batchSize">Samples per run.</param>
    /// <param name="progress">Receives the number of samples done after each batch.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    public RuntimeTensor RunBatches(ReadOnlyMemory<float> features, int[] sampleShape, int batchSize = 256,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be positive");
        if (Inputs.Count != 1 && !(sampleShape.Length == 1 && sampleShape[0] == Inputs.Count && Inputs.All(i => i.Shape.Length == 1)))
            throw new RuntimeException($"{Label}: batched inference feeds one input, or one feature column to each of several [batch] inputs; this model takes {string.Join(", ", Inputs)} and the samples are [{string.Join(",", sampleShape)}]");
        int sampleSize = sampleShape.Aggregate(1, (a, b) => a * b);
        if (sampleSize == 0 || features.Length % sampleSize != 0)
            throw new RuntimeException($"{Label}: {features.Length} values are not a whole number of samples of shape [{string.Join(",", sampleShape)}]");
        int count = features.Length / sampleSize;
        float[]? all = null;
        long[]? outShape = null;
        int done = 0;
        while (done < count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = Math.Min(batchSize, count - done);
            var batch = features.Slice(done * sampleSize, n * sampleSize).ToArray();
            var shape = new long[sampleShape.Length + 1];
            shape[0] = n;
            for (int i = 0; i < sampleShape.Length; i++) shape[i + 1] = sampleShape[i];
            var result = Run(FeedsFromFeatures(batch, shape), [Outputs[0].Name])[Outputs[0].Name];
            var values = result.AsFloats();
            if (result.Shape.Length == 0 || result.Shape[0] != n)
                throw new RuntimeException($"{Label}: output '{Outputs[0].Name}' has shape [{string.Join(",", result.Shape)}]; expected the batch size {n} first");
            if (all is null)
            {
                outShape = (long[])result.Shape.Clone();
                outShape[0] = count;
                all = new float[(long)count * (values.Length / n)];
            }
            values.CopyTo(all, (long)done * (values.Length / n));
            done += n;
            progress?.Report(done);
        }
        return RuntimeTensor.FromFloats(all ?? [], outShape ?? [0]);
    }

    private Dictionary<string, RuntimeTensor> FeedsFromFeatures(float[] batch, long[] shape)
    {
        if (Inputs.Count == 1) return new() { [Inputs[0].Name] = Convert(Inputs[0], batch, shape) };
        int n = (int)shape[0], k = Inputs.Count;
        var feeds = new Dictionary<string, RuntimeTensor>(k);
        for (int j = 0; j < k; j++)
        {
            var column = new float[n];
            for (int i = 0; i < n; i++) column[i] = batch[i * k + j];
            feeds[Inputs[j].Name] = Convert(Inputs[j], column, [n]);
        }
        return feeds;
    }

    private RuntimeTensor Convert(TensorSignature input, float[] values, long[] shape) => FromFeatures(input, values, shape, Label);

    /// <summary>
    /// Float features as the values of <paramref name="input"/>: floats as they are; integer ids
    /// (float32 holds every integer below 2^24 exactly) checked to be whole numbers and converted.
    /// </summary>
    /// <exception cref="RuntimeException">A value is not a whole number, or the input type cannot be fed from floats.</exception>
    public static RuntimeTensor FromFeatures(TensorSignature input, float[] values, long[] shape, string label)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(values);
        switch (input.ElementType)
        {
            case OnnxDataType.Float:
                return RuntimeTensor.FromFloats(values, shape);
            case OnnxDataType.Int64 or OnnxDataType.Int32:
                var ids = new long[values.Length];
                for (int i = 0; i < values.Length; i++)
                {
                    float v = values[i];
                    if (v != MathF.Round(v) || Math.Abs(v) > (1 << 24))
                        throw new RuntimeException($"{label}: input {input} takes integer ids, but the data holds {v}");
                    ids[i] = (long)v;
                }
                return input.ElementType == OnnxDataType.Int64
                    ? RuntimeTensor.FromInt64s(ids, shape)
                    : RuntimeTensor.FromInt32s(Array.ConvertAll(ids, x => (int)x), shape);
            default:
                throw new RuntimeException($"{label}: input {input} cannot be fed from float32 features");
        }
    }

    /// <summary>
    /// Makes an input of the declared shape for timing or smoke tests (<see cref="GeneratedInputs.Shape"/>): a dynamic
    /// first dimension becomes <paramref name="batchSize"/>, every other dynamic one <paramref name="sequenceLength"/>.
    /// Integer inputs are zeros; <see cref="GeneratedInputs.Create"/> gives them values by what they are.
    /// </summary>
    public RuntimeTensor SampleInput(TensorSignature input, int batchSize, int seed = 0, int sequenceLength = GeneratedInputs.DefaultSequenceLength)
    {
        if (input.FixedBatchSize is { } fixedBatch && fixedBatch != batchSize)
            throw new RuntimeException($"{Label}: input {input} has a fixed batch dimension of {fixedBatch}, so it cannot run batch size {batchSize}");
        var shape = GeneratedInputs.Shape(input, batchSize, sequenceLength);
        int n = (int)shape.Aggregate(1L, (a, b) => a * b);
        var rng = new Random(seed);
        return input.ElementType switch
        {
            OnnxDataType.Float => RuntimeTensor.FromFloats(Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray(), shape),
            OnnxDataType.Double => RuntimeTensor.FromDoubles(Enumerable.Range(0, n).Select(_ => rng.NextDouble()).ToArray(), shape),
            // Index inputs (token ids, user ids) get small values that are valid for any table.
            OnnxDataType.Int64 => RuntimeTensor.FromInt64s(new long[n], shape),
            OnnxDataType.Int32 => RuntimeTensor.FromInt32s(new int[n], shape),
            OnnxDataType.UInt8 => RuntimeTensor.FromBytes(Enumerable.Range(0, n).Select(_ => (byte)rng.Next(256)).ToArray(), shape),
            OnnxDataType.Int8 => RuntimeTensor.FromSBytes(Enumerable.Range(0, n).Select(_ => (sbyte)rng.Next(-128, 128)).ToArray(), shape),
            OnnxDataType.Bool => RuntimeTensor.FromBools(new bool[n], shape),
            _ => throw new RuntimeException($"{Label}: cannot generate sample data for input {input}"),
        };
    }

    /// <summary>Sample inputs for every model input (see <see cref="SampleInput"/>).</summary>
    public Dictionary<string, RuntimeTensor> SampleInputs(int batchSize, int seed = 0, int sequenceLength = GeneratedInputs.DefaultSequenceLength) =>
        Inputs.Select((i, k) => (i.Name, SampleInput(i, batchSize, seed + k, sequenceLength))).ToDictionary(x => x.Name, x => x.Item2);

    /// <summary>Stops profiling (see <see cref="RuntimeOptions.ProfilePrefix"/>) and returns the profile file's path.</summary>
    /// <exception cref="RuntimeException">The session was not created with profiling on.</exception>
    public string EndProfiling()
    {
        if (Options.ProfilePrefix is null) throw new RuntimeException($"{Label}: profiling was not enabled for this session");
        return _session.EndProfiling();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }

    internal static SessionOptions CreateSessionOptions(RuntimeOptions options)
    {
        var so = new SessionOptions
        {
            // The prefix must be set before profiling is enabled: ORT's EnableProfiling setter
            // hands it the prefix it has at that moment, so in the other order every profile went
            // to the working directory as onnxruntime_profile__<time>.json.
            ProfileOutputPathPrefix = options.ProfilePrefix ?? "onnxruntime_profile_",
            EnableProfiling = options.ProfilePrefix is not null,
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = options.InterOpThreads,
            ExecutionMode = options.InterOpThreads > 1 ? ExecutionMode.ORT_PARALLEL : ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = options.Optimization switch
            {
                GraphOptimization.Disabled => GraphOptimizationLevel.ORT_DISABLE_ALL,
                GraphOptimization.Basic => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                GraphOptimization.Extended => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
            },
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        so.AddSessionConfigEntry("session.intra_op.allow_spinning", options.AllowSpinning ? "1" : "0");
        so.AddSessionConfigEntry("session.inter_op.allow_spinning", options.AllowSpinning ? "1" : "0");
        return so;
    }

    private void CheckShape(TensorSignature sig, RuntimeTensor t)
    {
        if (sig.ElementType != t.ElementType)
            throw new RuntimeException($"{Label}: input '{sig.Name}' must be {OnnxDataTypes.Name(sig.ElementType)}, got {OnnxDataTypes.Name(t.ElementType)}");
        if (sig.Shape.Length != t.Shape.Length)
            throw new RuntimeException($"{Label}: input '{sig.Name}' expects rank {sig.Shape.Length} {sig}, got shape [{string.Join(",", t.Shape)}]");
        for (int i = 0; i < sig.Shape.Length; i++)
            if (sig.Shape[i] >= 0 && sig.Shape[i] != t.Shape[i])
                throw new RuntimeException($"{Label}: input '{sig.Name}' expects {sig}, got shape [{string.Join(",", t.Shape)}] (dimension {i})");
    }

    private static OrtValue ToOrtValue(RuntimeTensor t) => t.Data switch
    {
        float[] f => OrtValue.CreateTensorValueFromMemory(f, t.Shape),
        long[] l => OrtValue.CreateTensorValueFromMemory(l, t.Shape),
        int[] i => OrtValue.CreateTensorValueFromMemory(i, t.Shape),
        byte[] b => OrtValue.CreateTensorValueFromMemory(b, t.Shape),
        sbyte[] s => OrtValue.CreateTensorValueFromMemory(s, t.Shape),
        bool[] b => OrtValue.CreateTensorValueFromMemory(b, t.Shape),
        double[] d => OrtValue.CreateTensorValueFromMemory(d, t.Shape),
        _ => throw new RuntimeException($"unsupported input element type {t.ElementType}"),
    };

    private RuntimeTensor FromOrtValue(OrtValue v, string name)
    {
        if (!v.IsTensor) throw new RuntimeException($"{Label}: output '{name}' is not a tensor");
        var info = v.GetTensorTypeAndShape();
        var shape = info.Shape;
        return info.ElementDataType switch
        {
            TensorElementType.Float => RuntimeTensor.FromFloats(v.GetTensorDataAsSpan<float>().ToArray(), shape),
            TensorElementType.Int64 => RuntimeTensor.FromInt64s(v.GetTensorDataAsSpan<long>().ToArray(), shape),
            TensorElementType.Int32 => RuntimeTensor.FromInt32s(v.GetTensorDataAsSpan<int>().ToArray(), shape),
            TensorElementType.UInt8 => RuntimeTensor.FromBytes(v.GetTensorDataAsSpan<byte>().ToArray(), shape),
            TensorElementType.Int8 => RuntimeTensor.FromSBytes(v.GetTensorDataAsSpan<sbyte>().ToArray(), shape),
            TensorElementType.Bool => RuntimeTensor.FromBools(v.GetTensorDataAsSpan<bool>().ToArray(), shape),
            TensorElementType.Double => RuntimeTensor.FromDoubles(v.GetTensorDataAsSpan<double>().ToArray(), shape),
            TensorElementType.Float16 => RuntimeTensor.FromFloats(v.GetTensorDataAsSpan<Float16>().ToArray().Select(h => (float)h).ToArray(), shape),
            _ => throw new RuntimeException($"{Label}: output '{name}' has element type {info.ElementDataType}, which Whittle does not read"),
        };
    }

    private static TensorSignature Signature(string name, NodeMetadata m)
    {
        if (!m.IsTensor) return new TensorSignature(name, OnnxDataType.Undefined, [], []);
        var dims = m.Dimensions.Select(d => (long)d).ToArray();
        var sym = m.SymbolicDimensions ?? new string[dims.Length];
        return new TensorSignature(name, (OnnxDataType)(int)m.ElementDataType, dims, sym.Select(s => s ?? "").ToArray());
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n')[0].Trim();
        return line.Length > 400 ? line[..400] + "..." : line;
    }
}
