using System.Globalization;
using ScottPlot;
using Whittle.Optimization;
using Whittle.Quantization;
using Whittle.Training;

namespace Whittle.Reporting;

/// <summary>The x axis of a trade-off plot: what a trial's validation accuracy is traded for.</summary>
internal enum TradeoffAxis
{
    Latency,
    Size,
}

/// <summary>
/// The report's figures, drawn with ScottPlot into PNGs: the accuracy trade-offs of every trial, the
/// winner's training curves and its per-layer quantization error. Each returns a note instead of an
/// image when the data is not there, and a figure that fails to draw (a missing native Skia library)
/// becomes a note too, so the report is always written.
/// </summary>
internal static class SearchPlots
{
    /// <summary>Figure size in CSS pixels.</summary>
    public const int Width = 1040, Height = 540;

    /// <summary>Pixels per CSS pixel: sharp text on high-density screens at a few tens of KiB per figure.</summary>
    private const float Density = 1.5f;

    private static readonly Color Within = Color.FromHex("#1f77b4");
    private static readonly Color Over = Color.FromHex("#ff7f0e");
    private static readonly Color StoppedColor = Color.FromHex("#9e9e9e");
    private static readonly Color Front = Color.FromHex("#d62728");
    private static readonly Color WinnerColor = Color.FromHex("#2ca02c");
    private static readonly Color InputColor = Color.FromHex("#222222");
    private static readonly Color BudgetColor = Color.FromHex("#7b1fa2");

