using Spectre.Console;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;
using Whittle.Zoo;

namespace Whittle.Bench;

/// <summary>
/// Dynamic int8 and weight-only int4 against float: model size, output agreement (SQNR, cosine)
/// on seeded inputs, and ORT latency (interleaved, spinning off) at batch 1 and 64.
/// </summary>
internal sealed class WeightQuantizationBenchmark : IBenchmark
{
    public string Name => "weight-quant";
    public string Description => "dynamic int8 and int4 (MatMulNBits) vs float: size, output SQNR/cosine, interleaved ORT latency";

    public object Run(BenchContext context)
    {
        var models = new (string Name, OnnxModel Model)[]
        {
            ("transformer fixture", OnnxModel.Load(Path.Combine(context.RepoRoot, "tests", "fixtures", "models", "pytorch_transformer_opset17.onnx"))),
            ("zoo mlp 784-256-128-10", ModelZoo.Create("mlp")),
            ("zoo mlp 784-1024-512-10", ModelZoo.Create("mlp", new ZooModelSettings(width: 4))),
        };
        var options = new LatencyBenchmarkOptions(runs: context.Quick ? 20 : 200, warmupRuns: 20);
        var rows = new List<object>();
        var table = new Table().Title($"Weight quantization ({options.Runs} interleaved runs, p50)")
            .AddColumns("model", "variant", "file KB", "SQNR dB", "cosine", "batch 1 ms", "batch 64 ms");
        foreach (var (name, model) in models)
        {
            var variants = new (string Name, OnnxModel Model)[]
            {
                ("float", model),
                ("dynamic int8", DynamicQuantizer.Quantize(model).Model),
                ("dynamic int8 per tensor", DynamicQuantizer.Quantize(model, new DynamicQuantizationOptions(perTensor: true)).Model),
                ("int4 block 32", Int4WeightQuantizer.Quantize(model).Model),
                ("int4 block 128", Int4WeightQuantizer.Quantize(model, new Int4QuantizationOptions(blockSize: 128)).Model),
            };
            var sessions = variants.Select(v => new OnnxRuntimeSession(v.Model, RuntimeOptions.ForComparison())).ToList();
            var inputs = Inputs(sessions[0], batch: 64);
            var reference = sessions[0].Run(inputs).Values.First().AsFloats();
            var p50 = new Dictionary<int, double[]>();
            foreach (var batch in new[] { 1, 64 })
                p50[batch] = LatencyBenchmark.MeasureInterleaved(sessions, batch, options)
                    .Select(s => new LatencyStatistics(s.Milliseconds, batch).P50Milliseconds).ToArray();
            for (int i = 0; i < variants.Length; i++)
            {
                var output = sessions[i].Run(inputs).Values.First().AsFloats();
                double sqnr = QuantizationError.Sqnr(reference, output), cosine = QuantizationError.Cosine(reference, output);
                long bytes = variants[i].Model.ToBytes().Length;
                table.AddRow(name, variants[i].Name, (bytes / 1024.0).ToString("0.0"), double.IsPositiveInfinity(sqnr) ? "exact" : sqnr.ToString("0.0"),
                    cosine.ToString("0.00000"), p50[1][i].ToString("0.000"), p50[64][i].ToString("0.000"));
                rows.Add(new { model = name, variant = variants[i].Name, fileBytes = bytes, sqnrDb = double.IsPositiveInfinity(sqnr) ? (double?)null : sqnr, cosine, batch1P50Ms = p50[1][i], batch64P50Ms = p50[64][i] });
            }
            foreach (var s in sessions) s.Dispose();
        }
        AnsiConsole.Write(table);
        return new { inputs = "64 samples: float inputs uniform [0,1) (seed 0), token ids uniform in [0,100) (seed 0)", rows };
    }

    // Float inputs from the session's sampler; integer inputs (token ids) uniform over a 100-token vocabulary.
    private static Dictionary<string, RuntimeTensor> Inputs(OnnxRuntimeSession session, int batch)
    {
        var inputs = session.SampleInputs(batch);
        var rng = new Random(0);
        foreach (var i in session.Inputs.Where(i => i.ElementType == OnnxDataType.Int64))
        {
            var shape = inputs[i.Name].Shape;
            inputs[i.Name] = RuntimeTensor.FromInt64s(Enumerable.Range(0, inputs[i.Name].Length).Select(_ => (long)rng.Next(100)).ToArray(), shape);
        }
        return inputs;
    }
}
