using System.Diagnostics;
using System.Text.RegularExpressions;
using Whittle.Optimization;
using Whittle.Reporting;
using Xunit.Abstractions;

namespace Whittle.Tests.Reporting;

public class SearchReportTests(ITestOutputHelper output)
{
    [Fact]
    public void TheReportHasEveryTrialInItsTableAndEveryFigureIsAnEmbeddedPng()
    {
        var search = ReportFixtures.Search();
        SearchReport.Render(search, "warm-up.onnx", ReportFixtures.Machine); // ScottPlot's and Skia's one-time start-up
        var watch = Stopwatch.StartNew();
        var html = SearchReport.Render(search, "cnn <v2>.onnx", ReportFixtures.Machine);
        output.WriteLine($"24-trial report: {watch.ElapsedMilliseconds} ms, {html.Length / 1024} KiB");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"the 24-trial report took {watch.Elapsed}");

        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("<title>Whittle optimize report — cnn &lt;v2&gt;.onnx</title>", html);
        foreach (var t in search.Log.Trials)
        {
            var row = Regex.Match(html, $"<tr class=\"[^\"]*\" id=\"trial-{t.Trial + 1}\">(.*?)</tr>").Groups[1].Value;
            Assert.Contains(System.Net.WebUtility.HtmlEncode(SearchReport.Describe(t.Recipe)), row);
            Assert.Contains($"<td>{t.Status}</td>", row);
            if (t.ValidationAccuracy is { } v) Assert.Contains(SearchPlots.Percent(v), row);
            if (t.LatencyRatio is { } l) Assert.Contains($"{l:0.00}×", row);
            if (t.TestMacroF1 is { } f) Assert.Contains($"{f:0.0000}", row);
            if (t.Pareto) Assert.Contains("Pareto", row);
        }
        Assert.Contains("<tr class=\"winner done\" id=\"trial-7\">", html);
        Assert.Single(Regex.Matches(html, "class=\"flag winner\""));
        // The failure reason, encoded (no markup of its own).
        Assert.Contains("QAT refused: &lt;Conv&gt; &quot;conv1&quot; &amp; friends stayed float", html);
        Assert.Contains("is outside the budget and no later step trains", html);
        Assert.Contains("validation accuracy ≥ 87.00%", html);

        // Two trade-offs, the winner's two training steps, its SQNR: five PNGs, each decodable at 1.5 pixels per CSS pixel.
        var images = ReportFixtures.Images(html);
        Assert.Equal(5, images.Count);
        Assert.All(images, i =>
        {
            Assert.Equal((int)(i.Width * 1.5), i.Image.Width);
            Assert.Equal((int)(i.Height * 1.5), i.Image.Height);
            // Something was drawn: more than a handful of colours.
            Assert.True(i.Image.Pixels.Distinct().Take(20).Count() >= 20);
        });
        Assert.Equal(5, Regex.Matches(html, "<img ").Count);
        Assert.Contains("Step 1: prune channel 37.5% agp ft2", html);
        Assert.Contains("Step 2: qat int8 1ep", html);
        Assert.Contains("One epoch: one point per curve.", html);
        Assert.Contains("1 activation matches the float model exactly (SQNR ∞)", html);
        Assert.Contains("<details><summary>Every quantized activation (7)</summary>", html);

        // Self-contained: nothing to fetch, nothing to run.
        Assert.DoesNotMatch("(src|href)=\"(?!data:)", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("<link", html);
        Assert.DoesNotContain("url(", html);

        // The machine and the versions.
        foreach (var text in new[] { "Test CPU @ 3.0GHz", "Debian GNU/Linux 12 (bookworm)", "0.1.0-test", "1.31.1", "0.107.0", ".NET 10.0.0", "<th>Cores</th><td>2</td>" })
            Assert.Contains(text, html);
    }