    /// <summary>Validation accuracy against latency (× input) or size (KiB), every measured trial a point.</summary>
    public static ReportFigure Tradeoff(SearchResult result, TradeoffAxis axis)
    {
        var log = result.Log;
        bool latency = axis == TradeoffAxis.Latency;
        string title = latency ? "Validation accuracy vs latency (relative to the input)" : "Validation accuracy vs size";
        double? X(TrialRecord t) => latency ? t.LatencyRatio : t.Bytes / 1024.0;
        var points = log.Trials.Where(t => t.ValidationAccuracy is not null && X(t) is not null && (t.Status == "done" || !latency)).ToList();
        var notes = new List<string>();
        int untimed = log.Trials.Count(t => t.Status == "stopped");
        int failed = log.Trials.Count(t => t.Status == "failed");
        if (latency && untimed > 0) notes.Add($"{Count(untimed, "stopped trial")} {(untimed == 1 ? "was" : "were")} not timed (a trial is timed after its last step) and {(untimed == 1 ? "appears" : "appear")} only in the size plot.");
        if (!latency && untimed > 0) notes.Add($"Stopped trials (grey) are shown at the size and validation accuracy of the step that stopped them.");
        if (failed > 0) notes.Add($"{Count(failed, "failed trial")} measured nothing and {(failed == 1 ? "is" : "are")} in the table only.");
        if (points.Count == 0)
            return ReportFigure.Missing(title, string.Join(" ", ["No trial finished with a measurement to plot.", .. notes]));

        // The logged Pareto flags are the search's (its objective, written as pareto-NNN.onnx); the other
        // pair's front is computed here with the same dominance rule.
        bool logged = string.Equals(log.Objective, latency ? "latency" : "size", StringComparison.Ordinal);
        var done = points.Where(t => t.Status == "done").ToList();
        var onFront = logged ? done.Where(t => t.Pareto).ToList()
            : done.Where((_, i) => ParetoFront(done.Select(t => (X(t)!.Value, t.ValidationAccuracy!.Value)).ToList())[i]).ToList();
        double? threshold = BudgetThreshold(log);
        double inputX = latency ? 1.0 : result.InputBytes / 1024.0;

        var png = Draw(title, Width, Height, plot =>
        {
            plot.XLabel(latency ? "latency / input latency (× input, lower is faster)" : "serialized size (KiB)");
            plot.YLabel("validation accuracy (%)");
            void Points(IEnumerable<TrialRecord> trials, string legend, Color color, MarkerShape shape, float size)
            {
                var list = trials.ToList();
                if (list.Count == 0) return;
                var m = plot.Add.Markers(list.Select(t => X(t)!.Value).ToArray(), list.Select(t => t.ValidationAccuracy!.Value * 100).ToArray(), shape, size, color);
                m.LegendText = legend;
            }
            if (onFront.Count > 0)
            {
                var sorted = onFront.OrderBy(t => X(t)).ToList();
                var line = plot.Add.ScatterLine(sorted.Select(t => X(t)!.Value).ToArray(), sorted.Select(t => t.ValidationAccuracy!.Value * 100).ToArray(), Front);
                line.LineWidth = 2;
                line.LegendText = logged ? "Pareto front (pareto-NNN.onnx)" : "Pareto front of this pair";
                Points(sorted, "", Front, MarkerShape.OpenCircle, 16);
            }
            Points(points.Where(t => t.Status == "done" && t.MeetsBudget), "within the budget", Within, MarkerShape.FilledCircle, 9);
            Points(points.Where(t => t.Status == "done" && !t.MeetsBudget), "outside the budget", Over, MarkerShape.FilledCircle, 9);
            Points(points.Where(t => t.Status != "done"), "stopped early", StoppedColor, MarkerShape.OpenCircle, 9);
            var input = plot.Add.Marker(inputX, log.InputValidationAccuracy * 100, MarkerShape.FilledDiamond, 14, InputColor);
            input.LegendText = "input model";
            var vertical = plot.Add.VerticalLine(inputX, 1, InputColor, LinePattern.Dotted);
            vertical.LegendText = "";
            if (threshold is { } y)
            {
                var budget = plot.Add.HorizontalLine(y * 100, 1.5f, BudgetColor, LinePattern.Dashed);
                budget.LegendText = $"budget: validation ≥ {Percent(y)}";
            }
            if (result.Best is { } w && X(w) is { } wx)
            {
                var winner = plot.Add.Marker(wx, w.ValidationAccuracy!.Value * 100, MarkerShape.FilledDiamond, 18, WinnerColor);
                winner.LegendText = $"winner (trial {w.Trial + 1})";
            }
            foreach (var t in points)
            {
                var label = plot.Add.Text($"{t.Trial + 1}", X(t)!.Value, t.ValidationAccuracy!.Value * 100);
                label.LabelFontSize = 11;
                label.LabelFontColor = Color.FromHex("#444444");
                label.LabelOffsetX = 7;
                label.LabelOffsetY = -16;
            }
            // The budget line and the input's accuracy stay in view even when every trial is far below.
            var ys = points.Select(t => t.ValidationAccuracy!.Value * 100).Append(log.InputValidationAccuracy * 100);
            if (threshold is { } th) ys = ys.Append(th * 100);
            var xs = points.Select(t => X(t)!.Value).Append(inputX).ToList();
            var yl = ys.ToList();
            double padX = Math.Max((xs.Max() - xs.Min()) * 0.08, latency ? 0.05 : 2), padY = Math.Max((yl.Max() - yl.Min()) * 0.08, 0.5);
            plot.Axes.SetLimits(Math.Max(0, xs.Min() - padX), xs.Max() + padX, yl.Min() - padY, yl.Max() + padY);
            // Beside the data, never over a point.
            plot.ShowLegend(Edge.Right);
        });
        string alt = $"{title}: {Count(points.Count, "trial")} plotted, {onFront.Count} on the Pareto front" +
            (result.Best is { } b ? $", winner trial {b.Trial + 1}" : ", no winner") + (threshold is { } tr ? $", budget line at {Percent(tr)}" : "") + ".";
        return png.Figure(title, alt, notes);
    }

