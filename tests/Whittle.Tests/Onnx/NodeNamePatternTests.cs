using Whittle.Onnx;

namespace Whittle.Tests.Onnx;

public sealed class NodeNamePatternTests
{
    [Theory]
    [InlineData("conv1", "conv1", true)]
    [InlineData("conv1", "conv10", false)]
    [InlineData("conv1", "Conv1", false)]
    [InlineData("features.*.conv.2", "features.4.conv.2", true)]
    [InlineData("features.*.conv.2", "features.14.conv.2", true)]
    [InlineData("features.*.conv.2", "features.4.conv.2.0", false)]
    [InlineData("features.*.conv.2", "features4conv.2", false)] // the dots are literal
    [InlineData("/layer1/*", "/layer1/0/conv1/Conv", true)]
    [InlineData("/layer1/*", "/layer2/0/conv1/Conv", false)]
    [InlineData("c?", "c2", true)]
    [InlineData("c?", "c12", false)]
    [InlineData("*", "", true)]
    [InlineData("a+b(c)", "a+b(c)", true)] // regex characters are literal
    [InlineData("a+b*", "aab", false)]
    public void Matches_the_whole_name(string pattern, string name, bool expected)
    {
        Assert.Equal(expected, new NodeNamePattern(pattern).Matches(name));
    }

    [Fact]
    public void Knows_whether_it_is_a_glob_and_rejects_blank_text()
    {
        Assert.False(new NodeNamePattern("conv1").IsGlob);
        Assert.True(new NodeNamePattern("conv*").IsGlob);
        Assert.False(new NodeNamePattern("conv*").Matches(null));
        Assert.Throws<ArgumentException>(() => new NodeNamePattern(" "));
    }
}
