using System.Diagnostics;
using System.Text.Json;
using Whittle.Data;
using Whittle.Onnx;
using Whittle.Optimization;
using Whittle.Tests.Cli;
using Whittle.Tests.Training;

namespace Whittle.Tests.Optimization;

/// <summary>Trials in their own processes: what a trial needs travels as files, a crashed trial is one failed record, and the search goes on.</summary>
[Collection(TorchCollection.Name)]
public class TrialRunnerTests
{
    private static readonly string Classifier = TestPaths.FixtureModel("fmnist_classifier.onnx");
    private static readonly Recipe Size = new([new QuantizeStep(Objective: "size")]);
    private static readonly Recipe Latency = new([new QuantizeStep()]);

    private static (OnnxModel Model, BoundData Data) Mini()
    {
        var model = OnnxModel.Load(Classifier);
        return (model, ModelData.Bind(model, "fashion-mnist-mini", new DataOptions(mean: [0.2860f], std: [0.3530f])));
    }

    /// <summary>The CLI next to the tests, as the search starts it.</summary>
    private static TrialCommand Cli => TrialCommand.ForAssembly(Path.Combine(AppContext.BaseDirectory, "Whittle.Cli.dll"), "optimize", "--exit-with-parent", "--run-trial");

    [Fact]
    public void TheDataOfATrialTravelsAsValuesAndBindsTheSameSamples()
    {
        var (model, data) = Mini();
        var values = TrialData.From(data);
        var json = JsonSerializer.Serialize(values, new JsonSerializerOptions { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } });
        var back = JsonSerializer.Deserialize<TrialData>(json, new JsonSerializerOptions { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } })!;
        var rebound = back.Bind(model);
        Assert.Equal("fashion-mnist-mini", back.Spec);
        Assert.Equal([0.2860f], back.Mean!);
        Assert.Equal(data.Test!.Count, rebound.Test!.Count);
        Assert.True(data.Test.Features.Span.SequenceEqual(rebound.Test.Features.Span), "the rebound test split differs");
        Assert.True(data.Train!.Features.Span.SequenceEqual(rebound.Train!.Features.Span), "the rebound training split differs");
    }

    /// <summary>Every data option survives the trip, so a field added to <see cref="DataOptions"/> cannot silently bind with its default in a trial process.</summary>
    [Fact]
    public void EveryDataOptionSurvivesTheTripThroughATrialSpec()
    {
        var options = new DataOptions(scale: 2f, mean: [0.1f], std: [0.2f], categories: ["a", "b"],
            tokenizer: new TokenizerOptions(lowercase: false, stripPunctuation: false, sequenceLength: 17, maxSize: 999, minFrequency: 3),
            testFraction: 0.3, splitSeed: 5, negatives: 7, trainNegatives: 2, csvHeader: CsvHeader.Present, subwordLength: 33);
        var back = new TrialData("x", options.Scale, options.Mean, options.Std, options.Categories, options.Tokenizer.Lowercase, options.Tokenizer.StripPunctuation,
            options.Tokenizer.SequenceLength, options.Tokenizer.MaxSize, options.Tokenizer.MinFrequency, options.TestFraction, options.SplitSeed, options.Negatives,
            options.TrainNegatives, options.CsvHeader, options.SubwordLength).ToOptions();
        var properties = typeof(DataOptions).GetProperties(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public);
        foreach (var property in properties)
        {
            var (a, b) = (property.GetValue(options), property.GetValue(back));
            if (a is System.Collections.IEnumerable ea && a is not string)
                Assert.Equal(ea.Cast<object>(), ((System.Collections.IEnumerable)b!).Cast<object>());
            else if (a is TokenizerOptions ta)
                Assert.Equal((ta.Lowercase, ta.StripPunctuation, ta.SequenceLength, ta.MaxSize, ta.MinFrequency),
                    (((TokenizerOptions)b!).Lowercase, ((TokenizerOptions)b).StripPunctuation, ((TokenizerOptions)b).SequenceLength, ((TokenizerOptions)b).MaxSize, ((TokenizerOptions)b).MinFrequency));
            else
                Assert.Equal(a, b);
        }
        // A new option fails here first: carry it in TrialData (From, ToOptions) and list it above.
        Assert.Equal(11, properties.Length);
    }

    [Fact]
    public void ATrialThatRunsPastTheTrialTimeoutIsKilledAndFailedAndTheSearchGoesOn()
    {
        var (model, data) = Mini();
        var options = new SearchOptions(1.0, objective: SearchObjective.Size, run: new RecipeRunOptions(latencyBatch: 8, threads: 1), candidates: [Latency, Size]);
        var runner = new ProcessTrialRunner(Cli, 1, new Dictionary<string, string> { [TrialProcess.HangHook] = "1" }, trialTimeout: TimeSpan.FromSeconds(20));
        var result = RecipeSearch.Run(model, data, options, TestPaths.TempDir(), runner: runner);
        var hung = result.Log.Trials[0];
        Assert.Equal("failed", hung.Status);
        Assert.Contains("ran past the trial timeout of 20 s and was killed", hung.Error);
        Assert.InRange(hung.Seconds, 20, 120);
        Assert.Equal("done", result.Log.Trials[1].Status);
        Assert.Equal(1, result.Best!.Trial);
        Assert.Throws<InvalidOptionException>(() => new ProcessTrialRunner(Cli, trialTimeout: TimeSpan.Zero));
    }

    /// <summary>
    /// Trial 1's process aborts (the test hook, as a libtorch crash would): it is logged as failed with
    /// its exit code and what it printed, trial 2 runs in its own process and wins, with the same model
    /// the in-process runner makes; a second run resumes both from the log.
    /// </summary>
    [Fact]
    public void ATrialProcessThatCrashesIsOneFailedTrialAndTheSearchGoesOn()
    {
        var (model, data) = Mini();
        var dir = TestPaths.TempDir();
        var options = new SearchOptions(1.0, objective: SearchObjective.Size, run: new RecipeRunOptions(latencyBatch: 8, threads: 1), candidates: [Latency, Size]);
        var runner = new ProcessTrialRunner(Cli, workers: 2, new Dictionary<string, string> { [TrialProcess.CrashHook] = "1" });
        var seen = new List<JobProgress>();
        var result = RecipeSearch.Run(model, data, options, dir, new InlineProgress<JobProgress>(p => { lock (seen) seen.Add(p); }), runner);

        var crashed = result.Log.Trials[0];
        Assert.Equal("failed", crashed.Status);
        Assert.Equal(134, crashed.ExitCode); // 128 + SIGABRT
        Assert.Contains("SIGABRT", crashed.Error);
        Assert.Contains("test hook", crashed.Error);
        var done = result.Log.Trials[1];
        Assert.Equal("done", done.Status);
        Assert.Equal(1, result.Best!.Trial);
        Assert.True(File.Exists(Path.Combine(dir, RecipeSearch.BestFile)));
        Assert.True(File.Exists(RecipeSearch.InputModelPath(dir)));
        // The trial's own record, written by its process beside its model, is what the log holds.
        var record = JsonDocument.Parse(File.ReadAllText(RecipeSearch.TrialRecordPath(dir, 1))).RootElement;
        Assert.Equal(done.Bytes, record.GetProperty("bytes").GetInt64());
        // Progress crossed the process boundary (a trial's stages) and the search reported each trial, with the best so far.
        Assert.Contains(seen, p => p.Stage.StartsWith("trial 2/2: step 1/1 quantize", StringComparison.Ordinal));
        Assert.Contains(seen, p => p.Stage == "search" && p.Detail!.Contains("trial 1 failed (exit code 134)", StringComparison.Ordinal));
        Assert.Contains(seen, p => p.Stage == "search" && p.Detail!.Contains("best so far: trial 2", StringComparison.Ordinal));
        // Both trials started at once (2 workers), before either had finished: the live line says there is no best yet.
        Assert.Contains(seen, p => p.Stage.StartsWith("trial 2/2", StringComparison.Ordinal) && p.Detail!.StartsWith("[best: none yet · no time budget]", StringComparison.Ordinal));

        // Static int8 everywhere is deterministic (latency placement is not: it times): the trial process made the model this process makes.
        var here = RecipeSearch.Run(model, data, new SearchOptions(1.0, objective: SearchObjective.Size, run: new RecipeRunOptions(latencyBatch: 8, threads: 1), candidates: [Size]), TestPaths.TempDir());
        Assert.Equal(here.Log.Trials[0].Bytes, done.Bytes);
        Assert.Equal(here.Log.Trials[0].ValidationAccuracy, done.ValidationAccuracy);

        // Started again (no crash now): both trials come from the log, the failed one too, and the winner is the same.
        var again = RecipeSearch.Run(model, data, options, dir, null, new ProcessTrialRunner(Cli));
        Assert.Equal(2, again.Resumed);
        Assert.Equal(1, again.Best!.Trial);
    }

    /// <summary>
    /// kill -9 of the search alone (not its process tree) while a trial process runs: the trial process
    /// ends too (its standard input was the search's pipe), and the search started again with the same
    /// directory runs the rest and writes a winner.
    /// </summary>
    [Fact]
    public void AKilledSearchTakesItsTrialProcessWithItAndResumes()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "reads /proc");
        var outDir = Path.Combine(TestPaths.TempDir(), "search");
        string[] args = ["optimize", Classifier, "--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530", "--objective", "size", "--trials", "3", "--limit", "600",
            "--latency-batch", "8", "--workers", "1", "--threads", "1", "-o", outDir];
        var log = Path.Combine(outDir, "trials.json");
        using (var search = StartCli(args))
        {
            // Wait until the first trial is logged and the second one's process is running.
            var watch = Stopwatch.StartNew();
            while (!search.HasExited && watch.Elapsed < TimeSpan.FromMinutes(3) && !(File.Exists(log) && TrialProcesses(outDir).Count > 0)) Thread.Sleep(20);
            Assert.False(search.HasExited, "the search ended before it could be killed: " + (search.HasExited ? search.StandardError.ReadToEnd() : ""));
            Assert.NotEmpty(TrialProcesses(outDir));
            search.Kill(entireProcessTree: false); // SIGKILL to the search only
            search.WaitForExit();
        }
        var gone = Stopwatch.StartNew();
        while (TrialProcesses(outDir).Count > 0 && gone.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(50);
        Assert.Empty(TrialProcesses(outDir));

        var r = CliRunner.Run([.. args, "--json"]);
        Assert.True(r.ExitCode == 0, r.Error);
        using var doc = JsonDocument.Parse(r.Output);
        Assert.True(doc.RootElement.GetProperty("resumed").GetInt32() >= 1);
        Assert.Equal(3, doc.RootElement.GetProperty("log").GetProperty("trials").GetArrayLength());
        Assert.True(File.Exists(Path.Combine(outDir, "best.onnx")));
    }

    /// <summary>Pids of running processes whose command line names a trial spec in <paramref name="outDir"/>.</summary>
    private static List<int> TrialProcesses(string outDir)
    {
        var marker = Path.Combine(outDir, "trials") + "/";
        var found = new List<int>();
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out int pid)) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(d, "cmdline"));
                if (cmdline.Contains("--run-trial", StringComparison.Ordinal) && cmdline.Contains(marker, StringComparison.Ordinal)) found.Add(pid);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return found;
    }

    private static Process StartCli(string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Whittle.Cli.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        var p = Process.Start(info)!;
        p.OutputDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        return p;
    }

    [Fact]
    public void TheCliSearchesSeveralModelsIntoTheirOwnDirectoriesWithOneComparisonReport()
    {
        var models = TestPaths.TempDir();
        File.Copy(Classifier, Path.Combine(models, "cnn.onnx"));
        File.Copy(TestPaths.FixtureModel("pytorch_resnet_opset13.onnx"), Path.Combine(models, "resnet.onnx"));
        var outDir = Path.Combine(TestPaths.TempDir(), "out");
        var r = CliRunner.Run("optimize", models, "--data", "fashion-mnist-mini", "--normalize", "0.2860,0.3530", "--objective", "size", "--trials", "1",
            "--latency-batch", "8", "--time-budget", "1h", "-o", outDir, "--json");
        Assert.True(r.ExitCode is 0 or 3, r.Error);
        using var doc = JsonDocument.Parse(r.Output);
        var list = doc.RootElement.GetProperty("models").EnumerateArray().ToList();
        Assert.Equal(["cnn", "resnet"], list.Select(m => m.GetProperty("name").GetString()));
        foreach (var m in list)
        {
            var dir = Path.Combine(outDir, m.GetProperty("name").GetString()!);
            Assert.Equal(dir, m.GetProperty("directory").GetString());
            Assert.True(File.Exists(Path.Combine(dir, "trials.json")));
            Assert.True(File.Exists(Path.Combine(dir, "report.html")));
            Assert.Equal(1, m.GetProperty("trials").GetInt32());
            Assert.Equal(m.GetProperty("bestTrial").ValueKind != JsonValueKind.Null, File.Exists(Path.Combine(dir, "best.onnx")));
        }
        // The CNN's static int8 is about 3× smaller within the budget.
        Assert.True(list[0].GetProperty("sizeReduction").GetDouble() > 2.5);
        Assert.Equal(r.ExitCode == 0, list.All(m => m.GetProperty("bestTrial").ValueKind != JsonValueKind.Null));
        // The budget is the run's: the first model had half of it, the second all that was left (the first used a few seconds of its half).
        double first = list[0].GetProperty("timeBudgetSeconds").GetDouble(), second = list[1].GetProperty("timeBudgetSeconds").GetDouble();
        // Half of what was left when the first model started: loading and binding before it can take a minute on a loaded 2-core machine.
        Assert.InRange(first, 1680, 1800);
        Assert.InRange(second, 3000, 3600 - 1);

        var html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        Assert.Contains("Whittle optimize report — 2 models", html);
        Assert.Contains("<a href=\"cnn/report.html\">", html);
        Assert.Contains("<a href=\"resnet/report.html\">", html);
        Assert.Contains("id=\"model-resnet\"", html);
        Assert.Equal(2, Reporting.ReportFixtures.Images(html).Count); // accuracy vs latency and vs size, every model

        // Two files with one name would share a directory: refused before anything runs.
        var other = TestPaths.TempDir();
        File.Copy(Classifier, Path.Combine(other, "cnn.onnx"));
        var clash = CliRunner.Run("optimize", Path.Combine(models, "cnn.onnx"), Path.Combine(other, "cnn.onnx"), "--data", "fashion-mnist-mini", "-o", Path.Combine(TestPaths.TempDir(), "o"));
        Assert.Equal(2, clash.ExitCode);
        Assert.Contains("two models are named 'cnn'", clash.Error);
    }
}
