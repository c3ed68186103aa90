using System.Diagnostics;
using Whittle.Onnx;

namespace Whittle.Tests.Onnx;

/// <summary>Atomic writes leave no temporary file: not on failure, and not for good when a writer was killed.</summary>
public sealed class AtomicFileTests
{
    /// <summary>The id of a process that has exited (and been reaped), as a killed writer's would be.</summary>
    internal static int DeadProcessId()
    {
        using var p = Process.Start("true")!;
        p.WaitForExit();
        var pid = p.Id;
        Assert.False(TemporaryFiles.IsRunning(pid));
        return pid;
    }

    private static string TempName(string target, int pid) => Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{pid}.{Guid.NewGuid():N}.tmp");

    [Fact]
    public void AWriteThatFailsRemovesItsTemporaryFileAndLeavesTheTargetAlone()
    {
        var dir = TestPaths.TempDir();
        var target = Path.Combine(dir, "m.onnx");
        File.WriteAllText(target, "old");
        var e = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(target, s =>
        {
            s.Write(new byte[100_000]);
            throw new InvalidOperationException("the writer failed half way");
        }));
        Assert.Equal("the writer failed half way", e.Message);
        Assert.Equal("old", File.ReadAllText(target));
        Assert.Equal(["m.onnx"], Directory.GetFiles(dir).Select(Path.GetFileName));

        Assert.Throws<OperationCanceledException>(() => AtomicFile.Write(target, _ => throw new OperationCanceledException()));
        Assert.Equal(["m.onnx"], Directory.GetFiles(dir).Select(Path.GetFileName));
    }

    [Fact]
    public void ACommitThatFailsRemovesTheTemporaryFile()
    {
        // The target is a directory: the rename fails after all the data was written.
        var dir = TestPaths.TempDir();
        var target = Path.Combine(dir, "m.onnx");
        Directory.CreateDirectory(target);
        Assert.Throws<OnnxException>(() => AtomicFile.WriteAllBytes(target, new byte[10]));
        Assert.Empty(Directory.GetFiles(dir));
    }

    [Fact]
    public void TheNextWriteRemovesTheTemporaryFilesOfKilledWritersAndOnlyThose()
    {
        var dir = TestPaths.TempDir();
        var target = Path.Combine(dir, "m.onnx");
        var orphan = TempName(target, DeadProcessId());
        var running = TempName(target, Environment.ProcessId);      // this process may still be writing it
        var otherTarget = TempName(Path.Combine(dir, "n.onnx"), DeadProcessId()); // another file's: its own next write
        var lookalike = Path.Combine(dir, ".m.onnx.backup.tmp");     // not one of Whittle's names
        foreach (var f in new[] { orphan, running, otherTarget, lookalike }) File.WriteAllText(f, "partial");

        AtomicFile.WriteAllText(target, "new");

        Assert.Equal("new", File.ReadAllText(target));
        Assert.False(File.Exists(orphan));
        Assert.True(File.Exists(running));
        Assert.True(File.Exists(otherTarget));
        Assert.True(File.Exists(lookalike));
    }

    [SkippableFact]
    public void AWriterKilledMidWriteLeavesATemporaryFileTheNextRunRemoves()
    {
        // A real kill: a child process holds a half-written temporary file (named the way
        // AtomicFile names it, with the child's pid) when it is killed with SIGKILL.
        Skip.IfNot(OperatingSystem.IsLinux(), "uses sh and kill");
        var dir = TestPaths.TempDir();
        var target = Path.Combine(dir, "m.onnx");
        using var child = Process.Start(new ProcessStartInfo("sh", ["-c", $"echo partial > \"{dir}/.m.onnx.$$.{new string('a', 32)}.tmp\"; exec sleep 60"]))!;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Directory.GetFiles(dir).Length == 0 && DateTime.UtcNow < deadline) Thread.Sleep(20);
        child.Kill();
        child.WaitForExit();
        var left = Assert.Single(Directory.GetFiles(dir));
        Assert.Contains($".{child.Id}.", left);

        AtomicFile.WriteAllText(target, "new");
        Assert.Equal(["m.onnx"], Directory.GetFiles(dir).Select(Path.GetFileName));
    }
}