    [Fact]
    public void TheSearchsSensitivityScanIsDrawnWithEveryGroupInATable()
    {
        var search = ReportFixtures.Search();
        var scan = new Whittle.Pruning.SensitivityReport(Whittle.Pruning.SensitivityMethod.Channel, 2000, 0.88, 0.35, 0.01,
        [
            new("/conv1/Conv (Conv) output channels", 32, [new(0.25, 0.80, 0.6), new(0.5, 0.61, 1.1), new(0.75, 0.30, 2.0)], 0.58, 0),
            new("/conv2/Conv (Conv) output channels", 64, [new(0.25, 0.87, 0.4), new(0.5, 0.85, 0.45), new(0.75, 0.79, 0.7)], 0.09, 0.25),
        ], 0);
        var html = SearchReport.Render(search with { Log = search.Log with { Sensitivity = scan } }, machine: ReportFixtures.Machine);
        Assert.Contains("alt=\"Per-layer sensitivity: validation accuracy with one channel group pruned alone: 2 groups; most sensitive /conv1/Conv (Conv) output channels (worst drop 58.0 points)", html);
        Assert.Contains("<td class=\"recipe\">/conv2/Conv (Conv) output channels</td><td>64</td><td>87.00%</td><td>85.00%</td><td>79.00%</td><td>9.00 pt</td>", html);
        Assert.Contains("<th>25% removed</th><th>50% removed</th><th>75% removed</th>", html);
        Assert.Equal(ReportFixtures.Images(SearchReport.Render(search, machine: ReportFixtures.Machine)).Count + 1, ReportFixtures.Images(html).Count);
    }

    [Fact]
    public void WhatWasNotRecordedIsANoteNotAnEmptyChart()
    {
        var search = ReportFixtures.Search();
        var trials = search.Log.Trials;

        // A static-int8 winner: nothing trains, so there are no curves, but its SQNR is drawn.
        var html = SearchReport.Render(ReportFixtures.WithWinner(search, trials[0]), machine: ReportFixtures.Machine);
        Assert.Contains("No training curves: step 1 (static int8 latency) does not train.", html);
        Assert.Equal(3, ReportFixtures.Images(html).Count);
        Assert.Contains("Not measured by this search", html);

        // A trial from a log written before histories and per-layer errors were kept.
        var old = trials[6] with { Steps = trials[6].Steps.Select(s => s with { History = null, Layers = null }).ToList() };
        html = SearchReport.Render(ReportFixtures.WithWinner(search, old), machine: ReportFixtures.Machine);
        Assert.Equal(2, Regex.Matches(html, "Per-epoch history not recorded for this trial").Count);
        Assert.Contains("Per-layer quantization error not recorded for this trial", html);
        Assert.Equal(2, ReportFixtures.Images(html).Count);

        // No winner.
        html = SearchReport.Render(ReportFixtures.WithWinner(search, null), machine: ReportFixtures.Machine);
        Assert.Contains("No winner: no training curves.", html);
        Assert.Contains("No winner: no per-layer quantization error.", html);
        Assert.Contains("<strong>none</strong>", html);
        Assert.DoesNotContain("class=\"flag winner\"", html);

        // Only failed trials: notes in place of the trade-off plots.
        var failed = new TrialLog(0.9, 0.89, "size", 1.0, [trials[11]]);
        html = SearchReport.Render(new SearchResult(null, null, failed, 0, 5, 1000), machine: ReportFixtures.Machine);
        Assert.Equal(2, Regex.Matches(html, "No trial finished with a measurement to plot.").Count);
        Assert.Empty(ReportFixtures.Images(html));
    }

