namespace Whittle.Tests.Engine.Conformance;

internal static partial class ConformanceExclusions
{
    /// <summary>Known failures of the neural converters: (test name, reason).</summary>
    private static readonly (string Test, string Reason)[] NeuralReasons =
    [
    ];
}
