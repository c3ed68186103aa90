using System.Diagnostics;
using System.Text.Json;
using Whittle.Onnx;

namespace Whittle.Tests.Cli;

public class CheckCommandTests
{
    [Theory]
    [InlineData("pytorch_cnn_opset13.onnx")]
    [InlineData("pytorch_resnet_opset13.onnx")]
    [InlineData("pytorch_transformer_opset17.onnx")]
    public void PyTorchFixturesMatchOnnxRuntimeWithin1e4(string model)
    {
        var r = CliRunner.Run("check", TestPaths.FixtureModel(model), "--json");
        Assert.True(r.ExitCode == 0, r.Error + r.Output);
        var json = JsonDocument.Parse(r.Output).RootElement;
        Assert.True(json.GetProperty("supported").GetBoolean());
        foreach (var o in json.GetProperty("outputs").EnumerateArray())
            Assert.True(o.GetProperty("maxAbsDifference").GetDouble() <= 1e-4);
    }

    [Fact]
    public void ChecksWithRealDataToo()
    {
        var r = CliRunner.Run("check", TestPaths.FixtureModel("fmnist_classifier.onnx"), "--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530", "--samples", "4");
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("the first 4 samples", r.Output);
    }

    [Fact]
    public void UnsupportedOperatorsAreAllListedWithExitCode1()
    {
        var m = OnnxModel.Create("g", 13);
        m.Graph.AddInput(new OnnxValueInfo("x", OnnxDataType.Float, [new OnnxDim(1, null)]));
        m.Graph.AddNode(new OnnxNode("Relu", ["x"], ["a"], "fine"));
        m.Graph.AddNode(new OnnxNode("Unique", ["a"], ["b"], "uniq"));
        m.Graph.AddNode(new OnnxNode("Det", ["b"], ["c"], "det"));
        m.Graph.AddOutput(new OnnxValueInfo("c", OnnxDataType.Float, null));
        var path = Path.Combine(TestPaths.TempDir(), "unsupported.onnx");
        m.Save(path);
        var r = CliRunner.Run("check", path);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("2 problems", r.Output);
        Assert.Contains("'uniq' (Unique", r.Output);
        Assert.Contains("'det' (Det", r.Output);
    }
}

public class ZooCommandTests
{
    [Fact]
    public void ListsAndCreatesEveryArchitecture()
    {
        var list = CliRunner.Run("zoo", "list", "--json");
        Assert.Equal(0, list.ExitCode);
        var names = JsonDocument.Parse(list.Output).RootElement.EnumerateArray().Select(a => a.GetProperty("name").GetString()!).ToList();
        Assert.Equal(["mlp", "lenet5", "convnet", "resnet-cifar", "mobilenetv2", "textcnn", "transformer", "fasttext", "mf", "ncf"], names);
        var dir = TestPaths.TempDir();
        foreach (var name in names)
        {
            var path = Path.Combine(dir, name + ".onnx");
            var r = CliRunner.Run("zoo", "create", name, "-o", path, "--seed", "3");
            Assert.True(r.ExitCode == 0, r.Error);
            Assert.True(OnnxModel.Load(path).Validate().IsValid);
        }
        var unknown = CliRunner.Run("zoo", "create", "alexnet", "-o", Path.Combine(dir, "x.onnx"));
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("known: mlp", unknown.Error);
    }
}

