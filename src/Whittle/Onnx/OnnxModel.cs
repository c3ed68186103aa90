using Google.Protobuf;
using Whittle.Onnx.Proto;

namespace Whittle.Onnx;

/// <summary>
/// An ONNX model: the unit every Whittle technique reads and writes. Loading keeps every
/// field (known or not) so that an unmodified model re-serializes byte-for-byte.
/// </summary>
public sealed class OnnxModel
{
    internal ModelProto Proto { get; }

    /// <summary>The file the model was loaded from, or null.</summary>
    public string? SourcePath { get; }

    /// <summary>Directory that external tensor data is resolved against.</summary>
    public string? BaseDirectory { get; }

    internal OnnxModel(ModelProto proto, string? sourcePath, string? baseDirectory)
    {
        Proto = proto;
        SourcePath = sourcePath;
        BaseDirectory = baseDirectory;
        Graph = new OnnxGraph(proto.Graph, baseDirectory);
    }

    /// <summary>Creates an empty model with a graph, the given default-domain opset and IR version.</summary>
    public static OnnxModel Create(string graphName, long opset, long irVersion = 8, string producer = "Whittle")
    {
        var proto = new ModelProto
        {
            IrVersion = irVersion,
            ProducerName = producer,
            ProducerVersion = typeof(OnnxModel).Assembly.GetName().Version?.ToString(3) ?? "0",
            Graph = new GraphProto { Name = graphName },
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return new OnnxModel(proto, null, null);
    }

    /// <summary>The graph.</summary>
    public OnnxGraph Graph { get; }

    /// <summary>IR version of the file format.</summary>
    public long IrVersion => Proto.IrVersion;

    /// <summary>Sets the IR version (after an edit that needs a newer one, e.g. an opset upgrade).</summary>
    public void SetIrVersion(long version)
    {
        if (version <= 0) throw new ArgumentOutOfRangeException(nameof(version), version, "must be positive");
        Proto.IrVersion = version;
    }

    /// <summary>The producing tool (e.g. <c>pytorch</c>, <c>tf2onnx</c>, <c>CNTK</c>).</summary>
    public string ProducerName => Proto.ProducerName;

    /// <summary>The producing tool's version.</summary>
    public string ProducerVersion => Proto.ProducerVersion;

    /// <summary>Model metadata key/value pairs.</summary>
    public IReadOnlyDictionary<string, string> Metadata =>
        Proto.MetadataProps.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);

    /// <summary>Sets (or replaces) a metadata entry.</summary>
    public void SetMetadata(string key, string value)
    {
        var existing = Proto.MetadataProps.FirstOrDefault(p => p.Key == key);
        if (existing is not null) existing.Value = value;
        else Proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
    }

    /// <summary>
    /// Imported operator sets: domain (empty string = default ONNX domain) to version.
    /// IR version 1-2 models have no imports and use opset 1.
    /// </summary>
    public IReadOnlyDictionary<string, long> Opsets
    {
        get
        {
            var map = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (var o in Proto.OpsetImport) map[NormalizeDomain(o.Domain)] = o.Version;
            if (map.Count == 0) map[""] = 1;
            return map;
        }
    }

    /// <summary>The opset version imported for a domain (default: the ONNX domain), or null when not imported.</summary>
    public long? GetOpset(string domain = "") => Opsets.TryGetValue(NormalizeDomain(domain), out var v) ? v : null;

    /// <summary>Sets the imported version of a domain's opset (adds the import when missing).</summary>
    public void SetOpset(string domain, long version)
    {
        var d = NormalizeDomain(domain);
        var existing = Proto.OpsetImport.FirstOrDefault(o => NormalizeDomain(o.Domain) == d);
        if (existing is not null) existing.Version = version;
        else Proto.OpsetImport.Add(new OperatorSetIdProto { Domain = d, Version = version });
    }

