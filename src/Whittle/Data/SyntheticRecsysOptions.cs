using System.Globalization;

namespace Whittle.Data;

/// <summary>The settings of <see cref="SyntheticRecsys"/>. Immutable; every value is checked here, and every default lives here.</summary>
public sealed class SyntheticRecsysOptions
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="users">Number of users; at least 2.</param>
    /// <param name="items">Number of items; at least 10.</param>
    /// <param name="density">Mean share of the items each user interacts with, in (0, 0.5].</param>
    /// <param name="factors">Dimension of the hidden user and item taste vectors; positive.</param>
    /// <param name="popularitySkew">
    /// Exponent s of the Zipf-like item popularity: item of popularity rank r gets log-weight
    /// −s·ln(r + 1) added to every user's affinity. 0 makes items equally popular; larger values
    /// make a few items dominate (and the popularity baseline stronger).
    /// </param>
    /// <param name="seed">The same seed gives the same data on every machine.</param>
    public SyntheticRecsysOptions(int users = 1000, int items = 500, double density = 0.03, int factors = 8, double popularitySkew = 1.0, int seed = 0)
    {
        OptionChecks.AtLeast(users, 2, nameof(Users));
        OptionChecks.AtLeast(items, 10, nameof(Items));
        OptionChecks.InRange(density, nameof(Density), 0, 0.5, includeMinimum: false, includeMaximum: true);
        OptionChecks.Positive(factors, nameof(Factors));
        OptionChecks.NonNegative(popularitySkew, nameof(PopularitySkew));
        Users = users;
        Items = items;
        Density = density;
        Factors = factors;
        PopularitySkew = popularitySkew;
        Seed = seed;
    }

    /// <summary>Number of users.</summary>
    public int Users { get; }

    /// <summary>Number of items.</summary>
    public int Items { get; }

    /// <summary>Mean share of the items each user interacts with.</summary>
    public double Density { get; }

    /// <summary>Dimension of the hidden taste vectors.</summary>
    public int Factors { get; }

    /// <summary>Zipf exponent of item popularity.</summary>
    public double PopularitySkew { get; }

    /// <summary>The generator seed.</summary>
    public int Seed { get; }

    /// <summary>
    /// Parses <c>key=value</c> pairs separated by commas, e.g. <c>users=2000,items=800,seed=3</c>;
    /// keys: users, items, density, factors, skew, seed. Missing keys keep their defaults.
    /// </summary>
    /// <param name="text">The settings text; null or empty for all defaults.</param>
    /// <exception cref="DataFormatException">An unknown key or a value that is not a number or out of range.</exception>
    public static SyntheticRecsysOptions Parse(string? text)
    {
        var d = new SyntheticRecsysOptions();
        int users = d.Users, items = d.Items, factors = d.Factors, seed = d.Seed;
        double density = d.Density, skew = d.PopularitySkew;
        if (!string.IsNullOrWhiteSpace(text))
        {
            foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = part.IndexOf('=');
                if (eq <= 0) throw new DataFormatException($"synthetic-recsys: '{part}' is not key=value (keys: users, items, density, factors, skew, seed)");
                string key = part[..eq].Trim().ToLowerInvariant(), value = part[(eq + 1)..].Trim();
                switch (key)
                {
                    case "users": users = Int(key, value); break;
                    case "items": items = Int(key, value); break;
                    case "factors": factors = Int(key, value); break;
                    case "seed": seed = Int(key, value); break;
                    case "density": density = Double(key, value); break;
                    case "skew": skew = Double(key, value); break;
                    default: throw new DataFormatException($"synthetic-recsys: unknown setting '{key}' (keys: users, items, density, factors, skew, seed)");
                }
            }
        }
        try
        {
            return new SyntheticRecsysOptions(users, items, density, factors, skew, seed);
        }
        catch (InvalidOptionException e)
        {
            // The text is part of a dataset spec, so the error is about the data, in the spec's own keys.
            string key = e.Option == nameof(PopularitySkew) ? "skew" : e.Option.ToLowerInvariant();
            throw new DataFormatException($"synthetic-recsys: {key}: {e.Message}", e);
        }
    }

    private static int Int(string key, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw new DataFormatException($"synthetic-recsys: {key}={value} is not an integer");

    private static double Double(string key, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw new DataFormatException($"synthetic-recsys: {key}={value} is not a number");

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant(
        $"users={Users},items={Items},density={Density},factors={Factors},skew={PopularitySkew},seed={Seed}");
}
