using TorchSharp;
using Whittle.Data;
using static TorchSharp.torch;

namespace Whittle.Tests.Training;

/// <summary>
/// The Training tests seed TorchSharp's process-wide generator and measure process memory, so
/// they must not run alongside other tests that use TorchSharp.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection : ICollectionFixture<SingleThreadedTorch>
{
    public const string Name = "Torch (serial)";
}

/// <summary>
/// Runs the collection with one libtorch intra-op thread. The models here are tiny, so a second
/// thread buys nothing, and on a loaded machine (more runnable processes than cores) libtorch's
/// parallel regions wait for a descheduled worker: 50 steps of a 784-64-3 MLP took 3.7-6.6 s with
/// two threads against 0.35-0.4 s with one, measured at a load average of ~15 on 2 cores.
/// </summary>
public sealed class SingleThreadedTorch : IDisposable
{
    private readonly int _threads = get_num_threads();

    public SingleThreadedTorch() => set_num_threads(1);

    public void Dispose() => set_num_threads(_threads);
}

/// <summary>Small modules and synthetic data for the Training tests.</summary>
internal static class TrainingTestKit
{
    /// <summary>A two-layer perceptron, initialized from TorchSharp's generator seeded with <paramref name="seed"/>.</summary>
    public static nn.Module<Tensor, Tensor> Mlp(int seed, int inputs = 8, int hidden = 16, int classes = 3, double dropout = 0)
    {
        random.manual_seed(seed);
        return dropout > 0
            ? nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, classes))
            : nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, classes));
    }

    /// <summary>
    /// <paramref name="count"/> samples of <paramref name="classes"/> Gaussian blobs in
    /// <paramref name="features"/> dimensions: class c is centred at +3 on axis c and noise has
    /// σ = 0.6, so a linear boundary separates the classes almost perfectly.
    /// </summary>
    public static TensorDataset Blobs(int count, int seed, int features = 8, int classes = 3)
    {
        var random = new Random(seed);
        float[] x = new float[count * features];
        int[] labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            int label = i % classes;
            labels[i] = label;
            for (int f = 0; f < features; f++)
            {
                double gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                x[i * features + f] = (float)((f == label ? 3.0 : 0.0) + 0.6 * gaussian);
            }
        }
        return new TensorDataset(x, [features], labels, classes);
    }

    /// <summary>Every parameter and buffer of <paramref name="module"/>, flattened, by name.</summary>
    public static Dictionary<string, float[]> Weights(nn.Module<Tensor, Tensor> module) =>
        module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32).data<float>().ToArray());

    /// <summary>Asserts that two weight sets are bit-for-bit equal.</summary>
    public static void AssertSameWeights(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, values) in expected) Assert.Equal(values, actual[name]);
    }

    /// <summary>Loss and validation metrics of each epoch (not the timings, which differ run to run).</summary>
    public static (double, double?, double?, double?, double, int)[] Numbers(IEnumerable<Whittle.Training.EpochRecord> history) =>
        history.Select(r => (r.TrainingLoss, r.ValidationLoss, r.ValidationAccuracy, r.ValidationMacroF1, r.LearningRate, r.Steps)).ToArray();
}

/// <summary>An <see cref="IProgress{T}"/> that runs its action synchronously, on the training thread.</summary>
internal sealed class InlineProgress<T>(Action<T> action) : IProgress<T>
{
    public void Report(T value) => action(value);
}