    /// <summary>
    /// Test accuracy against latency (ms) or size (KiB) of several models' searches in one chart, x on a
    /// log scale (models differ by orders of magnitude): per model, in its colour, every finished trial a
    /// small dot, its input an open diamond and its winner a filled one, joined by a dashed line.
    /// </summary>
    public static ReportFigure Comparison(MultiModelSearchResult result, TradeoffAxis axis)
    {
        bool latency = axis == TradeoffAxis.Latency;
        string title = latency ? "Test accuracy vs latency, every model" : "Test accuracy vs size, every model";
        var palette = new ScottPlot.Palettes.Category10();
        double? InputX(ModelOutcome m) => latency ? m.InputLatencyMs : m.InputBytes / 1024.0;
        double? X(TrialRecord t) => latency ? t.LatencyMs : t.Bytes / 1024.0;
        var drawn = result.Models.Where(m => InputX(m) is > 0).ToList();
        var notes = new List<string>();
        var missing = result.Models.Where(m => InputX(m) is not > 0).Select(m => m.Name).ToList();
        if (missing.Count > 0) notes.Add($"Not drawn: {string.Join(", ", missing)} (no trial finished, so the input was not timed).");
        if (drawn.Count == 0) return ReportFigure.Missing(title, string.Join(" ", ["No model has a finished trial to plot.", .. notes]));
        var xs = new List<double>();
        var png = Draw(title, Width, Height, plot =>
        {
            plot.XLabel(latency ? "median latency at the latency batch (ms, log scale)" : "serialized size (KiB, log scale)");
            plot.YLabel("test accuracy (%)");
            var ys = new List<double>();
            for (int k = 0; k < drawn.Count; k++)
            {
                var m = drawn[k];
                var color = palette.GetColor(k);
                var trials = m.Result.Log.Trials.Where(t => t.Status == "done" && t.TestAccuracy is not null && X(t) is > 0).ToList();
                if (trials.Count > 0)
                {
                    var dots = plot.Add.Markers(trials.Select(t => Math.Log10(X(t)!.Value)).ToArray(), trials.Select(t => t.TestAccuracy!.Value * 100).ToArray(),
                        MarkerShape.FilledCircle, 6, color.WithAlpha(0.45));
                    dots.LegendText = $"{m.Name}: trials";
                    xs.AddRange(trials.Select(t => X(t)!.Value));
                    ys.AddRange(trials.Select(t => t.TestAccuracy!.Value * 100));
                }
                double ix = InputX(m)!.Value, iy = m.InputTestAccuracy * 100;
                var input = plot.Add.Marker(Math.Log10(ix), iy, MarkerShape.OpenDiamond, 15, color);
                input.LegendText = $"{m.Name}: input";
                xs.Add(ix);
                ys.Add(iy);
                double? wx = latency ? m.BestLatencyMs : m.BestBytes / 1024.0;
                if (m.BestTrial is { } bt && wx is > 0 && m.BestTestAccuracy is { } wa)
                {
                    var line = plot.Add.ScatterLine(new[] { Math.Log10(ix), Math.Log10(wx.Value) }, new[] { iy, wa * 100 }, color);
                    line.LinePattern = LinePattern.Dashed;
                    line.LineWidth = 1.5f;
                    line.LegendText = "";
                    var winner = plot.Add.Marker(Math.Log10(wx.Value), wa * 100, MarkerShape.FilledDiamond, 17, color);
                    winner.LegendText = $"{m.Name}: winner (trial {bt})";
                    xs.Add(wx.Value);
                    ys.Add(wa * 100);
                }
            }
            double lo = Math.Log10(xs.Min()), hi = Math.Log10(xs.Max());
            double pad = Math.Max((hi - lo) * 0.06, 0.05);
            var (ticks, labels) = LogTicks(lo - pad, hi + pad);
            plot.Axes.Bottom.SetTicks(ticks, labels);
            double padY = Math.Max((ys.Max() - ys.Min()) * 0.08, 0.5);
            plot.Axes.SetLimits(lo - pad, hi + pad, ys.Min() - padY, ys.Max() + padY);
            plot.ShowLegend(Edge.Right);
        });
        notes.Add("Each model's input is timed in its own trials (interleaved with the trial's model); stopped and failed trials measured no latency and are not drawn.");
        string alt = $"{title}: {drawn.Count} models; " + string.Join("; ", drawn.Select(m => m.BestTrial is null ? $"{m.Name} no winner"
            : latency ? $"{m.Name} {m.Speedup:0.00}× faster" : $"{m.Name} {m.SizeReduction:0.0}× smaller")) + ".";
        return png.Figure(title, alt, notes);
    }

