using System.Diagnostics;
using Spectre.Console;
using Whittle.Data;
using Whittle.Distillation;
using Whittle.Onnx;
using Whittle.Training;
using static TorchSharp.torch;

namespace Whittle.Bench;

/// <summary>
/// Knowledge distillation on the models users bring: the width-8 student of the BN-folded
/// PyTorch 3-conv CNN (<c>bench/models/cnn3w8-init-pytorch.onnx</c>, 6.6 % of the teacher's
/// parameters) trained alone by <see cref="ModelTrainer"/> and by <see cref="ModelDistiller"/> from
/// <c>bench/models/cnn3-pytorch-fmnist.onnx</c>, same recipe, epochs and seed: the default
/// (adaptive α), with hint layers, and a sweep over T and α with α fixed; the process's resident
/// memory after every epoch of a 10-epoch distillation with hint layers (distillation doubles the forward work); and PyTorch
/// running the same recipe (<c>bench/reference/distill_reference.py</c>) in the same run.
/// Environment: WHITTLE_DISTILL_EPOCHS (default 5), WHITTLE_DISTILL_GRID ("T:alpha,..." for the
/// fixed-α sweep; default all of T ∈ {1, 2, 4, 8} × α ∈ {0.5, 0.7, 0.9}; "none" for no sweep), WHITTLE_DISTILL_SEEDS
/// (default 3: seeds of the alone / default / raw-logit / hint-layer rows and of PyTorch's), WHITTLE_DISTILL_GRID_LOGITS
/// (raw, standardized or both: the losses the sweep covers; default both), WHITTLE_DISTILL_PYTORCH (0: no PyTorch rows),
/// WHITTLE_DISTILL_THREADS (libtorch and PyTorch threads; default 2).
/// </summary>
internal sealed class DistillationBenchmark : IBenchmark
{
    public string Name => "distill";
    public string Description => "width-8 student of a BN-folded PyTorch CNN: train alone vs distill (standardized and raw logits, a T x alpha sweep of both), PyTorch side by side, RSS per epoch";

    public object Run(BenchContext context)
    {
        int epochs = int.TryParse(Environment.GetEnvironmentVariable("WHITTLE_DISTILL_EPOCHS"), out var e) ? e : context.Quick ? 1 : 5;
        var grid = Grid(Environment.GetEnvironmentVariable("WHITTLE_DISTILL_GRID"), context.Quick);
        int threads = int.TryParse(Environment.GetEnvironmentVariable("WHITTLE_DISTILL_THREADS"), out var th) && th > 0 ? th : Math.Min(2, Environment.ProcessorCount);
        set_num_threads(threads);
        var models = Path.Combine(context.RepoRoot, "bench", "models");
        var student = OnnxModel.Load(Path.Combine(models, "cnn3w8-init-pytorch.onnx"));
        var teacher = OnnxModel.Load(Path.Combine(models, "cnn3-pytorch-fmnist.onnx"));
        var data = ModelData.Bind(student, "fashion-mnist", new DataOptions(mean: [0.2860f], std: [0.3530f]));
        var trainer = new TrainerOptions(epochs, 128, new AdamWOptions(2e-3), new CosineAnnealingSchedule(unit: ScheduleUnit.Step));
        var training = new ModelTrainingOptions(trainer, limit: context.Quick ? 3000 : null);

        // The comparison that decides whether distillation helps is run over several seeds (one seed's
        // noise on this budget is ±0.3-0.5 point); the T × α sweep over one.
        int seeds = int.TryParse(Environment.GetEnvironmentVariable("WHITTLE_DISTILL_SEEDS"), out var n) ? n : context.Quick ? 1 : 3;
        var multi = new ModelTrainingOptions(trainer, seeds: seeds, limit: context.Quick ? 3000 : null);
        var rows = new List<Row>();
        var watch = Stopwatch.StartNew();
        var alone = ModelTrainer.Train(student, data, multi);
        rows.Add(Summary("alone (train)", null, null, "-", alone, watch, []));

