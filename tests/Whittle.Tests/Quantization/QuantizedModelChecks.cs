using Microsoft.ML.OnnxRuntime;
using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Tests.Quantization;

/// <summary>Runs float and quantized models in ONNX Runtime and measures how far apart they are.</summary>
internal static class QuantizedModelChecks
{
    public static Dictionary<string, float[]> RunAll(OnnxModel model, IReadOnlyDictionary<string, RuntimeTensor> inputs)
    {
        using var session = new OnnxRuntimeSession(model);
        return session.Run(inputs).ToDictionary(kv => kv.Key, kv => kv.Value.AsFloats());
    }

    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    /// <summary>The operator counts of the graph ONNX Runtime actually executes (after its fusions).</summary>
    public static SortedDictionary<string, int> OptimizedOpHistogram(OnnxModel model)
    {
        var path = Path.Combine(TestPaths.TempDir(), "optimized.onnx");
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED, OptimizedModelFilePath = path })
        using (new InferenceSession(model.ToBytes(), options)) { }
        return OnnxModel.Load(path).Graph.OpHistogram();
    }

    public static float[] Normal(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var values = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            values[i] = scale * (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return values;
    }
}
