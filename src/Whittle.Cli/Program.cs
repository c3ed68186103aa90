namespace Whittle.Cli;

public static class Program
{
    public static int Main(string[] args) => WhittleCli.Run(args, CliConsole.CreateStandard());
}
