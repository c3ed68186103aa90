using System.Text;
using Whittle.Data;

namespace Whittle.Zoo;

/// <summary>
/// The random numbers behind a Zoo model's initial weights. Each parameter tensor draws from its
/// own stream, derived from the model seed and the tensor's name, so adding, removing or reordering
/// one layer leaves every other layer's initial weights unchanged, and a seed names the same
/// weights on every machine and .NET version (SplitMix64 through <see cref="SeededRandom"/>,
/// never <see cref="System.Random"/>).
/// </summary>
internal static class ParameterRandom
{
    /// <summary>Fills <paramref name="values"/> from U(-bound, bound), as <c>torch.nn.init.uniform_</c>.</summary>
    public static void FillUniform(Span<float> values, double bound, long seed, string parameterName)
    {
        var random = StreamFor(seed, parameterName);
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(bound * (2.0 * NextUnitInterval(random) - 1.0));
    }

    /// <summary>Fills <paramref name="values"/> from N(0, 1) with the Box-Muller transform, as <c>torch.nn.init.normal_</c>.</summary>
    public static void FillStandardNormal(Span<float> values, long seed, string parameterName)
    {
        var random = StreamFor(seed, parameterName);
        for (int i = 0; i < values.Length; i += 2)
        {
            // 1 - u lies in (0, 1], so the logarithm is finite.
            double radius = Math.Sqrt(-2.0 * Math.Log(1.0 - NextUnitInterval(random)));
            double angle = 2.0 * Math.PI * NextUnitInterval(random);
            values[i] = (float)(radius * Math.Cos(angle));
            if (i + 1 < values.Length) values[i + 1] = (float)(radius * Math.Sin(angle));
        }
    }

    /// <summary>A uniformly distributed double in [0, 1) from the top 53 bits.</summary>
    private static double NextUnitInterval(SeededRandom random) => (random.NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private static SeededRandom StreamFor(long seed, string parameterName)
    {
        // Hashing (rather than adding) the seed and the name keeps the streams of seed s and s + 1
        // from being the same SplitMix64 sequence shifted by one step.
        ulong state = Mix(Mix(unchecked((ulong)seed)) ^ Fnv1a(parameterName));
        return new SeededRandom(unchecked((long)state));
    }

    private static ulong Fnv1a(string text)
    {
        ulong hash = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(text))
            hash = unchecked((hash ^ b) * 1099511628211UL);
        return hash;
    }

    /// <summary>The SplitMix64 finalizer: a bijective 64-bit mix.</summary>
    private static ulong Mix(ulong z)
    {
        unchecked
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
