using System.IO.Compression;
using Whittle.Onnx;

namespace Whittle.Pruning;

/// <summary>
/// The honest size of a model on disk: the serialized .onnx file, and the same bytes compressed
/// with standard codecs. Zeroed weights do not shrink an ONNX file (dense tensors store every
/// zero), but they compress: the compressed size is what unstructured and N:M sparsity buy on
/// disk or over the wire. Structured pruning shrinks the file itself.
/// </summary>
/// <param name="Bytes">The serialized model.</param>
/// <param name="GzipBytes">The serialized model compressed with gzip (optimal level).</param>
/// <param name="BrotliBytes">The serialized model compressed with Brotli (optimal level).</param>
public sealed record ModelFileSize(long Bytes, long GzipBytes, long BrotliBytes)
{
    /// <summary>Serializes and compresses the model.</summary>
    public static ModelFileSize Measure(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var bytes = model.ToBytes();
        return new ModelFileSize(bytes.Length, Compressed(bytes, s => new GZipStream(s, CompressionLevel.Optimal, leaveOpen: true)),
            Compressed(bytes, s => new BrotliStream(s, CompressionLevel.Optimal, leaveOpen: true)));
    }

    private static long Compressed(byte[] bytes, Func<Stream, Stream> codec)
    {
        using var buffer = new MemoryStream();
        using (var stream = codec(buffer)) stream.Write(bytes);
        return buffer.Length;
    }
}
