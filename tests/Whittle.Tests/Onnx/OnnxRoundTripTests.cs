using Whittle.Onnx;

namespace Whittle.Tests.Onnx;

public class OnnxRoundTripTests
{
    [SkippableFact]
    public void EveryOnnxTestDataModelReserializesByteIdentically()
    {
        Skip.IfNot(TestPaths.HasOnnxTestData, "Debian package libonnx-testdata is not installed (.ci/run installs it)");
        var files = Directory.GetFiles(TestPaths.OnnxTestData, "model.onnx", SearchOption.AllDirectories);
        Assert.True(files.Length > 900, $"expected the full ONNX backend test set, found {files.Length} models");
        var failures = new List<string>();
        foreach (var file in files)
        {
            var original = File.ReadAllBytes(file);
            var model = OnnxModel.Load(file);
            if (!original.AsSpan().SequenceEqual(model.ToBytes())) failures.Add(file);
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {files.Length} models changed on re-serialization, e.g. {string.Join(", ", failures.Take(5))}");
    }

    [Fact]
    public void AttributePresenceOfExplicitZeroSurvives()
    {
        // proto2 keeps "f = 0" distinct from "f absent"; proto3 would drop it.
        var model = OnnxModel.Create("g", 13);
        var node = new OnnxNode("LeakyRelu", ["x"], ["y"], "lrelu");
        node.SetAttribute("alpha", 0f);
        model.Graph.AddNode(node);
        var reloaded = OnnxModel.Load(model.ToBytes());
        var n = reloaded.Graph.Nodes.Single();
        Assert.True(n.HasAttribute("alpha"));
        Assert.Equal(0f, n.GetFloat("alpha", 0.01f));
        Assert.Equal(model.ToBytes(), reloaded.ToBytes());
    }

    [Fact]
    public void SaveIsAtomicAndLeavesNoTemporaryFiles()
    {
        var dir = TestPaths.TempDir();
        var path = Path.Combine(dir, "m.onnx");
        var model = OnnxModel.Create("g", 13);
        model.Graph.AddInitializer(OnnxTensor.FromFloats("w", [2], [1f, 2f]));
        model.Save(path);
        model.Save(path); // overwrite
        Assert.Equal(new[] { "m.onnx" }, Directory.GetFiles(dir).Select(Path.GetFileName));
        Assert.Equal(model.ToBytes(), File.ReadAllBytes(path));
    }
}
