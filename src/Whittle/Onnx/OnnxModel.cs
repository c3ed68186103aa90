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

    /// <summary>Removes the metadata entry <paramref name="key"/>; true if there was one.</summary>
    public bool RemoveMetadata(string key)
    {
        bool removed = false;
        foreach (var entry in Proto.MetadataProps.Where(p => p.Key == key).ToList()) removed |= Proto.MetadataProps.Remove(entry);
        return removed;
    }

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

    /// <summary>Removes a domain's opset import; false when it was not imported.</summary>
    public bool RemoveOpset(string domain)
    {
        var d = NormalizeDomain(domain);
        var existing = Proto.OpsetImport.FirstOrDefault(o => NormalizeDomain(o.Domain) == d);
        return existing is not null && Proto.OpsetImport.Remove(existing);
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

    /// <summary>
    /// The serialized model, self-contained: tensors stored in external data files are read in
    /// and written inline, so the bytes are the whole model wherever they go. A model without
    /// external data serializes exactly as it was loaded.
    /// </summary>
    /// <exception cref="OnnxException">An external data file is missing or too short, or the model with its data inline is over protobuf's 2 GB limit (<see cref="Save"/> writes such a model with its own data file).</exception>
    public byte[] ToBytes()
    {
        if (!ExternalData.Any(Proto)) return Proto.ToByteArray();
        var size = ExternalData.SelfContainedSize(Proto, BaseDirectory);
        if (size > ExternalData.InlineLimit)
            throw new OnnxException($"{SourcePath ?? Graph.Name}: with its external data inline the model would be {size:N0} bytes, over protobuf's 2 GB limit; save it to a file instead");
        var copy = Proto.Clone();
        ExternalData.Inline(copy, BaseDirectory);
        return copy.ToByteArray();
    }

    /// <summary>True when some tensor of the model keeps its data in an external file (see <see cref="ExternalDataFiles"/>).</summary>
    public bool HasExternalData => ExternalData.Any(Proto);

    /// <summary>The external data files the model reads its tensors from (absolute paths, resolved against <see cref="BaseDirectory"/>); empty for a self-contained model.</summary>
    public IReadOnlyList<string> ExternalDataFiles => ExternalData.Files(Proto, BaseDirectory);

    /// <summary>
    /// The external data file <see cref="Save"/> writes next to <paramref name="path"/> when the
    /// model is too large to be self-contained: the file name plus <c>.data</c>
    /// (<c>big.onnx</c> → <c>big.onnx.data</c>).
    /// </summary>
    public static string ExternalDataPathFor(string path) => ExternalData.DataPathFor(path);

    /// <summary>True when <see cref="Save"/> would write an external data file beside the model (over 2 GB with its data inline).</summary>
    public bool SavesWithExternalData => SavesWithExternalDataAt(ExternalData.InlineLimit);

    internal bool SavesWithExternalDataAt(long inlineLimit) => ExternalData.SelfContainedSize(Proto, BaseDirectory) > inlineLimit;

    /// <summary>
    /// Writes the model atomically: to a temporary file in the target directory, then renamed
    /// over the target, so a crash never leaves a half-written model. The file is self-contained
    /// (external data read in and stored inline), unless that would exceed protobuf's 2 GB limit:
    /// then tensors of 1 KB and more go to <see cref="ExternalDataPathFor"/> beside it (also
    /// written to a temporary name first), and the model refers to that file only.
    /// </summary>
    /// <exception cref="OnnxException">The directory is missing or not writable, an external data file of the model cannot be read, or the output's data file is one the model reads from.</exception>
    public void Save(string path) => SaveSplittingAbove(path, ExternalData.InlineLimit);

    /// <summary><see cref="Save(string)"/> with another size above which the data goes to its own file (tests use a small one).</summary>
    internal void SaveSplittingAbove(string path, long inlineLimit)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!SavesWithExternalDataAt(inlineLimit))
        {
            AtomicFile.WriteAllBytes(path, ToBytes());
            return;
        }
        try
        {
            ExternalData.WriteSplit(Proto, BaseDirectory, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxException($"{path}: cannot write: {e.Message}", e);
        }
    }

    /// <summary>
    /// The bytes an ONNX Runtime session is created from, and the directory external data must be
    /// read from (null when the bytes are self-contained). Up to <paramref name="inlineLimit"/>
    /// the session gets exactly the bytes <see cref="Save"/> writes; a larger model keeps its
    /// references and ORT reads them from <see cref="BaseDirectory"/>.
    /// </summary>
    internal byte[] ToRuntimeBytes(long inlineLimit, out string? externalDataDirectory)
    {
        externalDataDirectory = null;
        if (!ExternalData.Any(Proto)) return Proto.ToByteArray();
        if (!SavesWithExternalDataAt(inlineLimit)) return ToBytes();
        externalDataDirectory = BaseDirectory ?? Directory.GetCurrentDirectory();
        return Proto.ToByteArray();
    }

    /// <summary>A deep copy (same source path and external-data directory).</summary>
    public OnnxModel Clone() => new(Proto.Clone(), SourcePath, BaseDirectory);

    /// <summary>Checks the graph; see <see cref="OnnxValidator"/>.</summary>
    public OnnxValidationResult Validate() => OnnxValidator.Validate(this);
}