    /// <summary>Ticks of a log10 axis between two exponents: 1, 2 and 5 times powers of ten, labelled in the axis's units.</summary>
    internal static (double[] Positions, string[] Labels) LogTicks(double lo, double hi)
    {
        var positions = new List<double>();
        for (int e = (int)Math.Floor(lo); e <= (int)Math.Ceiling(hi); e++)
            foreach (var f in new[] { 1.0, 2.0, 5.0 })
            {
                double v = Math.Log10(f) + e;
                if (v >= lo && v <= hi) positions.Add(v);
            }
        if (positions.Count < 2) positions = [lo, (lo + hi) / 2, hi];
        return (positions.ToArray(), positions.Select(p => Math.Pow(10, p).ToString(Math.Pow(10, p) < 1 ? "0.###" : "0.#", CultureInfo.InvariantCulture)).ToArray());
    }

    /// <summary>One figure per training step of the winner: loss and validation accuracy per epoch.</summary>
    public static IReadOnlyList<ReportFigure> TrainingCurves(TrialRecord? winner)
    {
        // Notes about the whole section carry no heading of their own (the section has it).
        const string title = "";
        if (winner is null) return [ReportFigure.Missing(title, "No winner: no training curves.")];
        var figures = new List<ReportFigure>();
        var quiet = new List<string>();
        for (int i = 0; i < winner.Steps.Count && i < winner.Recipe.Steps.Count; i++)
        {
            var step = winner.Recipe.Steps[i];
            var record = winner.Steps[i];
            string name = $"Step {i + 1}: {record.Step}";
            if (!Trains(step))
            {
                quiet.Add($"step {i + 1} ({record.Step}) does not train");
                continue;
            }
            if (record.History is not { Count: > 0 } history)
            {
                figures.Add(ReportFigure.Missing(name, "Per-epoch history not recorded for this trial (its trials.json entry was written before Whittle kept it)."));
                continue;
            }
            figures.Add(Curves(name, history));
        }
        if (figures.Count == 0)
            return [ReportFigure.Missing(title, $"No training curves: {string.Join("; ", quiet)}.")];
        return figures;
    }

    /// <summary>Whether a step trains (and so has a per-epoch history).</summary>
    internal static bool Trains(RecipeStep step) => step is FineTuneStep or PruneStep { FineTuneEpochs: > 0 } or QuantizeStep { Mode: "qat" };

