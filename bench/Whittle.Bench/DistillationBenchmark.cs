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
/// memory after every epoch of a 10-epoch distillation with hint layers (distillation doubles the forward work). PyTorch's numbers for the
/// same recipe come from <c>bench/reference/distill_reference.py</c>.
/// Environment: WHITTLE_DISTILL_EPOCHS (default 5), WHITTLE_DISTILL_GRID ("T:alpha,..." for the
/// fixed-α sweep; default all of T ∈ {1, 2, 4, 8} × α ∈ {0.5, 0.7, 0.9}; "none" for no sweep), WHITTLE_DISTILL_SEEDS
/// (default 3: seeds of the alone / default / hint-layer rows).
/// </summary>
internal sealed class DistillationBenchmark : IBenchmark
{
    public string Name => "distill";
    public string Description => "width-8 student of a BN-folded PyTorch CNN: train alone vs distill (adaptive, and a T x alpha sweep), RSS per epoch";

    public object Run(BenchContext context)
    {
        int epochs = int.TryParse(Environment.GetEnvironmentVariable("WHITTLE_DISTILL_EPOCHS"), out var e) ? e : context.Quick ? 1 : 5;
        var grid = Grid(Environment.GetEnvironmentVariable("WHITTLE_DISTILL_GRID"), context.Quick);
        set_num_threads(Math.Min(2, Environment.ProcessorCount));
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
        rows.Add(Summary("distill (defaults: adaptive)", adaptive.Temperature, ModelDistillationOptions.DefaultAlpha, "adaptive", adaptive.Training, watch, adaptive.AlphaByEpoch));
        watch.Restart();
        var hinted = ModelDistiller.Distill(student, teacher, data, new ModelDistillationOptions(multi, featureLayers: ModelDistillationOptions.AutoFeatureLayers));
        rows.Add(Summary("distill --feature-layers auto (adaptive)", hinted.Temperature, ModelDistillationOptions.DefaultAlpha, "adaptive", hinted.Training, watch, hinted.AlphaByEpoch));
        foreach (var (t, a) in grid)
        {
            watch.Restart();
            var r = ModelDistiller.Distill(student, teacher, data, new ModelDistillationOptions(training, t, a, AlphaPolicy.Fixed));
            rows.Add(Summary($"distill T={t} α={a}", t, a, "fixed", r.Training, watch, r.AlphaByEpoch));
        }

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
                + $"first three rows mean ± std over seeds 0..{seeds - 1}, the sweep seed 0; teacher test accuracy {adaptive.TeacherTestAccuracy:P2}")
            .AddColumns("run", "test accuracy", "Δ vs alone", "macro-F1", "α by epoch (seed 0)", "seconds");
        foreach (var row in rows)
            table.AddRow(Markup.Escape(row.Run), row.Seeds > 1 ? $"{row.Accuracy:P2} ± {row.AccuracyStd * 100:0.00}" : $"{row.Accuracy:P2}",
                $"{(row.Accuracy - rows[0].Accuracy) * 100:+0.00;-0.00} pt", $"{row.MacroF1:0.0000}",
                string.Join(" ", row.AlphaByEpoch.Select(x => x.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture))), $"{row.Seconds:0}");
        AnsiConsole.Write(table);
        foreach (var note in adaptive.Notes.Concat(hinted.Notes).Distinct()) AnsiConsole.MarkupLine($"[grey]{Markup.Escape(note)}[/]");
        double growth = rss.Count > 2 ? (rss[^1] - rss[1]) / (rss.Count - 2) : 0;
        AnsiConsole.MarkupLine($"RSS after each epoch of a {rss.Count}-epoch distillation with hint layers (MiB): {string.Join(", ", rss.Select(x => x.ToString("0")))}; "
            + $"growth after epoch 2: {growth:0.0} MiB/epoch");
        return new
        {
            epochs, seeds, teacherTestAccuracy = adaptive.TeacherTestAccuracy, teacherValidationAccuracy = adaptive.TeacherValidationAccuracy,
            rows, notes = adaptive.Notes.Concat(hinted.Notes).Distinct().ToList(), rssMiBPerEpoch = rss, rssGrowthMiBPerEpochAfterEpoch2 = growth,
        };
    }

    private static Row Summary(string run, double? t, double? alpha, string policy, ModelTrainingResult result, Stopwatch watch, IReadOnlyList<double> alphas)
    {
        var accuracies = result.Runs.Select(r => r.TestAccuracy!.Value).ToArray();
        double mean = accuracies.Average();
        double std = accuracies.Length > 1 ? Math.Sqrt(accuracies.Sum(a => (a - mean) * (a - mean)) / (accuracies.Length - 1)) : 0;
        return new Row(run, t, alpha, policy, mean, std, accuracies.Length, accuracies, result.Runs.Average(r => r.TestMacroF1!.Value), watch.Elapsed.TotalSeconds, alphas);
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
        double MacroF1, double Seconds, IReadOnlyList<double> AlphaByEpoch);
}
