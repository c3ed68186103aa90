using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Whittle.Onnx;
using Whittle.Optimization;

namespace Whittle.Reporting;

/// <summary>
/// The report of a search (<c>report.html</c>): one self-contained HTML file, its figures PNGs drawn
/// with ScottPlot and embedded as <c>data:</c> URIs, no script and nothing fetched. It shows validation
/// accuracy against latency and against size for every trial (Pareto front, input, budget and winner
/// marked), the winner's training curves and per-layer quantization error, the table of every trial,
/// and the machine and versions that measured them. It is drawn from the typed records of the search
/// (<see cref="SearchResult"/>), so a resumed search, whose trials come from <c>trials.json</c>, draws the same.
/// </summary>
public static class SearchReport
{
    /// <summary>The report's file name in a search's work directory.</summary>
    public const string FileName = "report.html";

    /// <summary>Renders the report and writes it atomically (temporary file, then rename) to <paramref name="path"/>.</summary>
    /// <param name="path">The HTML file to write; its directory must exist.</param>
    /// <param name="result">The search's result (a recipe run as one trial works too).</param>
    /// <param name="model">The input model's name as the report titles it (a file name), or null.</param>
    /// <param name="machine">The machine to describe; null for this one.</param>
    /// <exception cref="OnnxException">The file cannot be written.</exception>
    public static void Write(string path, SearchResult result, string? model = null, MachineInfo? machine = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.WriteAllText(path, Render(result, model, machine));
    }

    /// <summary>The report as HTML text.</summary>
    /// <param name="result">The search's result.</param>
    /// <param name="model">The input model's name, or null.</param>
    /// <param name="machine">The machine to describe; null for this one.</param>
    public static string Render(SearchResult result, string? model = null, MachineInfo? machine = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var watch = Stopwatch.StartNew();
        machine ??= MachineInfo.Current();
        var log = result.Log;
        var html = new StringBuilder(64 * 1024);
        string title = "Whittle optimize report" + (model is null ? "" : " — " + model);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>").Append(E(title)).Append("</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n");
        html.Append("<h1>").Append(E(title)).Append("</h1>\n");
        Summary(html, result);

        html.Append("<h2 id=\"tradeoffs\">Trade-offs</h2>\n<p class=\"lead\">Every trial is a point, numbered as in the table; the search selects on validation accuracy (the 10% of the training split every job holds out), never on the test accuracy it reports.</p>\n");
        Figure(html, SearchPlots.Tradeoff(result, TradeoffAxis.Latency));
        Figure(html, SearchPlots.Tradeoff(result, TradeoffAxis.Size));

        html.Append("<h2 id=\"training\">Training curves of the winner</h2>\n");
        foreach (var f in SearchPlots.TrainingCurves(result.Best)) Figure(html, f);

        html.Append("<h2 id=\"sqnr\">Per-layer quantization error of the winner</h2>\n");
        Figure(html, SearchPlots.Sqnr(result.Best));
        SqnrTable(html, result.Best);

        html.Append("<h2 id=\"sensitivity\">Per-layer sensitivity</h2>\n");
        Figure(html, SearchPlots.Sensitivity(log));
        SensitivityTable(html, log.Sensitivity);

        html.Append("<h2 id=\"trials\">Trials</h2>\n");
        TrialTable(html, result);

        html.Append("<h2 id=\"machine\">Machine and versions</h2>\n");
        Machine(html, machine);
        html.Append("<p class=\"footer\">Written by Whittle ").Append(E(machine.Whittle)).Append(" at ")
            .Append(DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture))
            .Append("; figures drawn with ScottPlot in ").Append(Seconds(watch.Elapsed.TotalSeconds)).Append(".</p>\n");
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static void Summary(StringBuilder html, SearchResult r)
    {
        var log = r.Log;
        var rows = new List<(string, string)>();
        bool recipe = log.Objective == "recipe";
        rows.Add(("Objective", recipe ? "one recipe, run exactly (--recipe)" : log.Objective == "latency"
            ? "latency: median latency over the input's, timed interleaved" + (log.LatencyBatch is { } b ? $" at batch {b}" : "") + " on this machine"
            : "size: serialized bytes"));
        if (SearchPlots.BudgetThreshold(log) is { } threshold)
            rows.Add(("Accuracy budget", $"validation accuracy ≥ {SearchPlots.Percent(threshold)}: within {Num(log.MaxAccuracyDrop)}{(log.Relative ? "% (relative)" : " point(s)")} of the input's {SearchPlots.Percent(log.InputValidationAccuracy)}"));
        rows.Add(("Input model", $"validation {SearchPlots.Percent(log.InputValidationAccuracy)}, test {SearchPlots.Percent(log.InputTestAccuracy)}, {Bytes(r.InputBytes)}"));
        int done = log.Trials.Count(t => t.Status == "done"), stopped = log.Trials.Count(t => t.Status == "stopped"), failed = log.Trials.Count(t => t.Status == "failed");
        rows.Add(("Trials", $"{log.Trials.Count} ({done} finished, {stopped} stopped early, {failed} failed)" + (r.Resumed > 0 ? $"; {r.Resumed} taken from an earlier run's trials.json" : "")
            + $"; this run took {Seconds(r.Seconds)}" + (log.Limit is { } limit ? $"; training on the first {limit:N0} samples (--limit)" : "")));
        if (r.Best is { } w)
        {
            var speed = w.LatencyRatio is { } l ? (l < 1 ? $"{1 / l:0.00}× faster" : $"{l:0.00}× slower") + " than the input" : "latency not measured";
            rows.Add(("Winner", $"<strong>trial {w.Trial + 1}: {E(Describe(w.Recipe))}</strong>, {(double)r.InputBytes / w.Bytes!.Value:0.0}× smaller ({Bytes(w.Bytes.Value)}), {speed}, " +
                $"test accuracy {SearchPlots.Percent(log.InputTestAccuracy)} → {SearchPlots.Percent(w.TestAccuracy!.Value)} ({(w.TestAccuracy.Value - log.InputTestAccuracy) * 100:+0.00;-0.00} points)"));
        }
        else
        {
            rows.Add(("Winner", "<strong>none</strong>: no finished trial met the accuracy budget and improved on the input, so best.onnx was not written"));
        }
        html.Append("<table class=\"summary\">\n");
        foreach (var (k, v) in rows)
        {
            // The winner row carries markup built from encoded parts; every other value is plain text.
            html.Append("<tr><th>").Append(E(k)).Append("</th><td>").Append(k == "Winner" ? v : E(v)).Append("</td></tr>\n");
        }
        html.Append("</table>\n");
    }

