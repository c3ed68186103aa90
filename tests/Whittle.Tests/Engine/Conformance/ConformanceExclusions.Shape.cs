namespace Whittle.Tests.Engine.Conformance;

internal static partial class ConformanceExclusions
{
    /// <summary>Known failures of the shape converters: (test name, reason).</summary>
    private static readonly (string Test, string Reason)[] ShapeReasons =
    [
    ];
}
