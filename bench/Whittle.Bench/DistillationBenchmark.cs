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
/// (adaptive α) and a sweep over T and α with α fixed; the process's resident memory after every
/// epoch of the default run (distillation doubles the forward work). PyTorch's numbers for the
/// same recipe come from <c>bench/reference/distill_reference.py</c>.
/// Environment: WHITTLE_DISTILL_EPOCHS (default 5), WHITTLE_DISTILL_GRID ("T:alpha,..." for the
/// fixed-α sweep; default all of T ∈ {1, 2, 4, 8} × α ∈ {0.5, 0.7, 0.9}; "none" for no sweep).
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

        var rows = new List<Row>();
        var watch = Stopwatch.StartNew();
        var alone = ModelTrainer.Train(student, data, training);
        rows.Add(new Row("alone (train)", null, null, "-", alone.Runs[0].TestAccuracy!.Value, alone.Runs[0].TestMacroF1!.Value, watch.Elapsed.TotalSeconds, []));

        var rss = new List<double>();
        watch.Restart();
        var progress = new InlineProgress<JobProgress>(p =>
        {
            if (p.Finished && p.Stage.StartsWith("training epoch", StringComparison.Ordinal)) rss.Add(Process.GetCurrentProcess().WorkingSet64 / 1048576.0);
        });
        var adaptive = ModelDistiller.Distill(student, teacher, data, new ModelDistillationOptions(training), progress);
        rows.Add(new Row("distill (defaults: adaptive)", adaptive.Temperature, ModelDistillationOptions.DefaultAlpha, "adaptive", adaptive.Training.Runs[0].TestAccuracy!.Value,
            adaptive.Training.Runs[0].TestMacroF1!.Value, watch.Elapsed.TotalSeconds, adaptive.AlphaByEpoch));
        foreach (var (t, a) in grid)
        {
            watch.Restart();
            var r = ModelDistiller.Distill(student, teacher, data, new ModelDistillationOptions(training, t, a, AlphaPolicy.Fixed));
            rows.Add(new Row($"distill T={t} α={a}", t, a, "fixed", r.Training.Runs[0].TestAccuracy!.Value, r.Training.Runs[0].TestMacroF1!.Value, watch.Elapsed.TotalSeconds, r.AlphaByEpoch));
        }

        var table = new Table().Title($"Width-8 student (6,218 parameters) of the BN-folded PyTorch 3-conv CNN, {epochs} epochs, AdamW 2e-3 cosine, batch 128, seed 0; teacher test accuracy {adaptive.TeacherTestAccuracy:P2}")
            .AddColumns("run", "test accuracy", "Δ vs alone", "macro-F1", "α by epoch", "seconds");
        foreach (var row in rows)
            table.AddRow(Markup.Escape(row.Run), $"{row.Accuracy:P2}", $"{(row.Accuracy - rows[0].Accuracy) * 100:+0.00;-0.00} pt", $"{row.MacroF1:0.0000}",
                string.Join(" ", row.AlphaByEpoch.Select(x => x.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture))), $"{row.Seconds:0}");
        AnsiConsole.Write(table);
        foreach (var note in adaptive.Notes) AnsiConsole.MarkupLine($"[grey]{Markup.Escape(note)}[/]");
        AnsiConsole.MarkupLine($"RSS after each epoch of the default distillation (MiB): {string.Join(", ", rss.Select(x => x.ToString("0")))}");
        return new
        {
            epochs, teacherTestAccuracy = adaptive.TeacherTestAccuracy, teacherValidationAccuracy = adaptive.TeacherValidationAccuracy,
            rows, notes = adaptive.Notes, rssMiBPerEpoch = rss,
        };
    }

    private static List<(double T, double Alpha)> Grid(string? spec, bool quick)
    {
        if (spec is "none") return [];
        if (string.IsNullOrWhiteSpace(spec))
            return quick ? [(4, 0.5)] : [.. from t in new double[] { 1, 2, 4, 8 } from a in new[] { 0.5, 0.7, 0.9 } select (t, a)];
        return spec.Split(',').Select(p => p.Split(':')).Select(p => (double.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture))).ToList();
    }

    private sealed record Row(string Run, double? Temperature, double? Alpha, string Policy, double Accuracy, double MacroF1, double Seconds, IReadOnlyList<double> AlphaByEpoch);
}