    private static void SensitivityTable(StringBuilder html, Pruning.SensitivityReport? scan)
    {
        if (scan is not { Layers.Count: > 0 }) return;
        html.Append("<details><summary>Every channel group (").Append(scan.Layers.Count).Append("), most sensitive first</summary>\n<table>\n<tr><th>group</th><th>channels</th>");
        foreach (var p in scan.Layers[0].Points) html.Append("<th>").Append(Num(p.Sparsity * 100)).Append("% removed</th>");
        html.Append("<th>worst drop</th></tr>\n");
        foreach (var l in scan.Layers)
        {
            html.Append("<tr><td class=\"recipe\">").Append(E(l.Layer)).Append("</td><td>").Append(l.Parameters).Append("</td>");
            foreach (var p in l.Points) html.Append("<td>").Append(SearchPlots.Percent(p.Accuracy)).Append("</td>");
            html.Append("<td>").Append((l.WorstDrop * 100).ToString("0.00", CultureInfo.InvariantCulture)).Append(" pt</td></tr>\n");
        }
        html.Append("</table>\n<p class=\"note\">Baseline ").Append(SearchPlots.Percent(scan.BaselineAccuracy)).Append(" on ").Append(scan.Samples.ToString("N0", CultureInfo.InvariantCulture))
            .Append(" validation samples.</p>\n</details>\n");
    }

    internal static void Figure(StringBuilder html, ReportFigure f)
    {
        html.Append("<figure>\n");
        if (f.Png is { } png)
        {
            html.Append("<img src=\"data:image/png;base64,").Append(Convert.ToBase64String(png)).Append("\" width=\"").Append(f.Width).Append("\" height=\"").Append(f.Height)
                .Append("\" alt=\"").Append(E(f.Alt)).Append("\">\n");
            if (f.Note is { } n) html.Append("<figcaption>").Append(E(n)).Append("</figcaption>\n");
        }
        else
        {
            if (f.Title.Length > 0) html.Append("<h3>").Append(E(f.Title)).Append("</h3>\n");
            html.Append("<p class=\"note\">").Append(E(f.Note ?? "Nothing to draw.")).Append("</p>\n");
        }
        html.Append("</figure>\n");
    }