public class TrainCommandTests
{
    [Fact]
    public void FineTunesWritesAVerifiedModelAndReportsTestMetricsFromOnnxRuntime()
    {
        var dir = TestPaths.TempDir();
        var output = Path.Combine(dir, "tuned.onnx");
        var input = TestPaths.FixtureModel("fmnist_classifier.onnx");
        var before = File.ReadAllBytes(input);
        var r = CliRunner.Run("train", input, "--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530", "--limit", "1000",
            "--epochs", "2", "--batch", "64", "--lr", "3e-4", "-o", output, "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var json = JsonDocument.Parse(r.Output).RootElement;
        var run = json.GetProperty("runs")[0];
        Assert.Equal(2, run.GetProperty("epochs").GetInt32());
        Assert.True(run.GetProperty("testAccuracy").GetDouble() > 0.8, "fine-tuning a trained classifier must not wreck it");
        Assert.True(json.GetProperty("verificationMaxAbsDifference").GetDouble() <= 1e-3);
        Assert.True(File.Exists(output));
        Assert.Equal(before, File.ReadAllBytes(input)); // the input is never modified
        Assert.True(File.Exists(Path.Combine(dir, "tuned.run", "history.csv")));
        // Same architecture, new weights.
        var trained = OnnxModel.Load(output);
        Assert.Equal(OnnxModel.Load(input).Graph.Nodes.Select(n => n.ToString()), trained.Graph.Nodes.Select(n => n.ToString()));
    }

    [Fact]
    public void SeveralSeedsReportMeanAndStd()
    {
        var dir = TestPaths.TempDir();
        var r = CliRunner.Run("train", TestPaths.FixtureModel("fmnist_classifier.onnx"), "--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530",
            "--limit", "400", "--epochs", "1", "--seeds", "3", "-o", Path.Combine(dir, "m.onnx"), "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var stability = JsonDocument.Parse(r.Output).RootElement.GetProperty("stability");
        var acc = stability.GetProperty("testAccuracy");
        Assert.Equal(3, acc.GetProperty("count").GetInt32());
        Assert.True(acc.GetProperty("std").GetDouble() >= 0);
        Assert.True(acc.GetProperty("min").GetDouble() <= acc.GetProperty("mean").GetDouble());
    }

    [Fact]
    public void ANaNProducingLearningRateStopsWithAClearErrorAndWritesNoModel()
    {
        var dir = TestPaths.TempDir();
        var output = Path.Combine(dir, "nan.onnx");
        var r = CliRunner.Run("train", TestPaths.FixtureModel("fmnist_classifier.onnx"), "--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530",
            "--limit", "1000", "--epochs", "2", "--optimizer", "sgd", "--schedule", "constant", "--lr", "1e30", "-o", output);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("became NaN", r.Error);
        Assert.Contains("learning rate 1E+30", r.Error);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void RefusesToOverwriteItsInput()
    {
        var r = CliRunner.Run("train", TestPaths.FixtureModel("fmnist_classifier.onnx"), "-o", TestPaths.FixtureModel("fmnist_classifier.onnx"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("never modifies an input file", r.Error);
    }

    // In-process runs leave --threads alone: set_num_threads is process-wide, and changing it while
    // other tests run torch work in parallel made one of them fail intermittently.

    /// <summary>
    /// Kills a real `whittle train` process in the middle of its second epoch, then resumes it:
    /// the resumed run finishes with the requested number of epochs.
    /// </summary>
    [Fact]
    public void AKilledRunResumesFromItsLastCheckpoint()
    {
        var dir = TestPaths.TempDir();
        var output = Path.Combine(dir, "resumed.onnx");
        string[] args = ["train", TestPaths.FixtureModel("fmnist_classifier.onnx"), "--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530",
            "--epochs", "3", "--batch", "8", "-o", output];
        var checkpoint = Path.Combine(dir, "resumed.run", "checkpoint.bin");
        using (var process = StartCli(args))
        {
            // Wait for the first epoch's checkpoint, then kill the process during epoch 2.
            var started = DateTime.UtcNow;
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (!File.Exists(checkpoint) && !process.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(10);
            if (!File.Exists(checkpoint)) Assert.Fail("no checkpoint after the first epoch: " + process.StandardError.ReadToEnd());
            Thread.Sleep(50);
            Assert.False(process.HasExited, $"the run ended (exit code {(process.HasExited ? process.ExitCode : 0)}, {(DateTime.UtcNow - started).TotalSeconds:0.0} s after start) before it could be killed: {(process.HasExited ? process.StandardError.ReadToEnd() : "")}");
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        Assert.False(File.Exists(output));
        using (var resumed = StartCli([.. args, "--resume", "--json"]))
        {
            resumed.WaitForExit();
            Assert.True(resumed.ExitCode == 0, resumed.StandardError.ReadToEnd());
        }
        var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "resumed.run", "train-report.json"))).RootElement;
        var run = report.GetProperty("runs")[0];
        Assert.Equal(3, run.GetProperty("epochs").GetInt32());
        Assert.True(run.GetProperty("testAccuracy").GetDouble() > 0.8);

        // The same run without the kill, same threads: the resumed model is bit for bit the same.
        var uninterrupted = Path.Combine(dir, "straight.onnx");
        using (var straight = StartCli([.. args[..^1], uninterrupted]))
        {
            straight.WaitForExit();
            Assert.True(straight.ExitCode == 0, straight.StandardError.ReadToEnd());
        }
        var a = Whittle.Onnx.OnnxModel.Load(output).Graph.Initializers.ToDictionary(t => t.Name, t => t.ToFloatArray());
        var b = Whittle.Onnx.OnnxModel.Load(uninterrupted).Graph.Initializers.ToDictionary(t => t.Name, t => t.ToFloatArray());
        Assert.Equal(b.Keys.Order(), a.Keys.Order());
        foreach (var (name, values) in b) Assert.True(values.AsSpan().SequenceEqual(a[name]), $"initializer {name} differs after kill -9 and resume");
    }

    /// <summary>
    /// Kills real `whittle prune` and `whittle quantize` processes at several moments: the output is
    /// always the old file or a complete new model, never a partial one, and the next run's write
    /// leaves no temporary file beside it.
    /// </summary>
    [Fact]
    public void AKilledPruneOrQuantizeLeavesTheOldOutputOrANewCompleteOne()
    {
        var dir = TestPaths.TempDir();
        var output = Path.Combine(dir, "out.onnx");
        var model = TestPaths.FixtureModel("fmnist_classifier.onnx");
        string[][] runs =
        [
            ["prune", model, "--method", "magnitude", "--sparsity", "0.5", "--finetune-epochs", "1", "--data", "fashion-mnist-mini", "--limit", "600", "-o", output],
            ["quantize", model, "--data", "fashion-mnist-mini", "--objective", "size", "-o", output],
        ];
        var old = "an older output"u8.ToArray();
        int complete = 0, untouched = 0;
        foreach (var args in runs)
        {
            foreach (int ms in new[] { 300, 900, 1800, 3000 })
            {
                File.WriteAllBytes(output, old);
                using (var process = StartCli(args))
                {
                    process.WaitForExit(ms);
                    if (!process.HasExited) process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                }
                var bytes = File.ReadAllBytes(output);
                if (bytes.AsSpan().SequenceEqual(old)) untouched++;
                else
                {
                    Whittle.Onnx.OnnxModel.Load(output); // a complete model, or this throws
                    complete++;
                }
            }
        }
        Assert.True(untouched > 0, "no kill landed before the write; the test does not probe the write");
        var last = CliRunner.Run(runs[1]);
        Assert.True(last.ExitCode == 0, last.Error);
        Assert.Empty(Directory.EnumerateFiles(dir, "*.tmp").Concat(Directory.EnumerateFiles(dir, ".*.tmp")));
        Assert.True(untouched + complete == 8);
    }

    /// <summary>
    /// Kills a real `whittle optimize` search with kill -9 once it has logged its first trial, then
    /// starts it again with the same output directory: the logged trial is taken as it was, not run
    /// again, and the search finishes and writes its winner.
    /// </summary>
    [Fact]
    public void AKilledSearchResumesFromItsTrialLog()
    {
        var outDir = Path.Combine(TestPaths.TempDir(), "search");
        string[] args = ["optimize", TestPaths.FixtureModel("fmnist_classifier.onnx"), "--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530",
            "--objective", "size", "--trials", "3", "--limit", "600", "--latency-batch", "8", "-o", outDir];
        var log = Path.Combine(outDir, "trials.json");
        string? before = null;
        using (var process = StartCli(args))
        {
            var watch = Stopwatch.StartNew();
            while (!process.HasExited && watch.Elapsed < TimeSpan.FromMinutes(3))
            {
                if (File.Exists(log)) break;
                Thread.Sleep(50);
            }
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit();
            before = File.ReadAllText(log);
        }
        using var partial = JsonDocument.Parse(before); // atomic: a complete log, never a torn one
        var first = partial.RootElement.GetProperty("trials")[0];
        var r = CliRunner.Run([.. args, "--json"]);
        Assert.True(r.ExitCode == 0, r.Error);
        using var doc = JsonDocument.Parse(r.Output);
        Assert.True(doc.RootElement.GetProperty("resumed").GetInt32() >= 1);
        var again = doc.RootElement.GetProperty("log").GetProperty("trials")[0];
        Assert.Equal(first.GetProperty("seconds").GetDouble(), again.GetProperty("seconds").GetDouble());
        Assert.Equal(first.GetProperty("bytes").GetInt64(), again.GetProperty("bytes").GetInt64());
        Assert.Equal(3, doc.RootElement.GetProperty("log").GetProperty("trials").GetArrayLength());
        Assert.True(File.Exists(Path.Combine(outDir, "best.onnx")));
    }

    private static Process StartCli(string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Whittle.Cli.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.ArgumentList.Add("--threads");
        info.ArgumentList.Add("1");
        var p = Process.Start(info)!;
        p.OutputDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        return p;
    }
}
