namespace Whittle.Data;

/// <summary>
/// Seeded synthetic implicit-feedback data for tests and demos, labelled "synthetic" wherever it
/// is shown. Users and items get hidden taste vectors p_u, q_i ~ N(0, I) of
/// <see cref="SyntheticRecsysOptions.Factors"/> dimensions and items a Zipf-like popularity; user
/// u's affinity to item i is 3·p_u·q_i/√factors − skew·ln(rank_i + 1). Each user interacts with
/// about density × items items (uniformly between half and 1.5 times that, at least 3), drawn
/// without replacement with probability proportional to exp(affinity) (Gumbel top-k), at
/// timestamps in a random order. So both taste (which a factor model can learn) and popularity
/// (which the popularity baseline knows) drive the data.
/// </summary>
public static class SyntheticRecsys
{
    private const double TasteStrength = 3.0;

    /// <summary>Generates the data.</summary>
    /// <param name="options">Sizes, density, skew and seed.</param>
    public static InteractionData Generate(SyntheticRecsysOptions? options = null)
    {
        options ??= new SyntheticRecsysOptions();
        var random = new SeededRandom(options.Seed);
        int d = options.Factors;
        var userFactors = Normals(random, options.Users * d);
        var itemFactors = Normals(random, options.Items * d);
        var popularityRank = random.Permutation(options.Items);
        double scale = TasteStrength / Math.Sqrt(d);
        double mean = options.Density * options.Items;

        var events = new List<Interaction>();
        var keys = new double[options.Items];
        var order = new int[options.Items];
        for (int u = 0; u < options.Users; u++)
        {
            int count = Math.Clamp((int)Math.Round(mean * (0.5 + Uniform(random))), 3, options.Items - 1);
            for (int i = 0; i < options.Items; i++)
            {
                double dot = 0;
                for (int f = 0; f < d; f++) dot += userFactors[u * d + f] * itemFactors[i * d + f];
                double affinity = scale * dot - options.PopularitySkew * Math.Log(popularityRank[i] + 1);
                // Gumbel top-k: the k largest affinity + Gumbel noise are a draw without replacement ∝ exp(affinity).
                keys[i] = affinity - Math.Log(-Math.Log(1 - Uniform(random) * (1 - 1e-12)));
                order[i] = i;
            }
            Array.Sort(keys.ToArray(), order);
            var chosen = order.AsSpan(options.Items - count, count).ToArray();
            random.Shuffle(chosen);
            for (int t = 0; t < chosen.Length; t++) events.Add(new Interaction(u, chosen[t], null, t));
        }
        return new InteractionData(events, options.Users, options.Items, $"synthetic-recsys:{options}", $"synthetic recsys ({options})", isSynthetic: true);
    }

    private static double Uniform(SeededRandom random) => (random.NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private static double[] Normals(SeededRandom random, int count)
    {
        var values = new double[count];
        for (int i = 0; i < count; i += 2)
        {
            double radius = Math.Sqrt(-2.0 * Math.Log(1.0 - Uniform(random)));
            double angle = 2.0 * Math.PI * Uniform(random);
            values[i] = radius * Math.Cos(angle);
            if (i + 1 < count) values[i + 1] = radius * Math.Sin(angle);
        }
        return values;
    }
}