    private static void SqnrTable(StringBuilder html, TrialRecord? winner)
    {
        var layers = winner?.Recipe.Steps.Select((s, i) => (s, i)).Where(x => x.s is QuantizeStep && x.i < winner.Steps.Count).Select(x => winner.Steps[x.i].Layers).LastOrDefault();
        if (layers is not { Count: > 0 }) return;
        html.Append("<details><summary>Every quantized activation (").Append(layers.Count).Append(")</summary>\n<table class=\"data\">\n<thead><tr><th>tensor</th><th>producer</th><th>op</th><th>SQNR (dB)</th><th>max |error|</th></tr></thead>\n<tbody>\n");
        foreach (var l in layers)
            html.Append("<tr><td><code>").Append(E(l.Tensor)).Append("</code></td><td>").Append(E(l.Producer)).Append("</td><td>").Append(E(l.OpType)).Append("</td><td class=\"n\">")
                .Append(double.IsPositiveInfinity(l.SqnrDb) ? "∞" : l.SqnrDb.ToString("0.0", CultureInfo.InvariantCulture)).Append("</td><td class=\"n\">")
                .Append(l.MaxAbsError.ToString("G4", CultureInfo.InvariantCulture)).Append("</td></tr>\n");
        html.Append("</tbody>\n</table>\n</details>\n");
    }

    private static void TrialTable(StringBuilder html, SearchResult r)
    {
        var log = r.Log;
        html.Append("<table class=\"data trials\">\n<thead><tr><th>#</th><th>recipe</th><th>status</th><th>validation acc.</th><th>test acc.</th><th>test macro-F1</th>")
            .Append("<th>latency (× input)</th><th>latency (ms)</th><th>size</th><th>time</th><th>flags</th><th>failure / stop reason</th></tr></thead>\n<tbody>\n");
        html.Append("<tr class=\"input\"><td>–</td><td>input model</td><td></td><td class=\"n\">").Append(SearchPlots.Percent(log.InputValidationAccuracy))
            .Append("</td><td class=\"n\">").Append(SearchPlots.Percent(log.InputTestAccuracy)).Append("</td><td class=\"n\">–</td><td class=\"n\">1.00×</td><td class=\"n\">–</td><td class=\"n\">")
            .Append(Bytes(r.InputBytes)).Append("</td><td></td><td></td><td></td></tr>\n");
        foreach (var t in log.Trials)
        {
            bool winner = r.Best is { } b && b.Trial == t.Trial;
            var flags = new List<string>();
            if (winner) flags.Add("<span class=\"flag winner\">winner</span>");
            if (t.Pareto) flags.Add("<span class=\"flag pareto\">Pareto</span>");
            if (t.Status == "done") flags.Add(t.MeetsBudget ? "<span class=\"flag ok\">within budget</span>" : "<span class=\"flag over\">outside budget</span>");
            html.Append("<tr class=\"").Append(winner ? "winner " : "").Append(E(t.Status)).Append("\" id=\"trial-").Append(t.Trial + 1).Append("\"><td>").Append(t.Trial + 1)
                .Append("</td><td class=\"recipe\">").Append(E(Describe(t.Recipe))).Append("</td><td>").Append(E(t.Status)).Append("</td><td class=\"n\">")
                .Append(Opt(t.ValidationAccuracy, SearchPlots.Percent)).Append("</td><td class=\"n\">").Append(Opt(t.TestAccuracy, SearchPlots.Percent)).Append("</td><td class=\"n\">")
                .Append(Opt(t.TestMacroF1, v => v.ToString("0.0000", CultureInfo.InvariantCulture))).Append("</td><td class=\"n\">")
                .Append(Opt(t.LatencyRatio, v => v.ToString("0.00", CultureInfo.InvariantCulture) + "×")).Append("</td><td class=\"n\">")
                .Append(Opt(t.LatencyMs, v => v.ToString("0.000", CultureInfo.InvariantCulture))).Append("</td><td class=\"n\">")
                .Append(t.Bytes is { } bytes ? Bytes(bytes) : "–").Append("</td><td class=\"n\">").Append(Seconds(t.Seconds)).Append("</td><td>")
                .Append(string.Join(" ", flags)).Append("</td><td class=\"reason\">").Append(E(t.Error ?? "")).Append("</td></tr>\n");
        }
        html.Append("</tbody>\n</table>\n");
        html.Append("<p class=\"note\">Test accuracy of a stopped trial is the model's after the step that stopped it; latency is measured only after a trial's last step. Sizes are serialized bytes (KiB = 1024 bytes).</p>\n");
    }

