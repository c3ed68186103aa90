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
        if (!Interactive) return work(new InlineProgress<double>(_ => { }));
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1));
                result = work(new InlineProgress<double>(v => task.Value = v));
            });
        return result;
    }

    /// <summary>
    /// Runs a library job with one progress bar per stage when interactive; otherwise prints each
    /// stage's final figures (an epoch's loss and accuracy) as a line, unless <paramref name="quiet"/>
    /// (JSON output).
    /// </summary>
    public T RunJob<T>(Func<IProgress<JobProgress>, T> job, bool quiet = false)
    {
        if (!Interactive)
        {
            return job(new InlineProgress<JobProgress>(p =>
            {
                if (!quiet && p.Finished && p.Detail is not null) Out.MarkupLine($"  {Markup.Escape(p.Stage)}: {Markup.Escape(p.Detail)}");
            }));
        }
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask? task = null;
                string? stage = null;
                result = job(new InlineProgress<JobProgress>(p =>
                {
                    if (p.Stage != stage || task is null)
                    {
                        if (task is not null) { task.Value = task.MaxValue; task.StopTask(); }
                        stage = p.Stage;
                        task = ctx.AddTask(Markup.Escape(p.Stage), maxValue: Math.Max(p.Total, 1));
                    }
                    task.MaxValue = Math.Max(p.Total, 1);
                    task.Value = p.Done;
                    task.Description = Markup.Escape(p.Detail is null ? p.Stage : $"{p.Stage} {p.Detail}");
                }));
                if (task is not null) { task.Value = task.MaxValue; task.StopTask(); }
            });
        return result;
    }
}