    private static ReportFigure Curves(string name, IReadOnlyList<EpochRecord> history)
    {
        // A scheduled pruning step fine-tunes after each of its stages, each trainer counting from epoch 1:
        // the curve runs over the step's epochs in order.
        bool restarts = history.Zip(history.Skip(1)).Any(p => p.Second.Epoch <= p.First.Epoch);
        double[] epochs = history.Select((e, i) => restarts ? i + 1.0 : e.Epoch).ToArray();
        var png = Draw(name, Width, 380, plot =>
        {
            plot.XLabel(restarts ? "fine-tuning epoch of the step, in order (over its pruning stages)" : "epoch");
            plot.YLabel("loss per sample");
            var train = plot.Add.Scatter(epochs, history.Select(e => e.TrainingLoss).ToArray(), Within);
            train.LegendText = "training loss";
            train.LineWidth = 2;
            train.MarkerSize = 8;
            if (history.All(e => e.ValidationLoss is not null))
            {
                var val = plot.Add.Scatter(epochs, history.Select(e => e.ValidationLoss!.Value).ToArray(), Over);
                val.LegendText = "validation loss";
                val.LineWidth = 2;
                val.MarkerSize = 8;
                val.LinePattern = LinePattern.Dashed;
            }
            if (history.All(e => e.ValidationAccuracy is not null))
            {
                var right = plot.Axes.Right;
                right.Label.Text = "validation accuracy (%)";
                var acc = plot.Add.Scatter(epochs, history.Select(e => e.ValidationAccuracy!.Value * 100).ToArray(), WinnerColor);
                acc.LegendText = "validation accuracy (right axis)";
                acc.LineWidth = 2;
                acc.MarkerSize = 8;
                acc.MarkerShape = MarkerShape.FilledSquare;
                acc.Axes.YAxis = right;
            }
            plot.Axes.Bottom.SetTicks(epochs, epochs.Select(e => e.ToString("0", CultureInfo.InvariantCulture)).ToArray());
            plot.Axes.Margins(0.08, 0.15);
            plot.ShowLegend(Edge.Right);
        });
        var last = history[^1];
        string alt = $"{name}: {history.Count} epoch(s), training loss {history[0].TrainingLoss:G3} to {last.TrainingLoss:G3}" +
            (last.ValidationAccuracy is { } a ? $", validation accuracy after the last epoch {Percent(a)}" : "") + ".";
        var notes = new List<string>();
        if (history.Count == 1) notes.Add("One epoch: one point per curve.");
        if (restarts) notes.Add($"The step's schedule prunes in stages and fine-tunes after each ({history.Count} epochs in all); the curve runs through them in order.");
        if (history.Any(e => !double.IsFinite(e.TrainingLoss))) notes.Add("A training loss was not finite (the run diverged).");
        return png.Figure(name, alt, notes);
    }

    /// <summary>The winner's per quantized activation SQNR (worst first), from its quantize step.</summary>
    public static ReportFigure Sqnr(TrialRecord? winner)
    {
        const string title = "Per-layer quantization error (SQNR) of the winner";
        if (winner is null) return ReportFigure.Missing("", "No winner: no per-layer quantization error.");
        int index = -1;
        for (int i = 0; i < winner.Recipe.Steps.Count && i < winner.Steps.Count; i++)
            if (winner.Recipe.Steps[i] is QuantizeStep) index = i;
        if (index < 0) return ReportFigure.Missing("", "The winner is not quantized.");
        var record = winner.Steps[index];
        if (record.Layers is null) return ReportFigure.Missing("", "Per-layer quantization error not recorded for this trial (its trials.json entry was written before Whittle kept it).");
        var finite = record.Layers.Where(l => double.IsFinite(l.SqnrDb)).ToList();
        int exact = record.Layers.Count - finite.Count;
        if (finite.Count == 0)
            return ReportFigure.Missing("", record.Layers.Count == 0
                ? winner.Recipe.Steps[index] is QuantizeStep { Mode: "qat" }
                    ? $"Not recorded for this trial: the quantize step ({record.Step}) is quantization-aware training, whose verification compares the model's outputs only, not each activation."
                    : $"The quantize step ({record.Step}) measured no per-layer activation error."
                : $"Every one of the {record.Layers.Count} quantized activations matches the float model exactly (SQNR ∞).");
        const int MaxBars = 40;
        var shown = finite.OrderBy(l => l.SqnrDb).Take(MaxBars).ToList();
        int height = Math.Max(260, 90 + 24 * shown.Count);
        var png = Draw($"{title} ({record.Step})", Width, height, plot =>
        {
            // Worst at the top: bar positions count down.
            var bars = shown.Select((l, i) => new Bar
            {
                Position = shown.Count - 1 - i,
                Value = l.SqnrDb,
                FillColor = l.SqnrDb < 20 ? Front : l.SqnrDb < 30 ? Over : Within,
                LineWidth = 0,
                Label = l.SqnrDb.ToString("0.0", CultureInfo.InvariantCulture),
            }).ToArray();
            var plottable = plot.Add.Bars(bars);
            plottable.Horizontal = true;
            plottable.ValueLabelStyle.FontSize = 11;
            plot.Axes.Left.SetTicks(shown.Select((_, i) => (double)(shown.Count - 1 - i)).ToArray(), shown.Select(l => Shorten($"{l.OpType} {l.Tensor}", 46)).ToArray());
            plot.Axes.Left.TickLabelStyle.FontSize = 11;
            plot.XLabel("SQNR (dB, higher is closer to the float model)");
            plot.Axes.SetLimitsX(0, shown.Max(l => l.SqnrDb) * 1.12);
            plot.Axes.SetLimitsY(-0.7, shown.Count - 0.3);
        });
        var notes = new List<string> { "Colour: red below 20 dB, orange below 30 dB, blue otherwise (the activation's error relative to its signal)." };
        if (exact > 0) notes.Add($"{Count(exact, "activation")} {(exact == 1 ? "matches" : "match")} the float model exactly (SQNR ∞) and {(exact == 1 ? "is" : "are")} not drawn.");
        if (finite.Count > MaxBars) notes.Add($"The {MaxBars} worst of {finite.Count} are drawn; the table below lists all.");
        string alt = $"{title}: {shown.Count} activations, worst {shown[0].Tensor} at {shown[0].SqnrDb:0.0} dB, best {shown[^1].Tensor} at {shown[^1].SqnrDb:0.0} dB.";
        return png.Figure($"{title} ({record.Step})", alt, notes);
    }

