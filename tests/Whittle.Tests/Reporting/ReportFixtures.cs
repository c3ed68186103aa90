using System.Text.RegularExpressions;
using SkiaSharp;
using Whittle.Onnx;
using Whittle.Optimization;
using Whittle.Quantization;
using Whittle.Reporting;
using Whittle.Training;

namespace Whittle.Tests.Reporting;

/// <summary>Search results built by hand (no search run) and what tests read out of a report.</summary>
internal static partial class ReportFixtures
{
    public static readonly MachineInfo Machine = new(2, "Debian GNU/Linux 12 (bookworm)", "Test CPU @ 3.0GHz", 24L << 30, "0.1.0-test", "1.31.1", "0.107.0", ".NET 10.0.0");

    public static EpochRecord Epoch(int epoch, double loss, double accuracy) => new(epoch, loss, loss * 1.1, accuracy, accuracy - 0.01, 1e-3, 2.5, 40, 1200);

    public static IReadOnlyList<LayerError> Layers(params double[] sqnr) =>
        sqnr.Select((s, i) => new LayerError($"/features/features.{i}/Relu_output_0", $"/features/features.{i}/Conv", i % 2 == 0 ? "Conv" : "Relu", s, 0.01 * (i + 1))).ToList();

    private static RecipeStepRecord Step(RecipeStep step, double validation, long bytes, IReadOnlyList<EpochRecord>? history = null, IReadOnlyList<LayerError>? layers = null) =>
        new(step.Describe(), validation - 0.01, validation - 0.02, bytes, 3.5, [], validation, history, layers);

    private static TrialRecord Done(int index, Recipe recipe, double validation, double latency, long bytes, bool meets, bool pareto, params RecipeStepRecord[] steps) =>
        new(index, recipe, "done", validation, validation - 0.012, validation - 0.02, latency, latency * 0.4, bytes, 10 + index, meets, pareto, null, steps);

    /// <summary>
    /// A 24-trial latency search like the built-in candidates: PTQ, QAT, pruning followed by PTQ or
    /// QAT, some stopped early, one failed (its message with markup characters); the winner (trial 6)
    /// is pruned and QAT-trained, with both training histories and its per-layer SQNR (one exact layer).
    /// </summary>
    public static SearchResult Search()
    {
        const double input = 0.88;
        const long inputBytes = 110_000;
        var trials = new List<TrialRecord>();
        var static8 = new QuantizeStep();
        trials.Add(Done(0, new Recipe([static8]), 0.878, 0.73, 34_000, true, false, Step(static8, 0.878, 34_000, layers: Layers(31, 38, 42, double.PositiveInfinity))));
        var size8 = new QuantizeStep(Objective: "size");
        trials.Add(Done(1, new Recipe([size8]), 0.879, 0.79, 33_000, true, false, Step(size8, 0.879, 33_000, layers: Layers(30, 37))));
        var qat = new QuantizeStep("qat", FineTuneEpochs: 1);
        trials.Add(Done(2, new Recipe([qat]), 0.882, 1.07, 34_100, true, true, Step(qat, 0.882, 34_100, [Epoch(1, 0.41, 0.882)], Layers(33, 39))));
        var random = new Random(3);
        for (int i = 3; i < 24; i++)
        {
            var prune = new PruneStep("channel", 0.25 + 0.125 * (i % 5), Schedule: "agp", FineTuneEpochs: 2 + i % 2);
            RecipeStep quantize = i % 3 == 0 ? new QuantizeStep() : new QuantizeStep("qat", FineTuneEpochs: 1);
            var recipe = new Recipe([prune, quantize]);
            double validation = 0.80 + 0.08 * random.NextDouble();
            long bytes = 10_000 + 2_000 * (24 - i);
            EpochRecord[] epochs = [Epoch(1, 0.9, validation - 0.03), Epoch(2, 0.6, validation - 0.01), Epoch(3, 0.5, validation)];
            var pruned = Step(prune, validation, bytes, epochs[..prune.FineTuneEpochs]);
            if (i == 6)
            {
                var history = new[] { Epoch(1, 0.72, 0.861), Epoch(2, 0.55, 0.872), Epoch(3, 0.48, 0.876) };
                var qatHistory = new[] { Epoch(1, 0.44, 0.874) };
                trials.Add(Done(i, new Recipe([prune, qat]), 0.874, 0.31, 14_000, true, true, Step(prune, 0.876, 52_000, history), Step(qat, 0.874, 14_000, qatHistory,
                    Layers(18.5, 24, 27.5, 33, 35, 41, double.PositiveInfinity))));
                continue;
            }
            if (i % 3 == 0)
            {
                trials.Add(new TrialRecord(i, recipe, "stopped", validation, validation - 0.01, validation - 0.02, null, null, bytes, 30 + i, false, false,
                    $"stopped after step 1 ({prune.Describe()}): validation accuracy {validation:P2} is outside the budget and no later step trains", [pruned]));
                continue;
            }
            if (i == 11)
            {
                trials.Add(new TrialRecord(i, recipe, "failed", null, null, null, null, null, null, 4, false, false, "QAT refused: <Conv> \"conv1\" & friends stayed float", [pruned]));
                continue;
            }
            double latency = 0.2 + 0.05 * (i % 7);
            trials.Add(Done(i, recipe, validation, latency, bytes, validation >= input - 0.01, i == 8, pruned, Step(quantize, validation, bytes, [Epoch(1, 0.5, validation)], Layers(25, 30))));
        }
        var log = new TrialLog(0.88, 0.87, "latency", 1.0, trials, LatencyBatch: 64, Limit: 3000);
        return new SearchResult(trials[6], "/tmp/out/best.onnx", log, 2, 1234, inputBytes);
    }

    /// <summary>
    /// A two-model run: the 24-trial search (winner trial 7, 3.2× faster) as "cnn", and a model with
    /// ten times the latency and size whose search found no winner as "resnet".
    /// </summary>
    public static MultiModelSearchResult Models()
    {
        var cnn = Search() with { ReportPath = "/tmp/out/cnn/report.html" };
        var slow = Search();
        var scaled = slow.Log.Trials.Select(t => t with { LatencyMs = t.LatencyMs * 10, Bytes = t.Bytes * 10, MeetsBudget = false }).ToList();
        var resnet = new SearchResult(null, null, slow.Log with { Trials = scaled }, 0, 600, slow.InputBytes * 10, "/tmp/out/resnet/report.html");
        var models = new[] { ("cnn", cnn), ("resnet", resnet) }
            .Select(m => ModelOutcome.From(new SearchModel(m.Item1, OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx")), null!), "/tmp/out/" + m.Item1, m.Item2, TimeSpan.FromMinutes(15)))
            .ToList();
        return new MultiModelSearchResult(models, "latency", 1.0, false, 1800, 1834, "/tmp/out/report.html");
    }

    /// <summary>The same search with another winner (and so another set of notes).</summary>
    public static SearchResult WithWinner(SearchResult search, TrialRecord? winner) => search with { Best = winner };

    [GeneratedRegex("<img src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\" width=\"(\\d+)\" height=\"(\\d+)\"")]
    private static partial Regex EmbeddedPng();

    /// <summary>Every embedded PNG, decoded (SkiaSharp), with the CSS size the img tag gives it.</summary>
    public static IReadOnlyList<(SKBitmap Image, int Width, int Height)> Images(string html) =>
        EmbeddedPng().Matches(html).Select(m =>
        {
            var bytes = Convert.FromBase64String(m.Groups[1].Value);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
            var image = SKBitmap.Decode(bytes);
            Assert.NotNull(image);
            return (image, int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value));
        }).ToList();
}