        watch.Restart();
        var adaptive = ModelDistiller.Distill(student, teacher, data, new ModelDistillationOptions(multi));
        rows.Add(Summary("distill (defaults: standardized logits, adaptive)", adaptive.Temperature, adaptive.Alpha, "adaptive", adaptive.Training, watch, adaptive.AlphaByEpoch, adaptive.StandardizedLogits));
        watch.Restart();
        var rawRun = ModelDistiller.Distill(student, teacher, data, new ModelDistillationOptions(multi, standardizeLogits: false));
        rows.Add(Summary("distill --standardize-logits false (raw logits, adaptive)", rawRun.Temperature, rawRun.Alpha, "adaptive", rawRun.Training, watch, rawRun.AlphaByEpoch, false));
        watch.Restart();
        var hinted = ModelDistiller.Distill(student, teacher, data, new ModelDistillationOptions(multi, featureLayers: ModelDistillationOptions.AutoFeatureLayers));
        rows.Add(Summary("distill --feature-layers auto (standardized, adaptive)", hinted.Temperature, hinted.Alpha, "adaptive", hinted.Training, watch, hinted.AlphaByEpoch, hinted.StandardizedLogits));
        foreach (bool standardized in GridLogits(Environment.GetEnvironmentVariable("WHITTLE_DISTILL_GRID_LOGITS")))
        foreach (var (t, a) in grid)
        {
            watch.Restart();
            var r = ModelDistiller.Distill(student, teacher, data, new ModelDistillationOptions(training, t, a, AlphaPolicy.Fixed, standardizeLogits: standardized));
            rows.Add(Summary($"distill {(standardized ? "standardized" : "raw")} T={t} α={a}", t, a, "fixed", r.Training, watch, r.AlphaByEpoch, standardized));
        }
        var pytorch = context.Quick ? [] : PyTorchReference(context, epochs, seeds, threads);

        // Resident memory after every epoch of a 10-epoch distillation with hint layers (the most
        // forward work per step): flat, or growing by how much per epoch.
        var rss = new List<double>();
        var progress = new InlineProgress<JobProgress>(p =>
        {
            if (p.Finished && p.Stage.StartsWith("training epoch", StringComparison.Ordinal)) rss.Add(Process.GetCurrentProcess().WorkingSet64 / 1048576.0);
        });
        var memoryRun = new ModelTrainingOptions(new TrainerOptions(context.Quick ? 3 : 10, 128, new AdamWOptions(2e-3), new CosineAnnealingSchedule(unit: ScheduleUnit.Step)),
            limit: context.Quick ? 1000 : 10000);
        ModelDistiller.Distill(student, teacher, data, new ModelDistillationOptions(memoryRun, featureLayers: ModelDistillationOptions.AutoFeatureLayers), progress);

