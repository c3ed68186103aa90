using System.IO.Compression;

namespace Whittle.Data;

/// <summary>File plumbing shared by the loaders, so that every I/O failure surfaces as a <see cref="DataFormatException"/> naming the file.</summary>
internal static class DataFiles
{
    /// <summary>Opens <paramref name="path"/> for one sequential read.</summary>
    public static FileStream OpenRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataFormatException(path, "file not found", inner: e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(path, $"cannot be read: {e.Message}", inner: e);
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> and, when it starts with the gzip magic bytes 1f 8b,
    /// decompresses it on the fly; the caller reads plain content either way.
    /// </summary>
    public static Stream OpenMaybeGzipped(string path, out bool gzipped)
    {
        FileStream file = OpenRead(path);
        try
        {
            Span<byte> magic = stackalloc byte[2];
            int read = ReadFully(file, magic);
            file.Position = 0;
            gzipped = read == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
            return gzipped ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: false) : file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads until <paramref name="buffer"/> is full or the stream ends, and returns how many
    /// bytes arrived; corrupt compressed data becomes a <see cref="DataFormatException"/>.
    /// </summary>
    public static int ReadFully(Stream stream, Span<byte> buffer, string? path = null)
    {
        int total = 0;
        try
        {
            while (total < buffer.Length)
            {
                int read = stream.Read(buffer[total..]);
                if (read == 0) break;
                total += read;
            }
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path ?? "(stream)", $"corrupt or truncated gzip data ({e.Message})", inner: e);
        }
        catch (IOException e) when (path is not null)
        {
            throw new DataFormatException(path, $"cannot be read: {e.Message}", inner: e);
        }
        return total;
    }

    /// <summary>True when the stream has at least one more byte.</summary>
    public static bool HasMore(Stream stream, string path)
    {
        Span<byte> one = stackalloc byte[1];
        return ReadFully(stream, one, path) == 1;
    }
}
