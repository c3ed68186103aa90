using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Tests.Cli;

namespace Whittle.Tests.Onnx;

/// <summary>
/// Models with ONNX external data: read relative to the model file, self-contained when
/// serialized or saved, split with their own data file only above the size limit, and seen by
/// ONNX Runtime sessions of the in-memory (edited) model.
/// </summary>
public sealed class ExternalDataTests
{
    private static readonly string Inline = TestPaths.FixtureModel("fmnist_classifier.onnx");

    private static RuntimeTensor SampleImage()
    {
        var images = Whittle.Data.NpyFile.Read(TestPaths.FixtureModel("fmnist_classifier.input.npy"));
        return RuntimeTensor.FromFloats(images.ToFloat32(), [.. images.Shape.Select(d => (long)d)]);
    }

    private static float[] Logits(OnnxModel model, long inlineLimit = ExternalData.InlineLimit)
    {
        using var session = new OnnxRuntimeSession(model, null, inlineLimit);
        return session.Run(SampleImage()).AsFloats();
    }

    [Fact]
    public void TheFixtureKeepsEveryInitializerExternalAndReadsTheSameValues()
    {
        var (input, inputDir, _) = ExternalDataCommandsTests.CopyFixture();
        var model = OnnxModel.Load(input);
        var reference = OnnxModel.Load(Inline);
        Assert.True(model.HasExternalData);
        Assert.Equal([Path.Combine(inputDir, "ext.data")], model.ExternalDataFiles);
        Assert.All(model.Graph.Initializers, t => Assert.True(t.IsExternal, t.Name));
        foreach (var t in reference.Graph.Initializers)
            Assert.Equal(t.ToRawBytes(), model.Graph.FindInitializer(t.Name)!.ToRawBytes());
    }

    [Fact]
    public void ToBytesIsSelfContainedAndEqualsTheInlineOriginal()
    {
        // make_external_data.py only moved the bytes: read back in, the model is the original file.
        var (input, _, _) = ExternalDataCommandsTests.CopyFixture();
        Assert.Equal(File.ReadAllBytes(Inline), OnnxModel.Load(input).ToBytes());
    }

    [Fact]
    public void SaveWritesOneSelfContainedFileThatLoadsWithoutTheInputFolder()
    {
        var (input, inputDir, outputDir) = ExternalDataCommandsTests.CopyFixture();
        var output = Path.Combine(outputDir, "copy.onnx");
        OnnxModel.Load(input).Save(output);
        Directory.Delete(inputDir, recursive: true);
        Assert.Equal(["copy.onnx"], Directory.GetFiles(outputDir).Select(Path.GetFileName));
        var copy = OnnxModel.Load(output);
        Assert.False(copy.HasExternalData);
        Assert.Equal(Logits(OnnxModel.Load(Inline)), Logits(copy));
    }

    [Fact]
    public void AboveTheLimitTheOutputGetsItsOwnAlignedDataFileNamedAfterIt()
    {
        var (input, inputDir, outputDir) = ExternalDataCommandsTests.CopyFixture();
        var output = Path.Combine(outputDir, "big.onnx");
        var model = OnnxModel.Load(input);
        Assert.False(model.SavesWithExternalData); // 110 kB is far below 2 GB
        model.SaveSplittingAbove(output, inlineLimit: 0);
        Directory.Delete(inputDir, recursive: true);

        Assert.Equal(["big.onnx", "big.onnx.data"], Directory.GetFiles(outputDir).Select(Path.GetFileName).Order());
        Assert.Equal(Path.Combine(outputDir, "big.onnx.data"), OnnxModel.ExternalDataPathFor(output));
        var split = OnnxModel.Load(output);
        Assert.Equal([Path.Combine(outputDir, "big.onnx.data")], split.ExternalDataFiles);
        foreach (var t in split.Graph.Initializers)
        {
            // Tensors under 1 kB stay inline, like onnx's default threshold; the rest are 4 kB aligned.
            Assert.Equal(t.StorageBytes >= ExternalData.SplitThreshold, t.IsExternal);
            if (t.IsExternal) Assert.Equal(0, long.Parse(t.Proto.ExternalData.Single(kv => kv.Key == "offset").Value) % ExternalData.Alignment);
        }
        Assert.Equal(File.ReadAllBytes(Inline), split.ToBytes());
        // ORT reads the split model through the data directory as well as self-contained.
        var expected = Logits(OnnxModel.Load(Inline));
        Assert.Equal(expected, Logits(split));
        Assert.Equal(expected, Logits(split, inlineLimit: 0));
    }

