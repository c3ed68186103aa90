namespace Whittle.Onnx;

/// <summary>Whole-file writes that never leave a partial file behind.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes to a temporary file beside <paramref name="path"/>, flushes it to disk, then
    /// renames it over the target (an atomic replace on the same file system).
    /// </summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes) =>
        Replace(path, bytes, static (stream, b) => stream.Write(b));

    /// <summary>
    /// Like <see cref="WriteAllBytes"/>, but <paramref name="write"/> writes the content into the
    /// temporary file's stream (seekable), so large content need not be assembled in memory first.
    /// </summary>
    /// <param name="path">The file to replace.</param>
    /// <param name="write">Writes the whole content; must not close the stream.</param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        Replace(path, write, static (stream, w) => w(stream));
    }

    private static void Replace<TState>(string path, TState state, Action<FileStream, TState> write)
        where TState : allows ref struct
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full) ?? ".";
        if (!Directory.Exists(dir)) throw new OnnxException($"{path}: directory '{dir}' does not exist");
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(fs, state);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new OnnxException($"{path}: cannot write: {e.Message}", e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes text (UTF-8) atomically.</summary>
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