    /// <summary>
    /// The search's sensitivity scan: validation accuracy against the fraction of one channel group's
    /// channels removed (L1, no fine-tuning), one line per group, the most sensitive first; the input's
    /// accuracy at 0 and the budget line for scale.
    /// </summary>
    public static ReportFigure Sensitivity(TrialLog log)
    {
        const string title = "Per-layer sensitivity: validation accuracy with one channel group pruned alone";
        if (log.Sensitivity is not { Layers.Count: > 0 } scan)
            return ReportFigure.Missing("", log.Objective == "recipe"
                ? "Not measured: a recipe run does not scan; whittle sensitivity MODEL --method channel does."
                : "Not measured by this search (its candidates were given, or the model has no channel group to prune); whittle sensitivity MODEL measures it.");
        const int MaxLines = 10;
        var shown = scan.Layers.Take(MaxLines).ToList();
        Color[] palette = [.. new[] { "#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#1f77b4", "#2ca02c", "#17becf", "#bcbd22", "#7f7f7f" }.Select(Color.FromHex)];
        double? threshold = BudgetThreshold(log);
        var png = Draw(title, Width, Height, plot =>
        {
            plot.XLabel("fraction of the group's channels removed (no fine-tuning)");
            plot.YLabel("validation accuracy (%)");
            for (int i = 0; i < shown.Count; i++)
            {
                var l = shown[i];
                var xs = l.Points.Select(p => p.Sparsity).Prepend(0).ToArray();
                var ys = l.Points.Select(p => p.Accuracy * 100).Prepend(scan.BaselineAccuracy * 100).ToArray();
                var line = plot.Add.Scatter(xs, ys, palette[i % palette.Length]);
                line.LineWidth = 2;
                line.MarkerSize = 7;
                // A group is "A (Conv) output channels + B (Conv) output channels": its first layer names it, the rest are counted.
                var members = l.Layer.Split(" + ");
                string name = members[0].Replace(" output channels", "", StringComparison.Ordinal).Replace(" output features", "", StringComparison.Ordinal);
                line.LegendText = $"{Shorten(name, 34)}{(members.Length > 1 ? $" +{members.Length - 1}" : "")} ({l.Parameters} ch.)";
            }
            if (threshold is { } y)
            {
                var budget = plot.Add.HorizontalLine(y * 100, 1.5f, BudgetColor, LinePattern.Dashed);
                budget.LegendText = $"budget: validation ≥ {Percent(y)}";
            }
            plot.Axes.SetLimitsX(-0.02, shown.SelectMany(l => l.Points).Max(p => p.Sparsity) + 0.05);
            plot.ShowLegend(Edge.Right);
        });
        var notes = new List<string>
        {
            $"Each group pruned alone by L1 norm on {scan.Samples:N0} validation samples, before any trial trained; recovery fine-tuning wins much of a drop back, so this ranks layers, it does not predict a trial's accuracy.",
        };
        if (scan.Layers.Count > MaxLines) notes.Add($"The {MaxLines} most sensitive of {scan.Layers.Count} groups are drawn; the table lists all.");
        var worst = shown[0];
        string alt = $"{title}: {Count(scan.Layers.Count, "group")}; most sensitive {worst.Layer} (worst drop {worst.WorstDrop * 100:0.0} points), least {scan.Layers[^1].Layer} ({scan.Layers[^1].WorstDrop * 100:0.0} points).";
        return png.Figure(title, alt, notes);
    }

