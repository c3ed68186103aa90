using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using SkiaSharp;
using Whittle.Reporting;

namespace Whittle.Tests.Reporting;

/// <summary>
/// report.html in a real browser: headless Chromium (Debian package <c>chromium</c>, installed by
/// .ci/run) loads it under a content security policy that allows nothing but inline styles and
/// <c>data:</c> images, so any external resource is a violation; a probe script added to the test's
/// copy (the report has none) records every error and violation and whether each image decoded.
/// </summary>
public class ReportInChromiumTests
{
    private static readonly string? Chromium = new[] { "chromium", "chromium-browser" }
        .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Select(dir => Path.Combine(dir, name)))
        .FirstOrDefault(File.Exists);

    private const string Probe = """
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
        <script>
        const violations = [], errors = [];
        document.addEventListener('securitypolicyviolation', e => violations.push(e.violatedDirective + ' ' + e.blockedURI));
        window.addEventListener('error', e => errors.push(String(e.message || (e.target && (e.target.src || e.target.href)) || 'error')), true);
        window.addEventListener('load', () => {
          const images = Array.from(document.images);
          const probe = document.createElement('pre');
          probe.id = 'whittle-probe';
          probe.textContent = JSON.stringify({
            images: images.length,
            broken: images.filter(i => !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0)).map(i => i.alt),
            violations, errors,
            tables: document.querySelectorAll('table.trials tbody tr').length,
          });
          document.body.appendChild(probe);
        });
        </script>
        """;

    [SkippableFact]
    public void TheReportLoadsInChromiumWithEveryImageDecodedAndNothingFetched()
    {
        Skip.If(Chromium is null, "needs the Debian package chromium (.ci/run installs it)");
        var dir = TestPaths.TempDir();
        var report = Path.Combine(dir, SearchReport.FileName);
        SearchReport.Write(report, ReportFixtures.Search(), "fmnist_classifier.onnx", ReportFixtures.Machine);
        var html = File.ReadAllText(report);
        var probed = Path.Combine(dir, "probed.html");
        File.WriteAllText(probed, html.Replace("<head>\n", "<head>\n" + Probe, StringComparison.Ordinal));

        var dom = Run(dir, "--dump-dom", new Uri(probed).AbsoluteUri);
        var match = Regex.Match(dom, "<pre id=\"whittle-probe\">(.*?)</pre>", RegexOptions.Singleline);
        Assert.True(match.Success, "the probe did not run (no load event?):\n" + dom[..Math.Min(dom.Length, 2000)]);
        using var result = JsonDocument.Parse(WebUtility.HtmlDecode(match.Groups[1].Value));
        var root = result.RootElement;
        Assert.Equal(5, root.GetProperty("images").GetInt32());
        Assert.Empty(root.GetProperty("broken").EnumerateArray());
        Assert.Empty(root.GetProperty("violations").EnumerateArray());
        Assert.Empty(root.GetProperty("errors").EnumerateArray());
        Assert.Equal(25, root.GetProperty("tables").GetInt32()); // the input and 24 trials

        // A screenshot of the report itself: the page paints (not blank).
        var shot = Path.Combine(dir, "report.png");
        Run(dir, $"--screenshot={shot}", "--window-size=1280,2400", new Uri(report).AbsoluteUri);
        using var image = SKBitmap.Decode(shot);
        Assert.NotNull(image);
        Assert.Equal((1280, 2400), (image.Width, image.Height));
        Assert.True(image.Pixels.Distinct().Take(50).Count() >= 50, "the screenshot is blank");
    }

    [SkippableFact]
    public void TheComparisonReportOfSeveralModelsLoadsInChromiumWithBothChartsAndLinks()
    {
        Skip.If(Chromium is null, "needs the Debian package chromium (.ci/run installs it)");
        var dir = TestPaths.TempDir();
        var result = ReportFixtures.Models();
        var html = ComparisonReport.Render(result, "/tmp/out", ReportFixtures.Machine);
        Assert.Contains("<a href=\"cnn/report.html\">cnn</a>", html);
        Assert.Contains("<a href=\"resnet/report.html\">", html);
        Assert.Contains("none within the budget", html);
        Assert.Contains("3.23× faster", html); // the CNN winner: 0.31× latency
        var probed = Path.Combine(dir, "probed.html");
        File.WriteAllText(probed, html.Replace("<head>\n", "<head>\n" + Probe, StringComparison.Ordinal));
        var dom = Run(dir, "--dump-dom", new Uri(probed).AbsoluteUri);
        var match = Regex.Match(dom, "<pre id=\"whittle-probe\">(.*?)</pre>", RegexOptions.Singleline);
        Assert.True(match.Success, "the probe did not run (no load event?):\n" + dom[..Math.Min(dom.Length, 2000)]);
        using var probe = JsonDocument.Parse(WebUtility.HtmlDecode(match.Groups[1].Value));
        var root = probe.RootElement;
        Assert.Equal(2, root.GetProperty("images").GetInt32());
        Assert.Empty(root.GetProperty("broken").EnumerateArray());
        Assert.Empty(root.GetProperty("violations").EnumerateArray());
        Assert.Empty(root.GetProperty("errors").EnumerateArray());
        // Each chart is drawn (not a note) and is not blank.
        foreach (var (image, width, _) in ReportFixtures.Images(html))
        {
            Assert.Equal(1040, width);
            Assert.True(image.Pixels.Distinct().Take(50).Count() >= 50, "a comparison chart is blank");
        }
    }

    private static string Run(string dir, params string[] args)
    {
        var info = new ProcessStartInfo(Chromium!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", $"--user-data-dir={Path.Combine(dir, "profile")}",
            "--virtual-time-budget=10000" }.Concat(args))
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("chromium did not finish in 2 minutes: " + stderr.Result);
        }
        Assert.True(process.ExitCode == 0, $"chromium exited {process.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }
}