    [Fact]
    public void ASplitWriteRefusesToReplaceTheDataFileTheModelReadsFrom()
    {
        // The fixture's data file is ext.data; an output named "ext" would get "ext.data" too.
        var (input, inputDir, _) = ExternalDataCommandsTests.CopyFixture();
        var data = Path.Combine(inputDir, "ext.data");
        var before = File.ReadAllBytes(data);
        var e = Assert.Throws<OnnxException>(() => OnnxModel.Load(input).SaveSplittingAbove(Path.Combine(inputDir, "ext"), 0));
        Assert.Contains("where the model's own data is read from", e.Message);
        Assert.Equal(before, File.ReadAllBytes(data));
        Assert.Equal(["ext.data", "fmnist_classifier.onnx"], Directory.GetFiles(inputDir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void AnEditedModelRunsInOrtWithItsExternalDataAndWithTheEdit()
    {
        // The defect: sessions of an external-data model were opened from its file, so an added
        // graph output (intermediate capture, static calibration) was "not in the metadata".
        var (input, _, _) = ExternalDataCommandsTests.CopyFixture();
        var model = OnnxModel.Load(input);
        var relu = model.Graph.Nodes.First(n => n.OpType == "Relu").Outputs[0];
        model.Graph.AddOutput(new OnnxValueInfo(relu, OnnxDataType.Float, null));
        foreach (var limit in new[] { ExternalData.InlineLimit, 0 })
        {
            using var session = new OnnxRuntimeSession(model, null, limit);
            Assert.Contains(session.Outputs, o => o.Name == relu);
            var outputs = session.Run(new Dictionary<string, RuntimeTensor> { ["input"] = SampleImage() });
            Assert.Equal(Logits(OnnxModel.Load(Inline)), outputs["logits"].AsFloats());
        }
    }

    [Fact]
    public void AnExternalTensorMovedIntoAnotherModelIsReadInFirst()
    {
        // Its location is relative to the folder of the model it came from, which the new model does not know.
        var (input, inputDir, outputDir) = ExternalDataCommandsTests.CopyFixture();
        var source = OnnxModel.Load(input);
        var weight = source.Graph.Initializers.First(t => t.Dims.Length == 4);
        var target = OnnxModel.Create("g", 13);
        target.Graph.AddInitializer(weight.Clone());
        var node = new OnnxNode("Constant", [], ["c"], "c");
        node.SetAttribute("value", weight);
        target.Graph.AddNode(node);
        Assert.False(target.HasExternalData);
        Directory.Delete(inputDir, recursive: true);
        Assert.Equal(OnnxModel.Load(Inline).Graph.FindInitializer(weight.Name)!.ToFloatArray(), target.Graph.Initializers.Single().ToFloatArray());
        Assert.Equal(target.Graph.Initializers.Single().ToFloatArray(), target.Graph.Nodes.Single().GetTensor("value")!.ToFloatArray());
        target.Save(Path.Combine(outputDir, "moved.onnx"));
    }

    [Fact]
    public void AMissingDataFileIsAClearErrorNotACrash()
    {
        var (input, inputDir, _) = ExternalDataCommandsTests.CopyFixture();
        File.Delete(Path.Combine(inputDir, "ext.data"));
        var model = OnnxModel.Load(input); // the data is read when it is needed
        var e = Assert.Throws<OnnxException>(() => model.ToBytes());
        Assert.Contains("external data file", e.Message);
        Assert.Contains("not found", e.Message);
        Assert.Throws<OnnxException>(() => new OnnxRuntimeSession(model));
    }

    [Fact]
    public void AShortDataFileIsRefusedWithTheSizesNeeded()
    {
        var (input, inputDir, _) = ExternalDataCommandsTests.CopyFixture();
        var data = Path.Combine(inputDir, "ext.data");
        File.WriteAllBytes(data, File.ReadAllBytes(data)[..1000]);
        var e = Assert.Throws<OnnxException>(() => OnnxModel.Load(input).ToBytes());
        Assert.Contains("beyond the end", e.Message);
    }
}
