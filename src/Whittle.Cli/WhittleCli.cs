using System.CommandLine;
using System.CommandLine.Help;
using Whittle.Cli.Commands;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Cli;

/// <summary>
/// The <c>whittle</c> command line. Exit codes: 0 success, 1 failure (bad model, bad data,
/// failed check), 2 usage error (unknown option, missing argument).
/// </summary>
public static class WhittleCli
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int UsageError = 2;

    internal static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Show stack traces and extra detail on errors",
        Recursive = true,
    };

    public static Command BuildRoot(CliConsole console)
    {
        // A Command named after the tool, not a RootCommand: that one is named after the running
        // file (Whittle.Cli.dll under `dotnet run` and as an installed tool), so help would say
        // "Usage: Whittle.Cli". Help and version are what RootCommand would add.
        var root = new Command("whittle", "Whittle: make neural networks smaller and faster, and prove what it cost.")
        {
            new HelpOption(),
            new VersionOption(),
            Verbose,
            InfoCommand.Create(console),
            EvalCommand.Create(console),
            BenchCommand.Create(console),
            CheckCommand.Create(console),
            TrainCommand.Create(console),
            DistillCommand.Create(console),
            ZooCommand.Create(console),
            FoldBnCommand.Create(console),
            QuantizeCommand.Create(console),
            PruneCommand.Create(console),
            SensitivityCommand.Create(console),
            OptimizeCommand.Create(console),
        };
        return root;
    }

    public static int Run(string[] args, CliConsole console)
    {
        var root = BuildRoot(console);
        var parse = root.Parse(args);
        // The parser binds an unknown "--flag" to a free argument slot (bench's MODEL2) rather than
        // refusing it; a dash-word that is neither a number nor an existing file is a mistyped option.
        var unknown = parse.Tokens.Where(t => t.Type == System.CommandLine.Parsing.TokenType.Argument && LooksLikeAnOption(t.Value)).Select(t => t.Value).ToList();
        if (parse.Errors.Count > 0 || unknown.Count > 0)
        {
            foreach (var u in unknown) console.Error.WriteLine($"error: unknown option '{u}'");
            foreach (var e in parse.Errors) console.Error.WriteLine($"error: {e.Message}");
            var verb = parse.CommandResult.Command == root ? "" : " " + parse.CommandResult.Command.Name;
            console.Error.WriteLine($"Run 'whittle{verb} --help' for usage.");
            return UsageError;
        }
        bool verbose = parse.GetValue(Verbose);
        try
        {
            return parse.Invoke(new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false,
                Output = console.Json,
                Error = console.Error,
            });
        }
        catch (Exception e) when (IsUserError(e))
        {
            console.Error.WriteLine($"error: {Printable(e.Message)}");
            if (verbose) console.Error.WriteLine(e);
            return e is UsageException or InvalidOptionException ? UsageError : Failure;
        }
        catch (Exception e)
        {
            // A bug in Whittle, not bad input: say so, but still one line unless --verbose.
            console.Error.WriteLine($"error: internal error: {e.GetType().Name}: {Printable(e.Message)} (run with --verbose for details)");
            if (verbose) console.Error.WriteLine(e);
            return Failure;
        }
    }

    /// <summary>Text from a corrupt file can hold control characters that would drive the terminal; they are shown as \uXXXX.</summary>
    internal static string Printable(string text) =>
        text.Any(char.IsControl) ? string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString())) : text;

    private static bool LooksLikeAnOption(string token) =>
        token.Length > 1 && token[0] == '-' && !(char.IsAsciiDigit(token[1]) || token[1] == '.') && !File.Exists(token) && !Directory.Exists(token);

    private static bool IsUserError(Exception e) =>
        e is WhittleException or UsageException
            or FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException;
}

/// <summary>Bad combination of options that the parser cannot catch; exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
