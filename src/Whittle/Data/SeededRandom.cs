namespace Whittle.Data;

/// <summary>
/// The pseudo-random generator behind every seeded shuffle and split in <c>Whittle.Data</c>:
/// SplitMix64 (Steele, Lea and Flood, 2014) with Lemire's unbiased bounded integers and a
/// Fisher-Yates shuffle.
/// </summary>
/// <remarks>
/// <see cref="System.Random"/> is not used because its documentation does not promise the
/// same sequence across .NET versions, and a seed must name the same split on every machine
/// and every future runtime. SplitMix64 is a few lines of fixed integer arithmetic, so the
/// sequence is identical everywhere; a test pins its first outputs to the published reference
/// values.
/// </remarks>
internal sealed class SeededRandom
{
    private ulong _state;

    /// <summary>Starts the sequence for <paramref name="seed"/>.</summary>
    public SeededRandom(long seed) => _state = unchecked((ulong)seed);

    /// <summary>The next 64 uniformly distributed bits.</summary>
    public ulong NextUInt64()
    {
        unchecked
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>A uniformly distributed integer in [0, <paramref name="bound"/>).</summary>
    public int NextBelow(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        ulong range = (ulong)bound;
        UInt128 product = (UInt128)NextUInt64() * range;
        ulong low = (ulong)product;
        if (low < range)
        {
            // Rejecting the few low values that would be over-represented keeps every result
            // exactly equally likely (Lemire, "Fast random integer generation in an interval").
            ulong threshold = unchecked(0UL - range) % range;
            while (low < threshold)
            {
                product = (UInt128)NextUInt64() * range;
                low = (ulong)product;
            }
        }
        return (int)(product >> 64);
    }

    /// <summary>Shuffles <paramref name="values"/> in place (Fisher-Yates).</summary>
    public void Shuffle(Span<int> values)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = NextBelow(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    /// <summary>A random permutation of 0 .. <paramref name="count"/> - 1.</summary>
    public int[] Permutation(int count)
    {
        int[] order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        Shuffle(order);
        return order;
    }
}