    private static string NormalizeDomain(string domain) => domain == "ai.onnx" ? "" : domain;

    // ---- loading ------------------------------------------------------------------------

    /// <summary>Loads a model file; external data is resolved next to it.</summary>
    /// <exception cref="OnnxException">Missing, unreadable, truncated, corrupt or non-ONNX file.</exception>
    public static OnnxModel Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException) { throw new OnnxException($"{path}: file not found"); }
        catch (DirectoryNotFoundException) { throw new OnnxException($"{path}: file not found"); }
        catch (UnauthorizedAccessException) { throw new OnnxException($"{path}: access denied (or it is a directory)"); }
        catch (IOException e) { throw new OnnxException($"{path}: cannot read: {e.Message}", e); }
        var full = Path.GetFullPath(path);
        return Parse(bytes, full, Path.GetDirectoryName(full), path);
    }

    /// <summary>Loads a model from a stream (external data resolved against <paramref name="baseDirectory"/>).</summary>
    public static OnnxModel Load(Stream stream, string? baseDirectory = null)
    {
        using var buffer = new MemoryStream();
        try
        {
            stream.CopyTo(buffer);
        }
        catch (IOException e) { throw new OnnxException($"<stream>: cannot read: {e.Message}", e); }
        return Parse(buffer.ToArray(), null, baseDirectory, "<stream>");
    }

    /// <summary>Loads a model from its serialized bytes.</summary>
    public static OnnxModel Load(ReadOnlySpan<byte> bytes, string? baseDirectory = null) =>
        Parse(bytes.ToArray(), null, baseDirectory, "<bytes>");

    private static OnnxModel Parse(byte[] bytes, string? sourcePath, string? baseDirectory, string label)
    {
        if (bytes.Length == 0) throw new OnnxException($"{label}: file is empty, not an ONNX model");
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxException($"{label}: not a valid ONNX model ({Describe(e)})", e);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The protobuf runtime can surface other exception types on hostile input.
            throw new OnnxException($"{label}: not a valid ONNX model ({e.GetType().Name}: {e.Message})", e);
        }
        if (proto.Graph is null)
            throw new OnnxException($"{label}: not an ONNX model (no graph; {bytes.Length} bytes parsed as protobuf)");
        if (!proto.HasIrVersion || proto.IrVersion <= 0 || proto.IrVersion > 100)
            throw new OnnxException($"{label}: not an ONNX model (IR version {(proto.HasIrVersion ? proto.IrVersion.ToString() : "missing")})");
        foreach (var n in proto.Graph.Node)
            if (string.IsNullOrEmpty(n.OpType))
                throw new OnnxException($"{label}: corrupt ONNX model (node '{n.Name}' has no op_type)");
        return new OnnxModel(proto, sourcePath, baseDirectory);
    }

    private static string Describe(InvalidProtocolBufferException e)
    {
        var m = e.Message;
        if (m.Contains("truncated", StringComparison.OrdinalIgnoreCase)) return "the file is truncated";
        var dot = m.IndexOf(". ", StringComparison.Ordinal);
        return (dot > 0 ? m[..dot] : m.TrimEnd('.')).ToLowerInvariant();
    }

    // ---- saving -------------------------------------------------------------------------

    /// <summary>The serialized model.</summary>
    public byte[] ToBytes() => Proto.ToByteArray();

    /// <summary>
    /// Writes the model atomically: to a temporary file in the target directory, then renamed
    /// over the target, so a crash never leaves a half-written model.
    /// </summary>
    public void Save(string path) => AtomicFile.WriteAllBytes(path, ToBytes());

    /// <summary>A deep copy (same source path and external-data directory).</summary>
    public OnnxModel Clone() => new(Proto.Clone(), SourcePath, BaseDirectory);

    /// <summary>Checks the graph; see <see cref="OnnxValidator"/>.</summary>
    public OnnxValidationResult Validate() => OnnxValidator.Validate(this);
}