        var table = new Table().Title($"Width-8 student (6,218 parameters) of the BN-folded PyTorch 3-conv CNN, {epochs} epochs, AdamW 2e-3 cosine, batch 128; "
                + $"first four rows and PyTorch's mean ± std over seeds 0..{seeds - 1}, the sweep seed 0; PyTorch rows Δ vs PyTorch alone; teacher test accuracy {adaptive.TeacherTestAccuracy:P2}")
            .AddColumns("run", "test accuracy", "Δ vs alone", "macro-F1", "α by epoch (seed 0)", "seconds");
        foreach (var row in rows.Concat(pytorch))
            table.AddRow(Markup.Escape(row.Run), row.Seeds > 1 ? $"{row.Accuracy:P2} ± {row.AccuracyStd * 100:0.00}" : $"{row.Accuracy:P2}",
                $"{(row.Accuracy - (pytorch.Contains(row) ? pytorch[0] : rows[0]).Accuracy) * 100:+0.00;-0.00} pt", row.MacroF1 is { } f1 ? $"{f1:0.0000}" : "-",
                string.Join(" ", row.AlphaByEpoch.Select(x => x.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture))), $"{row.Seconds:0}");
        AnsiConsole.Write(table);
        foreach (var note in adaptive.Notes.Concat(rawRun.Notes).Concat(hinted.Notes).Distinct()) AnsiConsole.MarkupLine($"[grey]{Markup.Escape(note)}[/]");
        double growth = rss.Count > 2 ? (rss[^1] - rss[1]) / (rss.Count - 2) : 0;
        AnsiConsole.MarkupLine($"RSS after each epoch of a {rss.Count}-epoch distillation with hint layers (MiB): {string.Join(", ", rss.Select(x => x.ToString("0")))}; "
            + $"growth after epoch 2: {growth:0.0} MiB/epoch");
        return new
        {
            epochs, seeds, teacherTestAccuracy = adaptive.TeacherTestAccuracy, teacherValidationAccuracy = adaptive.TeacherValidationAccuracy,
            rows, pytorch, notes = adaptive.Notes.Concat(rawRun.Notes).Concat(hinted.Notes).Distinct().ToList(), rssMiBPerEpoch = rss, rssGrowthMiBPerEpochAfterEpoch2 = growth,
        };
    }

    private static Row Summary(string run, double? t, double? alpha, string policy, ModelTrainingResult result, Stopwatch watch, IReadOnlyList<double> alphas, bool? standardized = null)
    {
        var accuracies = result.Runs.Select(r => r.TestAccuracy!.Value).ToArray();
        var (mean, std) = MeanStd(accuracies);
        return new Row(run, t, alpha, policy, mean, std, accuracies.Length, accuracies, result.Runs.Average(r => r.TestMacroF1!.Value), watch.Elapsed.TotalSeconds, alphas, standardized);
    }

    private static (double Mean, double Std) MeanStd(double[] values)
    {
        double mean = values.Average();
        return (mean, values.Length > 1 ? Math.Sqrt(values.Sum(a => (a - mean) * (a - mean)) / (values.Length - 1)) : 0);
    }

    private static bool[] GridLogits(string? spec) => spec switch
    {
        null or "" or "both" => [true, false],
        "raw" => [false],
        "standardized" => [true],
        _ => throw new ArgumentException($"WHITTLE_DISTILL_GRID_LOGITS: both, standardized or raw, not '{spec}'"),
    };

    /// <summary>
    /// The same recipe in PyTorch, side by side in this run (bench/reference/distill_reference.py, the
    /// student with its BatchNorms, all 60,000 training images): alone; standardized logits at T 2 α 0.5 early-stopped
    /// after 60 % of the epochs (Whittle's default recipe), Hinton's raw logits the same way, and both with α fixed; skipped when /usr/bin/python3 has no torch
    /// (apt-get install python3-torch) or WHITTLE_DISTILL_PYTORCH=0.
    /// </summary>
    private static List<Row> PyTorchReference(BenchContext context, int epochs, int seeds, int threads)
    {
        if (Environment.GetEnvironmentVariable("WHITTLE_DISTILL_PYTORCH") == "0" || !File.Exists("/usr/bin/python3")) return [];
        var start = new ProcessStartInfo("/usr/bin/python3")
        {
            WorkingDirectory = context.RepoRoot, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "bench/reference/distill_reference.py", "bench/models/cnn3-pytorch-fmnist.onnx", epochs.ToString(), threads.ToString(System.Globalization.CultureInfo.InvariantCulture), "--seeds", seeds.ToString(),
            "2:0.5:early:ls", "2:0.5:early", "2:0.5:fixed", "2:0.5:fixed:ls" })
            start.ArgumentList.Add(a);
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        var lines = new List<System.Text.Json.JsonElement>();
        while (process.StandardOutput.ReadLine() is { } line)
            if (line.StartsWith('{')) lines.Add(System.Text.Json.JsonDocument.Parse(line).RootElement.Clone());
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            AnsiConsole.MarkupLine($"[yellow]PyTorch reference skipped: {Markup.Escape(errors.Result.Split('\n').LastOrDefault(l => l.Length > 0) ?? $"exit {process.ExitCode}")}[/]");
            return [];
        }
        return lines.Where(l => l.TryGetProperty("run", out _)).GroupBy(l => l.GetProperty("run").GetString()!).Select(g =>
        {
            var accuracies = g.Select(l => l.GetProperty("test_accuracy").GetDouble()).ToArray();
            var (mean, std) = MeanStd(accuracies);
            bool ls = g.First().TryGetProperty("standardized", out var s) && s.GetBoolean();
            double? t = g.First().TryGetProperty("temperature", out var tt) ? tt.GetDouble() : null;
            double? a = g.First().TryGetProperty("alpha", out var aa) ? aa.GetDouble() : null;
            string policy = g.Key == "alone" ? "-" : g.First().GetProperty("policy").GetString()!;
            string name = g.Key == "alone" ? "PyTorch alone (with BatchNorm)" : $"PyTorch {(ls ? "standardized" : "Hinton")} T={t} α={a} {policy}";
            return new Row(name, t, a, policy, mean, std, accuracies.Length, accuracies, null,
                g.Sum(l => l.GetProperty("seconds").GetDouble()), [], g.Key == "alone" ? null : ls);
        }).ToList();
    }

    private static List<(double T, double Alpha)> Grid(string? spec, bool quick)
    {
        if (spec is "none") return [];
        if (string.IsNullOrWhiteSpace(spec))
            return quick ? [(4, 0.5)] : [.. from t in new double[] { 1, 2, 4, 8 } from a in new[] { 0.5, 0.7, 0.9 } select (t, a)];
        return spec.Split(',').Select(p => p.Split(':')).Select(p => (double.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture))).ToList();
    }

    private sealed record Row(string Run, double? Temperature, double? Alpha, string Policy, double Accuracy, double AccuracyStd, int Seeds, IReadOnlyList<double> PerSeed,
        double? MacroF1, double Seconds, IReadOnlyList<double> AlphaByEpoch, bool? StandardizedLogits);
}
