namespace Whittle.Tests.Engine.Conformance;

public class ConformanceTests
{
    public static IEnumerable<object[]> NodeTests()
    {
        var all = OnnxBackendConformance.All();
        if (all.Count == 0) yield return ["(libonnx-testdata not installed)"];
        foreach (var t in all) yield return [t.Name];
    }

    /// <summary>
    /// One case per ONNX backend node test: a supported op must pass (or be listed in
    /// <see cref="ConformanceExclusions"/> with its reason); unsupported ops are skipped and
    /// appear in docs/operators.md as not supported.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(NodeTests))]
    public void NodeTest(string name)
    {
        Skip.IfNot(TestPaths.HasOnnxTestData, "Debian package libonnx-testdata is not installed (.ci/run installs it)");
        var result = OnnxBackendConformance.Results.Value[name];
        bool excluded = ConformanceExclusions.Reasons.TryGetValue(name, out var reason);
        switch (result.Outcome)
        {
            case NodeTestOutcome.Unsupported:
                Skip.If(true, "unsupported: " + result.Detail);
                break;
            case NodeTestOutcome.Failed:
                Skip.If(excluded, $"known failure ({reason}): {result.Detail}");
                Assert.Fail(result.Detail);
                break;
            case NodeTestOutcome.Passed:
                Assert.False(excluded, $"{name} now passes; remove it from ConformanceExclusions");
                break;
        }
    }
}
