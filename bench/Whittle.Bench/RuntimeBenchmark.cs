using System.Diagnostics;
using Spectre.Console;
using Whittle.Data;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Bench;

/// <summary>
/// ONNX Runtime baseline of the reference models: latency at batch 1 and 64 (interleaved
/// across models) and the throughput of batched evaluation over the Fashion-MNIST test set.
/// </summary>
internal sealed class RuntimeBenchmark : IBenchmark
{
    public string Name => "runtime";
    public string Description => "ONNX Runtime latency of the fixture models (interleaved) and eval throughput on Fashion-MNIST test";

    public object Run(BenchContext context)
    {
        var models = new[] { "fmnist_classifier.onnx", "pytorch_resnet_opset13.onnx" }
            .Select(m => Path.Combine(context.RepoRoot, "tests", "fixtures", "models", m)).ToArray();
        var options = new LatencyBenchmarkOptions(runs: context.Quick ? 20 : 200, warmupRuns: 20);
        var sessions = models.Select(m => new OnnxRuntimeSession(OnnxModel.Load(m), RuntimeOptions.ForComparison())).ToList();
        var latency = new List<object>();
        var table = new Table().Title($"Latency, {options.Runs} interleaved runs").AddColumns("model", "batch", "p50 ms", "p90 ms", "p99 ms", "samples/s");
        foreach (var batch in new[] { 1, 64 })
        {
            var samples = LatencyBenchmark.MeasureInterleaved(sessions, batch, options);
            foreach (var (s, m) in samples.Zip(models))
            {
                var st = new LatencyStatistics(s.Milliseconds, batch);
                table.AddRow(Path.GetFileName(m), batch.ToString(), st.P50Milliseconds.ToString("0.000"), st.P90Milliseconds.ToString("0.000"),
                    st.P99Milliseconds.ToString("0.000"), st.SamplesPerSecond.ToString("0"));
                latency.Add(new { model = Path.GetFileName(m), batch, p50Ms = st.P50Milliseconds, p90Ms = st.P90Milliseconds, p99Ms = st.P99Milliseconds, samplesPerSecond = st.SamplesPerSecond });
            }
        }
        AnsiConsole.Write(table);

        var test = FashionMnist.Load(DatasetSplit.Test, new Preprocessing(divisor: 255f).Normalize([0.2860f], [0.3530f]));
        var evaluation = ModelEvaluator.Classify(OnnxModel.Load(models[0]), test.Dataset, new EvaluationOptions(runtime: sessions[0].Options));
        var (seconds, report) = (evaluation.Seconds, evaluation.Report);
        AnsiConsole.MarkupLine($"eval of {Path.GetFileName(models[0])} on {Markup.Escape(test.Description)}: {test.Dataset.Count:N0} images in {seconds:0.00} s ({test.Dataset.Count / seconds:0} images/s), accuracy {report.Accuracy:P2}, macro-F1 {report.Macro.F1:0.0000}");
        foreach (var s in sessions) s.Dispose();
        return new
        {
            latency,
            eval = new { data = test.Description, images = test.Dataset.Count, seconds, imagesPerSecond = test.Dataset.Count / seconds, accuracy = report.Accuracy, macroF1 = report.Macro.F1 },
            peakResidentBytes = ProcessMemory.PeakResidentBytes(),
        };
    }
}
