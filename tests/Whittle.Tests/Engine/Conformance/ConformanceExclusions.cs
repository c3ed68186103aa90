namespace Whittle.Tests.Engine.Conformance;

/// <summary>
/// Backend node tests whose operators are supported but which do not pass, each with the
/// reason. docs/operators.md is generated from this list; a listed test that starts passing
/// fails the suite until it is removed here, so the list stays true. Each op family keeps its
/// entries in its own partial file.
/// </summary>
internal static partial class ConformanceExclusions
{
    // A property, not a field: static field initializers of partial files run in no defined order.
    public static IReadOnlyDictionary<string, string> Reasons =>
        ElementwiseReasons.Concat(NeuralReasons).Concat(ShapeReasons).ToDictionary(p => p.Test, p => p.Reason, StringComparer.Ordinal);
}
