using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;

namespace Whittle.Tests.Evaluation;

/// <summary>The one verify-then-write path: inputs are never overwritten (links followed), a model that disagrees is not written.</summary>
public sealed class VerifiedModelWriterTests
{
    private static readonly string Fixture = Path.Combine(TestPaths.Fixtures, "models", "fmnist_classifier.onnx");

    [Fact]
    public void AnOutputThatLinksToTheInputIsRefusedAndTheInputIsUntouched()
    {
        var dir = TestPaths.TempDir();
        var input = Path.Combine(dir, "m.onnx");
        File.Copy(Fixture, input);
        var link = Path.Combine(dir, "link.onnx");
        File.CreateSymbolicLink(link, input);
        var before = File.ReadAllBytes(input);
        var model = OnnxModel.Load(link);
        var e = Assert.Throws<InvalidOptionException>(() => VerifiedModelWriter.Write(model, input, new WriteVerification(model)));
        Assert.Contains("never modifies an input file", e.Message);
        Assert.Throws<InvalidOptionException>(() => VerifiedModelWriter.EnsureNotAnInput(link, [input]));
        Assert.Equal(before, File.ReadAllBytes(input));
    }

    [SkippableFact]
    public void AHardLinkToTheInputIsTheInputButADistinctCopyIsNot()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "hard links are told apart by inode on Linux only");
        var dir = TestPaths.TempDir();
        var input = Path.Combine(dir, "m.onnx");
        File.Copy(Fixture, input);
        var hard = Path.Combine(dir, "hard.onnx");
        Whittle.Tests.Cli.OutputSafetyTests.HardLink(input, hard);
        var copy = Path.Combine(dir, "copy.onnx");
        File.Copy(input, copy);
        var model = OnnxModel.Load(input);
        Assert.Throws<InvalidOptionException>(() => VerifiedModelWriter.Write(model, hard, new WriteVerification(model)));
        Assert.Throws<InvalidOptionException>(() => VerifiedModelWriter.EnsureNotAnInput(hard, [input]));
        // Same bytes, other file: allowed. A path that does not exist yet falls back to the path comparison.
        VerifiedModelWriter.EnsureNotAnInput(copy, [input]);
        VerifiedModelWriter.EnsureNotAnInput(Path.Combine(dir, "new.onnx"), [input]);
        Assert.True(FileIdentity.TryGet(input, out var a));
        Assert.True(FileIdentity.TryGet(hard, out var b));
        Assert.True(FileIdentity.TryGet(copy, out var c));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void TheInputsExternalDataFilesAreInputsToo()
    {
        var (input, inputDir, _) = Whittle.Tests.Cli.ExternalDataCommandsTests.CopyFixture();
        var data = Path.Combine(inputDir, "ext.data");
        var before = File.ReadAllBytes(data);
        var model = OnnxModel.Load(input);
        var e = Assert.Throws<InvalidOptionException>(() => VerifiedModelWriter.Write(model, data, new WriteVerification(model)));
        Assert.Contains("never modifies an input file", e.Message);
        // Also when only the reference reads it (the model being written is already self-contained).
        var inline = OnnxModel.Load(model.ToBytes());
        Assert.Throws<InvalidOptionException>(() => VerifiedModelWriter.Write(inline, data, new WriteVerification(model)));
        Assert.Equal(before, File.ReadAllBytes(data));
    }

    [Fact]
    public void AModelThatDisagreesBeyondTheBoundIsNotWrittenAndAnExistingFileSurvives()
    {
        var dir = TestPaths.TempDir();
        var reference = OnnxModel.Load(Fixture);
        var changed = OnnxModel.Load(Fixture);
        var weight = changed.Graph.Initializers.First(t => t.Dims.Length == 4);
        var values = weight.ToFloatArray();
        for (int i = 0; i < values.Length; i++) values[i] *= -1;
        changed.Graph.ReplaceInitializer(OnnxTensor.FromFloats(weight.Name, weight.Dims, values));
        var output = Path.Combine(dir, "out.onnx");
        File.WriteAllText(output, "keep me");
        var e = Assert.ThrowsAny<WhittleException>(() => VerifiedModelWriter.Write(changed, output, new WriteVerification(reference, maxAbsDifference: 1e-5)));
        Assert.Contains("not written", e.Message);
        Assert.Equal("keep me", File.ReadAllText(output));

        var report = VerifiedModelWriter.Write(reference, output, new WriteVerification(reference, maxAbsDifference: 0));
        Assert.Equal(0, report.MaxAbsDifference);
        Assert.Equal(reference.ToBytes(), File.ReadAllBytes(output));
    }

    [Fact]
    public void BoundDataIsReshapedToTheModelAndNonFiniteFeaturesAreRefused()
    {
        var dir = TestPaths.TempDir();
        var model = OnnxModel.Load(Fixture);
        var features = Enumerable.Range(0, 4 * 784).Select(i => (i % 7) / 7f).ToArray();
        var x = Path.Combine(dir, "x.npy");
        var y = Path.Combine(dir, "y.npy");
        NpyFile.Write(x, features, [4, 784]);
        NpyFile.Write(y, new long[] { 0, 1, 2, 3 }, [4]);
        var data = ModelData.Bind(model, $"npy:{x},{y}");
        Assert.Equal([1, 28, 28], data.SampleShape);
        Assert.Equal(ModelTask.Classification, data.Task);
        Assert.Equal(4, ModelEvaluator.Classify(model, data.Samples).Samples);

        features[785] = float.NaN;
        NpyFile.Write(x, features, [4, 784]);
        var nan = ModelData.Bind(model, $"npy:{x},{y}");
        var e = Assert.Throws<DataFormatException>(() => nan.Samples);
        Assert.Contains("sample 1 holds NaN at feature 1", e.Message);
    }
}
