using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Tests.Onnx;

namespace Whittle.Tests.Runtime;

/// <summary>ORT's profile files go to a directory of their own under the temp folder and never outlive the measurement.</summary>
public sealed class NodeProfilerTests
{
    private static readonly string Model = TestPaths.FixtureModel("fmnist_classifier.onnx");

    private static Dictionary<string, RuntimeTensor> Image() =>
        new() { ["input"] = RuntimeTensor.FromFloats(new float[784], 1, 1, 28, 28) };

    [Fact]
    public void AMeasurementLeavesNothingBehindWhenItSucceeds()
    {
        var root = TestPaths.TempDir();
        var times = NodeProfiler.Measure(OnnxModel.Load(Model), Image(), runs: 2, warmup: 1, options: null, tempRoot: root);
        Assert.Contains(times, t => t.OpType == "Conv" || t.OpType == "FusedConv");
        Assert.Empty(Directory.GetFileSystemEntries(root));
    }

    [Fact]
    public void AMeasurementLeavesNothingBehindWhenTheRunFails()
    {
        // ORT writes the profile when a session is disposed without EndProfiling, so a failed run
        // used to leave it; the whole directory goes now.
        var root = TestPaths.TempDir();
        var wrong = new Dictionary<string, RuntimeTensor> { ["input"] = RuntimeTensor.FromFloats(new float[3], 1, 3) };
        Assert.Throws<RuntimeException>(() => NodeProfiler.Measure(OnnxModel.Load(Model), wrong, 2, 1, null, root));
        Assert.Empty(Directory.GetFileSystemEntries(root));
    }

    [Fact]
    public void TheNextMeasurementRemovesTheProfileDirectoriesOfKilledProcessesAndOnlyThose()
    {
        var root = TestPaths.TempDir();
        var orphan = Path.Combine(root, $"{NodeProfiler.DirectoryPrefix}{AtomicFileTests.DeadProcessId()}-{Guid.NewGuid():N}");
        var running = Path.Combine(root, $"{NodeProfiler.DirectoryPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
        var lookalike = Path.Combine(root, $"{NodeProfiler.DirectoryPrefix}notes");
        foreach (var d in new[] { orphan, running, lookalike })
        {
            Directory.CreateDirectory(d);
            File.WriteAllText(Path.Combine(d, "profile_2026-01-01.json"), "[]");
        }
        NodeProfiler.Measure(OnnxModel.Load(Model), Image(), 1, 0, null, root);
        Assert.False(Directory.Exists(orphan));
        Assert.True(Directory.Exists(running));
        Assert.True(Directory.Exists(lookalike));
    }

    [Fact]
    public void ASessionWritesItsProfileUnderTheGivenPrefixNotInTheWorkingDirectory()
    {
        // The defect: SessionOptions took the prefix only if set before EnableProfiling, so every
        // profile went to the working directory as onnxruntime_profile__<time>.json.
        var dir = TestPaths.TempDir();
        var prefix = Path.Combine(dir, "p");
        string path;
        using (var session = new OnnxRuntimeSession(OnnxModel.Load(Model), RuntimeOptions.Default.WithProfilePrefix(prefix)))
        {
            session.Run(Image());
            path = session.EndProfiling();
        }
        Assert.StartsWith(prefix, Path.GetFullPath(path));
        Assert.True(File.Exists(path));
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(dir).Select(Path.GetFileName));
    }
}
