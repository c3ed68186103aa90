using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Whittle.Onnx;

namespace Whittle.Optimization;

/// <summary>
/// The command that runs one trial in a new process: a program and the arguments in front of the
/// spec file's path (for the CLI: <c>dotnet Whittle.Cli.dll optimize --run-trial</c>).
/// </summary>
/// <param name="FileName">The program.</param>
/// <param name="Arguments">Its arguments before the spec path.</param>
public sealed record TrialCommand(string FileName, IReadOnlyList<string> Arguments)
{
    /// <summary>
    /// The command for an entry assembly: this process's own executable when it is that assembly's
    /// app host (or a single-file executable, whose assembly has no path); else a <c>.dll</c> runs under
    /// the .NET host (<c>DOTNET_HOST_PATH</c>, else this process when it is <c>dotnet</c>, else <c>dotnet</c>
    /// on the PATH); anything else is started directly.
    /// </summary>
    public static TrialCommand ForAssembly(string assemblyPath, params string[] arguments)
    {
        ArgumentNullException.ThrowIfNull(assemblyPath);
        var self = Environment.ProcessPath;
        if (self is not null && (assemblyPath.Length == 0
            || Path.GetFileNameWithoutExtension(self).Equals(Path.GetFileNameWithoutExtension(assemblyPath), StringComparison.OrdinalIgnoreCase)))
            return new TrialCommand(self, arguments);
        if (!assemblyPath.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) return new TrialCommand(assemblyPath, arguments);
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h
            : Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? p
            : "dotnet";
        return new TrialCommand(host, [assemblyPath, .. arguments]);
    }
}

/// <summary>
/// Runs each trial in its own process (<see cref="TrialProcess"/> behind <see cref="Command"/>), at most
/// <see cref="Workers"/> at once: a libtorch crash, an out-of-memory kill or a hang (cancelled) ends that
/// trial, which is recorded as failed with the process's exit code and the tail of its standard error,
/// and the search goes on. The process reads <c>trial-NNN.spec.json</c> and writes <c>trial-NNN.json</c>
/// beside the trial's model; it ends when this process does (its standard input is a pipe from here).
/// </summary>
public sealed class ProcessTrialRunner : ITrialRunner
{
    /// <summary>How many of the last lines of a failed trial's standard error its record keeps (and the first <see cref="ErrorHeadLines"/>, where the message usually is).</summary>
    public const int ErrorTailLines = 12;

    /// <summary>How many of the first lines of a failed trial's standard error its record keeps.</summary>
    public const int ErrorHeadLines = 4;

    private readonly IReadOnlyDictionary<string, string> _environment;

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="command">The program and arguments that run one trial (the spec path is appended).</param>
    /// <param name="workers">Trials at once (each a process).</param>
    /// <param name="environment">Extra environment variables of every trial process (tests set <see cref="TrialProcess.CrashHook"/>).</param>
    /// <param name="trialTimeout">A trial process still running after this long is killed and its trial recorded as failed; null for no limit.</param>
    /// <exception cref="InvalidOptionException">Fewer than one worker, or a timeout that is not positive.</exception>
    public ProcessTrialRunner(TrialCommand command, int workers = 1, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? trialTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (workers < 1) throw new InvalidOptionException(nameof(Workers), $"a process runner needs at least 1 worker, not {workers}");
        if (trialTimeout is { } t && t <= TimeSpan.Zero) throw new InvalidOptionException(nameof(TrialTimeout), $"the trial timeout must be positive, not {t}");
        Command = command;
        Workers = workers;
        TrialTimeout = trialTimeout;
        _environment = environment ?? new Dictionary<string, string>();
    }

    /// <summary>How long a trial process may run before it is killed (its trial failed), or null for no limit.</summary>
    public TimeSpan? TrialTimeout { get; }

    /// <summary>The command that runs one trial.</summary>
    public TrialCommand Command { get; }

    /// <inheritdoc />
    public int Workers { get; }

    /// <inheritdoc />
    public TrialRecord Run(TrialJob job, IProgress<JobProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var spec = job.Spec;
        var watch = Stopwatch.StartNew();
        var specPath = Path.ChangeExtension(spec.OutputRecord, ".spec.json");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(specPath))!);
        // A record left by an earlier process is not this one's.
        if (File.Exists(spec.OutputRecord)) File.Delete(spec.OutputRecord);
        AtomicFile.WriteAllText(specPath, spec.ToJson() + "\n");

        var info = new ProcessStartInfo(Command.FileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in Command.Arguments) info.ArgumentList.Add(a);
        info.ArgumentList.Add(specPath);
        foreach (var (k, v) in _environment) info.Environment[k] = v;
        var head = new List<string>();
        var tail = new Queue<string>();
        int skipped = 0;
        var tailLock = new Lock();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) =>
        {
            if (TrialProcess.ParseProgress(e.Data) is { } p) progress?.Report(p);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (tailLock)
            {
                if (head.Count < ErrorHeadLines)
                {
                    head.Add(e.Data);
                    return;
                }
                tail.Enqueue(e.Data);
                if (tail.Count > ErrorTailLines)
                {
                    tail.Dequeue();
                    skipped++;
                }
            }
        };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOptionException("TrialCommand", $"cannot start the trial process '{Command.FileName}': {e.Message}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        bool cancelled = false, timedOut = false;
        void Kill()
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
        }
        using (cancellationToken.Register(() =>
        {
            cancelled = true;
            Kill();
        }))
        {
            if (TrialTimeout is { } limit && !process.WaitForExit(limit))
            {
                timedOut = true;
                Kill();
            }
            // Also drains the redirected output after a kill.
            process.WaitForExit();
        }
        int code = process.ExitCode;
        string errors;
        lock (tailLock) errors = string.Join("\n", (skipped > 0 ? head.Append($"... ({skipped} lines)") : head).Concat(tail));
        if (code == 0 && File.Exists(spec.OutputRecord))
        {
            try
            {
                var record = JsonSerializer.Deserialize<TrialRecord>(File.ReadAllText(spec.OutputRecord), TrialJson.Options);
                if (record is not null && record.Trial == spec.Trial) return record;
            }
            catch (JsonException)
            {
            }
        }
        string why = timedOut ? $"ran past the trial timeout of {Duration(TrialTimeout!.Value)} and was killed" : cancelled ? "was cancelled" : code == 0 ? "exited with code 0 but wrote no record" : $"exited with code {code}{Signal(code)}";
        return new TrialRecord(spec.Trial, spec.Recipe, "failed", null, null, null, null, null, null, watch.Elapsed.TotalSeconds, false, false,
            $"the trial process {why}" + (errors.Length > 0 ? $"; its standard error:\n{errors}" : ""), [], code);
    }

    private static string Duration(TimeSpan t) => t.TotalMinutes >= 1 ? $"{t.TotalMinutes:0.#} min" : $"{t.TotalSeconds:0.#} s";

    /// <summary>What an exit code above 128 says on Linux (a signal: 128 + its number).</summary>
    private static string Signal(int code) => (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) && code > 128 && code < 160
        ? (code - 128) switch
        {
            6 => " (SIGABRT: the process aborted, e.g. a native crash or an unhandled fatal error)",
            9 => " (SIGKILL: killed, e.g. by the kernel's out-of-memory killer)",
            11 => " (SIGSEGV: a native crash)",
            15 => " (SIGTERM: terminated)",
            int s => $" (signal {s.ToString(CultureInfo.InvariantCulture)})",
        }
        : "";
}
