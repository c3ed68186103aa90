namespace Whittle.Onnx;

/// <summary>
/// Temporary files and directories of this process that must not outlive it: deleted when they
/// are done with, and, for what is still registered when the process shuts down normally (also
/// on SIGTERM), by the process-exit handler. A process killed outright runs no code at all; its
/// leftovers carry its process id in their names, and the next write or profile removes those
/// of processes that no longer run.
/// </summary>
internal static class TemporaryFiles
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> Live = new(StringComparer.Ordinal);
    private static int _hooked;

    /// <summary>Remembers a path to delete if the process exits before it is unregistered.</summary>
    public static void Register(string path)
    {
        if (Interlocked.Exchange(ref _hooked, 1) == 0) AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteAll();
        Live[path] = 0;
    }

    /// <summary>Forgets a path (it was renamed into place or deleted).</summary>
    public static void Unregister(string path) => Live.TryRemove(path, out _);

    private static void DeleteAll()
    {
        foreach (var path in Live.Keys) TryDelete(path);
    }

    /// <summary>Deletes a file or a directory tree, ignoring what cannot be deleted.</summary>
    public static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else File.Delete(path);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Whether a process with this id runs on this machine (pid reuse can keep an orphan a while longer; never the reverse).</summary>
    public static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
        catch (System.ComponentModel.Win32Exception) { return true; }
        catch (NotSupportedException) { return true; }
    }
}
