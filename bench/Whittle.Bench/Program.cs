namespace Whittle.Bench;

public static class Program
{
    public static int Main(string[] args) => BenchRunner.Run(args);
}