    [Fact]
    public void StoppedTrialsAreInTheSizePlotOnlyAndARecipeRunHasNoBudgetLine()
    {
        var search = ReportFixtures.Search();
        var latency = SearchPlots.Tradeoff(search, TradeoffAxis.Latency);
        Assert.Contains("6 stopped trials were not timed", latency.Note);
        Assert.Contains("1 failed trial measured nothing", latency.Note);
        Assert.Contains("budget line at 87.00%", latency.Alt);
        var size = SearchPlots.Tradeoff(search, TradeoffAxis.Size);
        Assert.Contains("Stopped trials (grey)", size.Note);
        Assert.Contains("23 trials plotted", size.Alt);

        var recipe = new TrialLog(0.9, 0.89, "recipe", double.NaN, [search.Log.Trials[0]]);
        var figure = SearchPlots.Tradeoff(new SearchResult(search.Log.Trials[0], null, recipe, 0, 5, 110_000), TradeoffAxis.Latency);
        Assert.NotNull(figure.Png);
        Assert.DoesNotContain("budget", figure.Alt);
    }

    [Fact]
    public void AStagedPruningHistoryIsDrawnInOrder()
    {
        // AGP fine-tunes after each stage with a new trainer: every stage's epoch is 1.
        var winner = ReportFixtures.Search().Log.Trials[6];
        var staged = winner with { Steps = [winner.Steps[0] with { History = [ReportFixtures.Epoch(1, 1.18, 0.84), ReportFixtures.Epoch(1, 0.86, 0.85)] }, winner.Steps[1]] };
        var figures = SearchPlots.TrainingCurves(staged);
        Assert.Equal(2, figures.Count);
        Assert.NotNull(figures[0].Png);
        Assert.Contains("prunes in stages and fine-tunes after each (2 epochs in all)", figures[0].Note);
        Assert.DoesNotContain("stages", figures[1].Note ?? "");
    }

    [Fact]
    public void TheParetoFrontAndTheBudgetAreTheSearchsRules()
    {
        // (cost, accuracy): b dominates a; c is more accurate but costlier; d ties c's accuracy at a higher cost.
        var front = SearchPlots.ParetoFront([(2.0, 0.80), (1.0, 0.85), (3.0, 0.90), (4.0, 0.90), (1.0, 0.85)]);
        Assert.Equal([false, true, true, false, true], front);
        Assert.Equal(0.87, SearchPlots.BudgetThreshold(new TrialLog(0.88, 0.87, "size", 1.0, []))!.Value, 12);
        Assert.Equal(0.88 * 0.98, SearchPlots.BudgetThreshold(new TrialLog(0.88, 0.87, "size", 2.0, [], Relative: true))!.Value, 12);
        Assert.Null(SearchPlots.BudgetThreshold(new TrialLog(0.88, 0.87, "recipe", double.NaN, [])));
        var options = new SearchOptions(1.0);
        Assert.True(options.Meets(0.88, 0.87));
        Assert.False(options.Meets(0.88, 0.8699));
    }

    [Fact]
    public void TheMachineIsDescribedFromProcCpuinfoAndTheLoadedLibraries()
    {
        Assert.Equal("AMD EPYC 7B13 64-Core Processor", MachineInfo.CpuModel("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n\nprocessor\t: 1\nmodel name\t: other\n"));
        Assert.Equal("Raspberry Pi 4 Model B Rev 1.4", MachineInfo.CpuModel("processor\t: 0\nBogoMIPS\t: 108.00\n\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n"));
        Assert.Null(MachineInfo.CpuModel("processor\t: 0\n"));
        var m = MachineInfo.Current();
        Assert.Equal(Environment.ProcessorCount, m.Cores);
        Assert.StartsWith("1.", m.OnnxRuntime);
        Assert.StartsWith("0.107", m.TorchSharp);
        Assert.Contains(".NET", m.DotNet);
        Assert.False(string.IsNullOrWhiteSpace(m.Whittle));
        if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo")) Assert.False(string.IsNullOrWhiteSpace(m.Cpu));
    }

    [Fact]
    public void WriteReplacesTheReportAtomically()
    {
        var dir = TestPaths.TempDir();
        var path = Path.Combine(dir, SearchReport.FileName);
        File.WriteAllText(path, "old");
        SearchReport.Write(path, ReportFixtures.WithWinner(ReportFixtures.Search(), null), "m.onnx", ReportFixtures.Machine);
        Assert.StartsWith("<!DOCTYPE html>", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir));
    }
}