    /// <summary>
    /// Non-dominated points of (cost, accuracy): no other point is at least as accurate and at most as
    /// costly with one of the two strictly better (the rule <see cref="RecipeSearch"/> marks Pareto trials by).
    /// </summary>
    internal static bool[] ParetoFront(IReadOnlyList<(double Cost, double Accuracy)> points)
    {
        var front = new bool[points.Count];
        for (int i = 0; i < points.Count; i++)
        {
            var p = points[i];
            front[i] = !points.Where((_, j) => j != i).Any(o => o.Accuracy >= p.Accuracy && o.Cost <= p.Cost && (o.Accuracy > p.Accuracy || o.Cost < p.Cost));
        }
        return front;
    }

    /// <summary>The lowest validation accuracy within the log's budget, or null when it has none (a recipe run).</summary>
    internal static double? BudgetThreshold(TrialLog log)
    {
        if (!double.IsFinite(log.MaxAccuracyDrop)) return null;
        return log.Relative ? log.InputValidationAccuracy * (1 - log.MaxAccuracyDrop / 100) : log.InputValidationAccuracy - log.MaxAccuracyDrop / 100;
    }

    /// <summary>A drawn PNG, or the reason it could not be drawn.</summary>
    private readonly record struct Drawn(byte[]? Png, int Width, int Height, string? Error)
    {
        public ReportFigure Figure(string title, string alt, IReadOnlyList<string> notes)
        {
            var all = Error is null ? notes : [$"The figure could not be drawn here: {Error}", .. notes];
            return new ReportFigure(title, Png, Width, Height, alt, all.Count == 0 ? null : string.Join(" ", all));
        }
    }

    private static Drawn Draw(string title, int width, int height, Action<Plot> build)
    {
        try
        {
            using var plot = new Plot();
            plot.ScaleFactor = Density;
            plot.Font.Set(SansFont.Value);
            plot.Title(title, 15);
            build(plot);
            return new Drawn(plot.GetImageBytes((int)(width * Density), (int)(height * Density), ImageFormat.Png), width, height, null);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException or InvalidOperationException or ArgumentException)
        {
            // A missing or mismatched native Skia library surfaces as one of these: the report is written without the image.
            return new Drawn(null, width, height, $"{e.GetType().Name}: {e.Message}");
        }
    }

    // ScottPlot's Fonts.Sans resolves to a serif face on some Linux installs; take a known sans family when there is one.
    private static readonly Lazy<string> SansFont = new(() =>
    {
        var installed = SkiaSharp.SKFontManager.Default.FontFamilies.ToHashSet(StringComparer.OrdinalIgnoreCase);
        return new[] { "DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica", "Segoe UI" }.FirstOrDefault(installed.Contains) ?? Fonts.Sans;
    });

    private static string Shorten(string text, int max) => text.Length <= max ? text : "…" + text[^(max - 1)..];

    internal static string Percent(double fraction) => (fraction * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%";

    private static string Count(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";
}
