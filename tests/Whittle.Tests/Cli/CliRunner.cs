using Whittle.Cli;

namespace Whittle.Tests.Cli;

/// <summary>Runs the whittle command in-process and captures its output.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static Result Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = WhittleCli.Run(args, CliConsole.CreateRecording(output, error));
        return new Result(code, output.ToString(), error.ToString());
    }
}
