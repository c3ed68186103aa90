using System.Text.RegularExpressions;

namespace Whittle.Onnx;

/// <summary>
/// Whole-file writes that never leave a partial file behind. The data goes to a temporary file
/// beside the target, <c>.&lt;name&gt;.&lt;process id&gt;.&lt;random&gt;.tmp</c>, which is flushed and
/// renamed over the target (an atomic replace on one file system). A failed write deletes it; a
/// process that is killed cannot, so the next write to the same path deletes the temporary files
/// of processes that no longer run.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes to a temporary file beside <paramref name="path"/>, flushes it to disk, then
    /// renames it over the target (an atomic replace on the same file system).
    /// </summary>
    /// <exception cref="OnnxException">The directory does not exist or the file cannot be written; the target is unchanged.</exception>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        using var file = Begin(path);
        try
        {
            file.Stream.Write(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxException($"{path}: cannot write: {e.Message}", e);
        }
        file.Commit();
    }

    /// <summary>Writes text (UTF-8) atomically.</summary>
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// Writes whatever <paramref name="write"/> puts in the stream atomically (for data too large
    /// to build in memory first). When it throws, the target is unchanged and the temporary file gone.
    /// </summary>
    /// <exception cref="OnnxException">The directory does not exist or the file cannot be written.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        using var file = Begin(path);
        try
        {
            write(file.Stream);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxException($"{path}: cannot write: {e.Message}", e);
        }
        file.Commit();
    }

    /// <summary>
    /// Opens the temporary file for <paramref name="path"/>; <see cref="PendingFile.Commit"/>
    /// renames it over the target, disposing without committing deletes it. For writes of
    /// several files that should be replaced together (a model and its data file).
    /// </summary>
    internal static PendingFile Begin(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full) ?? ".";
        if (!Directory.Exists(dir)) throw new OnnxException($"{path}: directory '{dir}' does not exist");
        RemoveOrphans(full);
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            return new PendingFile(path, full, temp);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxException($"{path}: cannot write: {e.Message}", e);
        }
    }

    /// <summary>
    /// Deletes the temporary files that writes of <paramref name="full"/> by processes that no
    /// longer run left behind (killed mid-write). Files of a running process, this one included,
    /// are left alone: that write may still be going on.
    /// </summary>
    internal static void RemoveOrphans(string full)
    {
        var dir = Path.GetDirectoryName(full);
        if (dir is null) return;
        var name = Path.GetFileName(full);
        var pattern = new Regex($"^\\.{Regex.Escape(name)}\\.(\\d+)\\.[0-9a-f]{{32}}\\.tmp$", RegexOptions.CultureInvariant);
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(dir, $".{name}.*.tmp").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        foreach (var candidate in candidates)
        {
            var match = pattern.Match(Path.GetFileName(candidate));
            if (!match.Success || !int.TryParse(match.Groups[1].Value, out var pid)) continue;
            if (!TemporaryFiles.IsRunning(pid)) TemporaryFiles.TryDelete(candidate);
        }
    }

    /// <summary>A temporary file on its way to replacing a target.</summary>
    internal sealed class PendingFile : IDisposable
    {
        private readonly string _label;
        private readonly string _target;
        private FileStream? _stream;
        private bool _committed;

        internal PendingFile(string label, string target, string temp)
        {
            _label = label;
            _target = target;
            TempPath = temp;
            // Registered before it exists, so a shutdown while it is being created still removes it.
            TemporaryFiles.Register(temp);
            try
            {
                _stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            }
            catch
            {
                TemporaryFiles.Unregister(temp);
                throw;
            }
        }

        /// <summary>The temporary file's path.</summary>
        public string TempPath { get; }

        /// <summary>Where the data is written.</summary>
        public Stream Stream => _stream ?? throw new InvalidOperationException("the file is already committed or discarded");

        /// <summary>Flushes the data to disk and renames the temporary file over the target.</summary>
        /// <exception cref="OnnxException">Flushing or renaming failed; the temporary file is deleted and the target unchanged.</exception>
        public void Commit()
        {
            var stream = _stream ?? throw new InvalidOperationException("the file is already committed or discarded");
            try
            {
                stream.Flush(flushToDisk: true);
                stream.Dispose();
                _stream = null;
                File.Move(TempPath, _target, overwrite: true);
                _committed = true;
                TemporaryFiles.Unregister(TempPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Dispose();
                throw new OnnxException($"{_label}: cannot write: {e.Message}", e);
            }
        }

        /// <summary>Deletes the temporary file unless it was committed.</summary>
        public void Dispose()
        {
            _stream?.Dispose();
            _stream = null;
            if (_committed) return;
            TemporaryFiles.TryDelete(TempPath);
            TemporaryFiles.Unregister(TempPath);
        }
    }
}
