using Google.Protobuf;
using Whittle.Onnx.Proto;

namespace Whittle.Onnx;

/// <summary>
/// ONNX external data: tensors whose bytes live in a separate file next to the model
/// (<c>data_location = EXTERNAL</c>, <c>external_data</c> = location, offset, length). Large
/// exports use it because one protobuf message cannot exceed 2 GB. Whittle reads such tensors
/// from the model's directory, writes outputs self-contained when they fit in one message, and
/// otherwise gives an output its own data file named after it.
/// </summary>
internal static class ExternalData
{
    /// <summary>
    /// Above this many bytes a model is written with an external data file. Protobuf's hard
    /// limit is 2^31 - 1 bytes per message; the margin covers the estimate's field overheads.
    /// </summary>
    public const long InlineLimit = 2_000_000_000;

    /// <summary>Tensors smaller than this stay inline when a model is split (onnx's own default threshold).</summary>
    public const long SplitThreshold = 1024;

    /// <summary>Offsets in a written data file are multiples of this, so ONNX Runtime can map tensors straight from the file.</summary>
    public const long Alignment = 4096;

    /// <summary>The data file Whittle writes next to a model too large to be self-contained: the model's file name plus <c>.data</c>.</summary>
    public static string DataPathFor(string modelPath)
    {
        var full = Path.GetFullPath(modelPath);
        return Path.Combine(Path.GetDirectoryName(full) ?? ".", DataFileNameFor(full));
    }

    /// <summary>The file name (the location written into the model) of <see cref="DataPathFor"/>.</summary>
    public static string DataFileNameFor(string modelPath) => Path.GetFileName(modelPath) + ".data";

    /// <summary>
    /// Every tensor that can carry data anywhere in the model: graph initializers, sparse
    /// initializers, tensor attributes (Constant values), in subgraphs and local functions too.
    /// </summary>
    public static IEnumerable<TensorProto> Tensors(ModelProto model)
    {
        if (model.Graph is not null)
            foreach (var t in Tensors(model.Graph)) yield return t;
        foreach (var f in model.Functions)
            foreach (var n in f.Node)
                foreach (var t in Tensors(n)) yield return t;
        foreach (var training in model.TrainingInfo)
        {
            if (training.Initialization is not null)
                foreach (var t in Tensors(training.Initialization)) yield return t;
            if (training.Algorithm is not null)
                foreach (var t in Tensors(training.Algorithm)) yield return t;
        }
    }

    private static IEnumerable<TensorProto> Tensors(GraphProto graph)
    {
        foreach (var t in graph.Initializer) yield return t;
        foreach (var s in graph.SparseInitializer)
            foreach (var t in Tensors(s)) yield return t;
        foreach (var n in graph.Node)
            foreach (var t in Tensors(n)) yield return t;
    }

    private static IEnumerable<TensorProto> Tensors(NodeProto node)
    {
        foreach (var a in node.Attribute)
        {
            if (a.T is not null) yield return a.T;
            foreach (var t in a.Tensors) yield return t;
            if (a.SparseTensor is not null)
                foreach (var t in Tensors(a.SparseTensor)) yield return t;
            foreach (var s in a.SparseTensors)
                foreach (var t in Tensors(s)) yield return t;
            if (a.G is not null)
                foreach (var t in Tensors(a.G)) yield return t;
            foreach (var g in a.Graphs)
                foreach (var t in Tensors(g)) yield return t;
        }
    }

    private static IEnumerable<TensorProto> Tensors(SparseTensorProto sparse)
    {
        if (sparse.Values is not null) yield return sparse.Values;
        if (sparse.Indices is not null) yield return sparse.Indices;
    }

    /// <summary>True when the tensor's data is in an external file.</summary>
    public static bool IsExternal(TensorProto t) => t.HasDataLocation && t.DataLocation == TensorProto.Types.DataLocation.External;

    /// <summary>True when any tensor of the model keeps its data in an external file.</summary>
    public static bool Any(ModelProto model) => Tensors(model).Any(IsExternal);

