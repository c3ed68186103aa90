using Spectre.Console;
using Whittle.Data;
using Whittle.Onnx;
using Whittle.Quantization;

namespace Whittle.Bench;

/// <summary>
/// Quantization-aware training against post-training quantization at the same bits, on the
/// BN-folded PyTorch exports (<c>bench/models/cnn3-pytorch-fmnist.onnx</c>, the 3-conv CNN, and
/// <c>resnet8w1-pytorch-fmnist.onnx</c>, ResNet-8 16/32/64): per weight width (int4 weights with
/// 8-bit activations, int8 everything) the float, PTQ and QAT models' test accuracy, file size and
/// latency at batch 64 (each timed interleaved with the float model in one run). One
/// <see cref="ModelQuantizer.Quantize(OnnxModel, BoundData?, ModelQuantizationOptions, IProgress{JobProgress}?)"/>
/// call per row gives PTQ and QAT side by side.
/// Environment: WHITTLE_QAT_EPOCHS (default 2), WHITTLE_QAT_MODELS (comma-separated file names),
/// WHITTLE_QAT_BITS ("4,8").
/// </summary>
internal sealed class QatBenchmark : IBenchmark
{
    public string Name => "qat";
    public string Description => "PTQ vs QAT per weight width (int4 / int8) on BN-folded PyTorch CNN and ResNet-8: accuracy, size, latency";

    public object Run(BenchContext context)
    {
        int epochs = int.TryParse(Environment.GetEnvironmentVariable("WHITTLE_QAT_EPOCHS"), out var e) ? e : context.Quick ? 1 : QatOptions.DefaultEpochs;
        var names = (Environment.GetEnvironmentVariable("WHITTLE_QAT_MODELS") ?? "cnn3-pytorch-fmnist.onnx,resnet8w1-pytorch-fmnist.onnx").Split(',', StringSplitOptions.RemoveEmptyEntries);
        var bits = (Environment.GetEnvironmentVariable("WHITTLE_QAT_BITS") ?? "4,8").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        TorchSharp.torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
        var rows = new List<Row>();
        foreach (var name in names)
        {
            var model = OnnxModel.Load(Path.Combine(context.RepoRoot, "bench", "models", name));
            var data = ModelData.Bind(model, "fashion-mnist", new DataOptions(mean: [0.2860f], std: [0.3530f]));
            foreach (var b in bits)
            {
                var options = new ModelQuantizationOptions(QuantizationMode.Qat,
                    quantization: new StaticQuantizationOptions(weightType: b == 4 ? QuantizationType.Int4 : QuantizationType.Int8),
                    evaluationLimit: context.Quick ? 1000 : null, qat: new QatOptions(epochs, limit: context.Quick ? 3000 : null));
                var r = ModelQuantizer.Quantize(model, data, options);
                var q = r.Qat!;
                rows.Add(new Row(name, b, r.Before!.Accuracy, q.Ptq!.Accuracy, r.After!.Accuracy, r.BytesBefore, q.PtqBytes, r.BytesAfter,
                    q.PtqLatencyMs / q.PtqFloatLatencyMs, r.QuantizedLatencyMs / r.FloatLatencyMs, q.Seconds,
                    r.OpCounts.Where(k => k.Key.Split('.')[^1] is "QuantizeLinear" or "DequantizeLinear").ToDictionary(k => k.Key, k => k.Value)));
            }
        }
        var table = new Table().Title($"PTQ vs QAT, {epochs} epoch(s) of QAT (AdamW {QatOptions.DefaultLearningRate:G2} cosine, batch {QatOptions.DefaultBatchSize}, learned step sizes, float model as teacher), Fashion-MNIST test set")
            .AddColumns("model", "weights", "float acc", "PTQ acc", "QAT acc", "PTQ Δ", "QAT Δ", "float size", "QAT size", "PTQ latency", "QAT latency", "QAT seconds");
        foreach (var r in rows)
            table.AddRow(Markup.Escape(r.Model), $"int{r.WeightBits}", $"{r.Float:P2}", $"{r.Ptq:P2}", $"{r.Qat:P2}", $"{(r.Ptq - r.Float) * 100:+0.00;-0.00}", $"{(r.Qat - r.Float) * 100:+0.00;-0.00}",
                $"{r.FloatBytes / 1024.0:0.0} KiB", $"{r.QatBytes / 1024.0:0.0} KiB ({(double)r.QatBytes / r.FloatBytes:P1})", $"{r.PtqLatencyRatio:0.00}×", $"{r.QatLatencyRatio:0.00}×", $"{r.Seconds:0}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("[grey]Latency is each quantized model's median over the float model's, timed interleaved in one session pair (spinning off). int4 weights run dequantized to float kernels in ONNX Runtime on CPU.[/]");
        return new { epochs, rows };
    }

    private sealed record Row(string Model, int WeightBits, double Float, double Ptq, double Qat, long FloatBytes, long PtqBytes, long QatBytes,
        double PtqLatencyRatio, double QatLatencyRatio, double Seconds, IReadOnlyDictionary<string, int> QdqNodes);
}
