using Whittle.Engine;
using Whittle.Onnx;

namespace Whittle.Tests.Engine;

public class OpRegistryTests
{
    [OnnxOp("Fake", 1)]
    [OnnxOp("Fake", 7)]
    [OnnxOp("Fake", 13)]
    private sealed class FakeConverter : IOpConverter
    {
        public IOpKernel Compile(OpContext context) => LambdaKernel.Single(i => i[0]!);
    }

    [OnnxOp("Fake", 7)]
    private sealed class ClashingConverter : IOpConverter
    {
        public IOpKernel Compile(OpContext context) => LambdaKernel.Single(i => i[0]!);
    }

    [OnnxOp("com.example", "Fake", 2)]
    private sealed class OtherDomainConverter : IOpConverter
    {
        public IEnumerable<string> Check(OpContext context) =>
            context.Node.GetString("mode", "a") == "a" ? [] : [$"mode '{context.Node.GetString("mode")}' is not supported"];

        public IOpKernel Compile(OpContext context) => LambdaKernel.Single(i => i[0]!);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(6, 1)]
    [InlineData(7, 7)]
    [InlineData(12, 7)]
    [InlineData(13, 13)]
    [InlineData(21, 13)]
    public void ModelOpsetResolvesToTheGreatestSinceVersionNotAboveIt(long opset, int expected)
    {
        var registry = OpRegistry.FromTypes([typeof(FakeConverter)]);
        Assert.Equal(expected, registry.Resolve("", "Fake", opset)!.Value.SinceVersion);
        Assert.Null(registry.Resolve("", "Other", opset));
        Assert.Null(registry.Resolve("com.example", "Fake", opset));
    }

    [Fact]
    public void DuplicateRegistrationsFailAtStartUp()
    {
        var e = Assert.Throws<ArgumentException>(() => OpRegistry.FromTypes([typeof(FakeConverter), typeof(ClashingConverter)]));
        Assert.Contains("duplicate converter for Fake since opset 7", e.Message);
    }

    /// <summary>Claims a key the default registry already has.</summary>
    [OnnxOp("Relu", 14)]
    private sealed class SecondReluConverter : IOpConverter
    {
        public IOpKernel Compile(OpContext context) => LambdaKernel.Single(i => i[0]!);
    }

    /// <summary>Says nothing about what it converts.</summary>
    private sealed class UnattributedConverter : IOpConverter
    {
        public IOpKernel Compile(OpContext context) => LambdaKernel.Single(i => i[0]!);
    }

    [Fact]
    public void AUserRegistryKeepsTheDefaultsAddsItsConvertersAndRefusesClashes()
    {
        var other = new OtherDomainConverter();
        var registry = OpRegistry.Default.With(other);
        Assert.Same(other, registry.Resolve("com.example", "Fake", 2)!.Value.Converter);
        Assert.Same(OpRegistry.Default.Resolve("", "Conv", 13)!.Value.Converter, registry.Resolve("", "Conv", 13)!.Value.Converter);
        Assert.Equal(OpRegistry.Default.Registrations.Count + 1, registry.Registrations.Count);
        Assert.False(OpRegistry.Default.Knows("com.example", "Fake"));
        Assert.True(registry.Knows("ai.onnx", "Relu"));

        // Merging registries, e.g. the converters of a whole assembly.
        var merged = OpRegistry.Default.With(OpRegistry.FromTypes([typeof(FakeConverter)]));
        Assert.Equal([1, 7, 13], merged.Versions("", "Fake"));

        var clash = Assert.Throws<ArgumentException>(() => OpRegistry.Default.With(new SecondReluConverter()));
        Assert.Equal("converters", clash.ParamName);
        Assert.StartsWith("duplicate converter for Relu since opset 14: Whittle.Engine.Converters.ReluConverter and Whittle.Tests.Engine.OpRegistryTests+SecondReluConverter", clash.Message);
        var twice = Assert.Throws<ArgumentException>(() => new OpRegistry([new OtherDomainConverter(), new OtherDomainConverter()]));
        Assert.Contains("duplicate converter for com.example.Fake since opset 2", twice.Message);
        Assert.Contains("has no [OnnxOp] attribute", Assert.Throws<ArgumentException>(() => OpRegistry.Default.With(new UnattributedConverter())).Message);
        Assert.Throws<ArgumentNullException>(() => new OpRegistry([null!]));
    }

    [Fact]
    public void TheDefaultRegistryHasNoDuplicates() => Assert.NotEmpty(OpRegistry.Default.Registrations);

    [Fact]
    public void PreflightListsEveryProblemAtOnceWithNodeNames()
    {
        var registry = OpRegistry.FromTypes([typeof(FakeConverter), typeof(OtherDomainConverter)]);
        var m = OnnxModel.Create("g", 13);
        m.SetOpset("com.example", 1);
        var g = m.Graph;
        g.AddInput(new OnnxValueInfo("x", OnnxDataType.Float, null));
        g.AddNode(new OnnxNode("Fake", ["x"], ["a"], "ok"));
        g.AddNode(new OnnxNode("Mystery", ["a"], ["b"], "m1"));
        g.AddNode(new OnnxNode("Mystery", ["b"], ["c"], "m2"));
        g.AddNode(new OnnxNode("Fake", ["c"], ["d"], "too_old", "com.example"));
        var withMode = new OnnxNode("Fake", ["d"], ["e"], "bad_mode", "com.example");
        withMode.SetAttribute("mode", "b");
        g.AddNode(withMode);
        g.AddNode(new OnnxNode("Fake", ["e"], ["f"], "no_domain", "com.nowhere"));
        g.AddOutput(new OnnxValueInfo("f", OnnxDataType.Float, null));

        var problems = EnginePreflight.FindProblems(m, registry);
        Assert.Equal(
        [
            "node 'm1' (Mystery, opset 13): operator not supported",
            "node 'm2' (Mystery, opset 13): operator not supported",
            "node 'too_old' (com.example.Fake, opset 1): supported only from opset 2",
            "node 'bad_mode' (com.example.Fake, opset 1): supported only from opset 2",
            "node 'no_domain' (com.nowhere.Fake, opset not imported): the model does not import domain 'com.nowhere'",
        ], problems);
        var e = Assert.Throws<UnsupportedModelException>(() => EnginePreflight.EnsureSupported(m, registry));
        Assert.Equal(5, e.Problems.Count);

        m.SetOpset("com.example", 2);
        Assert.Contains("node 'bad_mode' (com.example.Fake, opset 2): mode 'b' is not supported", EnginePreflight.FindProblems(m, registry));
    }
}
