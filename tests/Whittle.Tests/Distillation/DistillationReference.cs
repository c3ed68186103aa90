using System.Text.Json;
using static TorchSharp.torch;

namespace Whittle.Tests.Distillation;

/// <summary>
/// PyTorch's values from tests/fixtures/distillation_reference.json (made by
/// distillation_reference.py, float64), and the comparison the tests use.
/// </summary>
internal static class DistillationReference
{
    private static readonly Lazy<JsonElement> Root = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixtures, "distillation_reference.json"))).RootElement);

    public static IEnumerable<JsonElement> LogitCases => Root.Value.GetProperty("logit_cases").EnumerateArray();

    public static IEnumerable<JsonElement> StandardizedCases => Root.Value.GetProperty("standardized_cases").EnumerateArray();

    public static IEnumerable<JsonElement> FeatureCases => Root.Value.GetProperty("feature_cases").EnumerateArray();

    public static JsonElement FeatureCase(string name) => FeatureCases.Single(c => c.GetProperty("name").GetString() == name);

    /// <summary>One logit set: student and teacher logits [B, C] (float64) and the labels.</summary>
    public static (Tensor Student, Tensor Teacher, Tensor Labels) LogitSet(string name, ScalarType dtype = ScalarType.Float64)
    {
        var set = Root.Value.GetProperty("logit_sets").GetProperty(name);
        return (Matrix(set.GetProperty("student"), dtype), Matrix(set.GetProperty("teacher"), dtype),
            tensor(set.GetProperty("labels").EnumerateArray().Select(e => e.GetInt64()).ToArray()));
    }

    public static Tensor SoftWeights(string set, ScalarType dtype = ScalarType.Float64) =>
        tensor(Doubles(Root.Value.GetProperty("soft_weights").GetProperty(set)), dtype: dtype);

    public static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();

    public static long[] Longs(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt64()).ToArray();

    public static double[] Values(Tensor t) => t.detach().to(ScalarType.Float64).contiguous().data<double>().ToArray();

    /// <summary>
    /// Equal to PyTorch within <paramref name="relative"/> of the expected magnitude (plus a floor
    /// for values that are zero in exact arithmetic). float64 on both sides leaves only rounding,
    /// so the default is far below the 1e-6 the reference was asked to meet.
    /// </summary>
    public static void Close(double expected, double actual, string what, double relative = 1e-9)
    {
        double tolerance = relative * Math.Abs(expected) + relative * 1e-3;
        Assert.True(Math.Abs(expected - actual) <= tolerance,
            $"{what}: expected {expected:R}, got {actual:R} (difference {Math.Abs(expected - actual):E2}, tolerance {tolerance:E2})");
    }

    public static void Close(double[] expected, double[] actual, string what, double relative = 1e-9)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
        {
            // Gradients mix large and tiny entries: each is held to the vector's scale.
            double tolerance = relative * Math.Max(Math.Abs(expected[i]), scale) + relative * 1e-3;
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance,
                $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (difference {Math.Abs(expected[i] - actual[i]):E2}, tolerance {tolerance:E2})");
        }
    }

    private static Tensor Matrix(JsonElement rows, ScalarType dtype)
    {
        var data = rows.EnumerateArray().Select(r => Doubles(r)).ToArray();
        return tensor(data.SelectMany(r => r).ToArray(), [data.Length, data[0].Length], dtype: dtype);
    }
}
