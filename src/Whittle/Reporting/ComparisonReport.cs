using System.Diagnostics;
using System.Globalization;
using System.Text;
using Whittle.Onnx;
using Whittle.Optimization;

namespace Whittle.Reporting;

/// <summary>
/// The report of a several-model search (<c>OUTDIR/report.html</c>): per model the input against its
/// winner (test accuracy, latency, size, × faster and × smaller), a link to the model's own report, and
/// test accuracy against latency and against size for every model's trials in one chart each. Self-contained
/// like <see cref="SearchReport"/> (ScottPlot PNGs as <c>data:</c> URIs, no script, nothing fetched); drawn
/// from the typed results only.
/// </summary>
public static class ComparisonReport
{
    /// <summary>Renders the report and writes it atomically to <paramref name="path"/>.</summary>
    /// <param name="path">The HTML file; its directory must exist.</param>
    /// <param name="result">The several-model search.</param>
    /// <param name="machine">The machine to describe; null for this one.</param>
    public static void Write(string path, MultiModelSearchResult result, MachineInfo? machine = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.WriteAllText(path, Render(result, Path.GetDirectoryName(Path.GetFullPath(path))!, machine));
    }

    /// <summary>The report as HTML; links to each model's report are relative to <paramref name="directory"/>.</summary>
    public static string Render(MultiModelSearchResult result, string directory, MachineInfo? machine = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var watch = Stopwatch.StartNew();
        machine ??= MachineInfo.Current();
        var html = new StringBuilder(64 * 1024);
        string title = $"Whittle optimize report — {result.Models.Count} model{(result.Models.Count == 1 ? "" : "s")}";
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>").Append(E(title)).Append("</title>\n<style>\n").Append(SearchReport.Css).Append("</style>\n</head>\n<body>\n");
        html.Append("<h1>").Append(E(title)).Append("</h1>\n");

        var budget = $"validation accuracy within {Num(result.MaxAccuracyDrop)}{(result.Relative ? "% (relative)" : " point(s)")} of each input's";
        html.Append("<table class=\"summary\">\n")
            .Append("<tr><th>Objective</th><td>").Append(E(result.Objective == "latency" ? "latency: median latency over the input's, timed interleaved on this machine" : "size: serialized bytes")).Append("</td></tr>\n")
            .Append("<tr><th>Accuracy budget</th><td>").Append(E(budget)).Append("</td></tr>\n")
            .Append("<tr><th>Time budget</th><td>").Append(E(result.TimeBudgetSeconds is { } t
                ? $"{SearchReport.Seconds(t)} for the whole run; each model's search had an equal share of what was left when it started"
                : "none")).Append("</td></tr>\n")
            .Append("<tr><th>Result</th><td>").Append(E($"{result.Improved} of {result.Models.Count} models improved within the budget; the run took {SearchReport.Seconds(result.Seconds)}"))
            .Append("</td></tr>\n</table>\n");

        html.Append("<h2 id=\"models\">Input vs winner</h2>\n");
        html.Append("<table class=\"data models\">\n<thead><tr><th>model</th><th>winner</th><th>test acc. input → winner</th><th>change</th><th>latency input → winner (ms)</th>")
            .Append("<th>speed</th><th>size input → winner</th><th>× smaller</th><th>trials</th><th>time (budget share)</th></tr></thead>\n<tbody>\n");
        foreach (var m in result.Models)
        {
            bool won = m.BestTrial is not null;
            html.Append("<tr class=\"").Append(won ? "improved" : "none").Append("\" id=\"model-").Append(E(m.Name)).Append("\"><td>").Append(m.ReportPath is { } report
                    ? $"<a href=\"{E(Path.GetRelativePath(directory, report).Replace('\\', '/'))}\">{E(m.Name)}</a>" : E(m.Name)).Append("</td><td class=\"recipe\">")
                .Append(won ? E($"trial {m.BestTrial}: {m.BestRecipe}") : "<em>none within the budget</em>").Append("</td><td class=\"n\">")
                .Append(SearchPlots.Percent(m.InputTestAccuracy)).Append(won ? " → " + SearchPlots.Percent(m.BestTestAccuracy!.Value) : "").Append("</td><td class=\"n\">")
                .Append(m.TestAccuracyChange is { } d ? d.ToString("+0.00;-0.00", CultureInfo.InvariantCulture) + " pt" : "–").Append("</td><td class=\"n\">")
                .Append(m.InputLatencyMs is { } im ? Ms(im) : "–").Append(won && m.BestLatencyMs is { } bm ? " → " + Ms(bm) : "").Append("</td><td class=\"n\">")
                .Append(m.Speedup is { } s ? s >= 1 ? s.ToString("0.00", CultureInfo.InvariantCulture) + "× faster" : (1 / s).ToString("0.00", CultureInfo.InvariantCulture) + "× slower" : "–").Append("</td><td class=\"n\">")
                .Append(SearchReport.Bytes(m.InputBytes)).Append(won ? " → " + SearchReport.Bytes(m.BestBytes!.Value) : "").Append("</td><td class=\"n\">")
                .Append(m.SizeReduction is { } r ? r.ToString("0.0", CultureInfo.InvariantCulture) + "×" : "–").Append("</td><td class=\"n\">")
                .Append(E($"{m.Trials}: {m.Done} done" + (m.Stopped > 0 ? $", {m.Stopped} stopped" : "") + (m.Failed > 0 ? $", {m.Failed} failed" : ""))).Append("</td><td class=\"n\">")
                .Append(E(SearchReport.Seconds(m.Seconds) + (m.TimeBudgetSeconds is { } share ? $" ({SearchReport.Seconds(share)})" : ""))).Append("</td></tr>\n");
        }
        html.Append("</tbody>\n</table>\n");
        html.Append("<p class=\"note\">A winner is the finished trial within the budget that is best on the objective and improves on its input; test accuracy is reported, the search selected on validation accuracy. ")
            .Append("Latency is each model's median at its latency batch, the input timed interleaved with the winner in the winner's trial. A model's name links to its own report.</p>\n");

        html.Append("<h2 id=\"tradeoffs\">Trade-offs of every model</h2>\n");
        SearchReport.Figure(html, SearchPlots.Comparison(result, TradeoffAxis.Latency));
        SearchReport.Figure(html, SearchPlots.Comparison(result, TradeoffAxis.Size));

        html.Append("<h2 id=\"machine\">Machine and versions</h2>\n");
        SearchReport.Machine(html, machine);
        html.Append("<p class=\"footer\">Written by Whittle ").Append(E(machine.Whittle)).Append(" at ")
            .Append(DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture))
            .Append("; figures drawn with ScottPlot in ").Append(SearchReport.Seconds(watch.Elapsed.TotalSeconds)).Append(".</p>\n");
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static string E(string text) => SearchReport.E(text);

    private static string Num(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Ms(double v) => v.ToString(v < 10 ? "0.000" : "0.0", CultureInfo.InvariantCulture);
}
