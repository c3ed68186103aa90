using Spectre.Console;

namespace Whittle.Cli;

/// <summary>Where a command writes: tables and results to <see cref="Out"/>, errors to <see cref="Error"/>.</summary>
public sealed class CliConsole
{
    public required IAnsiConsole Out { get; init; }
    public required TextWriter Error { get; init; }

    /// <summary>Raw writer for JSON (no markup, no wrapping).</summary>
    public required TextWriter Json { get; init; }

    /// <summary>True when progress bars may be drawn (an interactive terminal).</summary>
    public bool Interactive { get; init; }

    public static CliConsole CreateStandard() => new()
    {
        Out = AnsiConsole.Console,
        Error = Console.Error,
        Json = Console.Out,
        Interactive = !Console.IsOutputRedirected && !Console.IsErrorRedirected,
    };

    /// <summary>A console that records everything (tests).</summary>
    public static CliConsole CreateRecording(StringWriter output, StringWriter error)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        // Wide enough that no line wraps, so tests can search the text.
        console.Profile.Width = 240;
        return new CliConsole { Out = console, Error = error, Json = output, Interactive = false };
    }

    /// <summary>
    /// Runs <paramref name="work"/> with a progress bar of <paramref name="total"/> steps when
    /// interactive; silently otherwise.
    /// </summary>
    public T WithProgress<T>(string description, double total, Func<IProgress<double>, T> work)
    {
        if (!Interactive) return work(new SyncProgress<double>(_ => { }));
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1));
                result = work(new SyncProgress<double>(v => task.Value = v));
            });
        return result;
    }
}