    internal static void Machine(StringBuilder html, MachineInfo m)
    {
        (string, string)[] rows =
        [
            ("CPU", m.Cpu ?? "not readable here"),
            ("Cores", m.Cores.ToString(CultureInfo.InvariantCulture)),
            ("Memory", Bytes(m.MemoryBytes)),
            ("Operating system", m.OperatingSystem),
            ("Whittle", m.Whittle),
            ("ONNX Runtime", m.OnnxRuntime),
            ("TorchSharp", m.TorchSharp),
            (".NET", m.DotNet),
        ];
        html.Append("<table class=\"summary\">\n");
        foreach (var (k, v) in rows) html.Append("<tr><th>").Append(E(k)).Append("</th><td>").Append(E(v)).Append("</td></tr>\n");
        html.Append("</table>\n<p class=\"note\">The machine that wrote this report; a resumed search's earlier trials were measured wherever that run was.</p>\n");
    }

    internal static string Describe(Recipe recipe) => string.Join(" → ", recipe.Steps.Select(s => s.Describe()));

    internal static string E(string text) => WebUtility.HtmlEncode(text);

    private static string Opt(double? value, Func<double, string> format) => value is { } v ? format(v) : "–";

    private static string Num(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    internal static string Seconds(double s) => s < 60 ? s.ToString("0.0", CultureInfo.InvariantCulture) + " s"
        : s < 3600 ? $"{(int)(s / 60)}m{(int)(s % 60):00}s" : $"{(int)(s / 3600)}h{(int)(s % 3600 / 60):00}m";

    internal static string Bytes(long b) => b < 1024 ? $"{b} B" : b < 1024 * 1024 ? (b / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB"
        : b < 1024L * 1024 * 1024 ? (b / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB" : (b / 1073741824.0).ToString("0.0", CultureInfo.InvariantCulture) + " GiB";

    internal const string Css = """
        body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; line-height: 1.45; }
        h1 { font-size: 1.6em; margin-bottom: 0.4em; }
        h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
        h3 { font-size: 1.05em; margin: 0.4em 0; }
        figure { margin: 1em 0; }
        figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
        figcaption, .note, .lead { color: #555; font-size: 0.92em; }
        .note { font-style: italic; }
        table { border-collapse: collapse; margin: 0.6em 0; }
        table.summary th { text-align: left; padding: 0.2em 1em 0.2em 0; vertical-align: top; white-space: nowrap; }
        table.summary td { padding: 0.2em 0; }
        table.data { font-size: 0.88em; width: 100%; }
        table.data th, table.data td { border: 1px solid #ddd; padding: 0.25em 0.45em; vertical-align: top; }
        table.data th { background: #f4f4f4; text-align: left; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        td.reason { font-size: 0.92em; color: #7a3b00; min-width: 16em; max-width: 30em; overflow-wrap: anywhere; white-space: pre-line; }
        td.recipe { min-width: 13em; }
        tr.winner td { background: #e8f5e9; font-weight: 600; }
        tr.input td { background: #f7f7f7; }
        tr.failed td, tr.stopped td { color: #666; }
        .flag { display: inline-block; border-radius: 3px; padding: 0 0.35em; margin: 0 0.1em 0.1em 0; font-size: 0.85em; white-space: nowrap; }
        .flag.winner { background: #2ca02c; color: #fff; }
        .flag.pareto { background: #fbe3e4; color: #a01b1d; }
        .flag.ok { background: #e3eefb; color: #1b4f8a; }
        .flag.over { background: #fff0e0; color: #8a4b00; }
        .footer { margin-top: 2em; color: #888; font-size: 0.85em; }
        code { font-size: 0.95em; }

        """;
}