    /// <summary>The distinct external data files the model reads (absolute paths), in first-use order.</summary>
    public static IReadOnlyList<string> Files(ModelProto model, string? baseDirectory)
    {
        var files = new List<string>();
        foreach (var t in Tensors(model))
        {
            if (!IsExternal(t)) continue;
            var location = t.ExternalData.FirstOrDefault(kv => kv.Key == "location")?.Value;
            if (string.IsNullOrEmpty(location)) continue;
            var path = Path.GetFullPath(Path.Combine(baseDirectory ?? Directory.GetCurrentDirectory(), location));
            if (!files.Contains(path, StringComparer.Ordinal)) files.Add(path);
        }
        return files;
    }

    /// <summary>
    /// The size the model would have serialized with every tensor inline, without serializing it
    /// (which would fail for the models this is asked about).
    /// </summary>
    public static long SelfContainedSize(ModelProto model, string? baseDirectory)
    {
        // Measure a copy with the big payloads taken out (ByteStrings are shared, not copied),
        // then add the payloads back as longs: the int sizes of protobuf would overflow.
        var stripped = model.Clone();
        long payload = 0;
        foreach (var t in Tensors(stripped))
        {
            if (IsExternal(t)) payload += new OnnxTensor(t, baseDirectory).ExternalLength() + 32;
            else if (t.HasRawData) payload += t.RawData.Length + 8;
            else continue;
            t.ClearRawData();
            t.ExternalData.Clear();
            t.ClearDataLocation();
        }
        return stripped.CalculateSize() + payload;
    }

    /// <summary>Reads every external tensor of <paramref name="model"/> (a copy the caller owns) into its <c>raw_data</c>.</summary>
    public static void Inline(ModelProto model, string? baseDirectory)
    {
        foreach (var t in Tensors(model))
            if (IsExternal(t)) Inline(t, baseDirectory);
    }

    /// <summary>Reads one external tensor into its <c>raw_data</c>.</summary>
    public static void Inline(TensorProto t, string? baseDirectory)
    {
        var bytes = new OnnxTensor(t, baseDirectory).ReadExternalChecked();
        t.ExternalData.Clear();
        t.ClearDataLocation();
        t.RawData = UnsafeByteOperations.UnsafeWrap(bytes);
    }

    /// <summary>
    /// Writes a model too large for one protobuf message: every tensor of at least
    /// <see cref="SplitThreshold"/> bytes (string tensors aside, which ONNX keeps inline) goes to <c>&lt;file name&gt;.data</c> beside
    /// <paramref name="path"/> (aligned offsets), the rest and the graph to <paramref name="path"/>.
    /// Both files are written to temporary names first and renamed only when both are complete.
    /// </summary>
    public static void WriteSplit(ModelProto source, string? baseDirectory, string path)
    {
        var full = Path.GetFullPath(path);
        var dataPath = DataPathFor(full);
        var location = DataFileNameFor(full);
        foreach (var input in Files(source, baseDirectory))
            if (FileIdentity.Same(input, dataPath))
                throw new OnnxException($"{path}: its external data file {dataPath} is where the model's own data is read from; write the model somewhere else");
        var model = source.Clone();
        using var data = AtomicFile.Begin(dataPath);
        var stream = data.Stream;
        foreach (var t in Tensors(model))
        {
            if ((OnnxDataType)t.DataType is OnnxDataType.String or OnnxDataType.Undefined) continue;
            var view = new OnnxTensor(t, baseDirectory);
            bool external = IsExternal(t);
            if (view.StorageBytes < SplitThreshold)
            {
                // Small tensors (shapes, scales, biases) stay in the model, wherever they were read from.
                if (external) Inline(t, baseDirectory);
                continue;
            }
            var bytes = external ? view.ReadExternalChecked() : view.ToRawBytes();
            long offset = (stream.Position + Alignment - 1) / Alignment * Alignment;
            if (offset > stream.Position) stream.Write(new byte[offset - stream.Position]);
            stream.Write(bytes);
            t.ClearRawData();
            t.FloatData.Clear();
            t.Int32Data.Clear();
            t.Int64Data.Clear();
            t.DoubleData.Clear();
            t.Uint64Data.Clear();
            t.ExternalData.Clear();
            t.DataLocation = TensorProto.Types.DataLocation.External;
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }
        using var graph = AtomicFile.Begin(full);
        model.WriteTo(graph.Stream);
        // Two files cannot be replaced in one step: renamed one after the other, an old model and
        // new data (had the second rename failed) can meet only in the moment between two renames,
        // not for the time the writing took.
        data.Commit();
        graph.Commit();
    }
}
