using System.Globalization;

namespace Whittle.Evaluation;

/// <summary>
/// Count, mean, sample standard deviation, minimum and maximum of one metric over repeated
/// runs (e.g. accuracy over seeds), used to report stability as "mean ± std".
/// </summary>
public sealed class SummaryStatistics
{
    /// <summary>Summarizes <paramref name="values"/>.</summary>
    /// <param name="values">One value per run; at least one, none NaN.</param>
    /// <exception cref="ArgumentException"><paramref name="values"/> is empty or holds NaN
    /// (the message names the first NaN's index).</exception>
    public SummaryStatistics(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        double[] array = values.ToArray();
        if (array.Length == 0)
        {
            throw new ArgumentException("values are empty: there is nothing to summarize.", nameof(values));
        }
        int nanIndex = Array.FindIndex(array, double.IsNaN);
        if (nanIndex >= 0)
        {
            throw new ArgumentException($"values[{nanIndex}] is NaN.", nameof(values));
        }

        Count = array.Length;
        Mean = array.Average();
        StandardDeviation = SampleStandardDeviation(array, Mean);
        Minimum = array.Min();
        Maximum = array.Max();
    }

    /// <summary>Number of values.</summary>
    public int Count { get; }

    /// <summary>Arithmetic mean.</summary>
    public double Mean { get; }

    /// <summary>
    /// Sample standard deviation, sqrt(Σ(x − mean)² / (n − 1)) (Bessel's correction, NumPy's
    /// <c>std(ddof=1)</c>). Defined as 0 for a single value, where n − 1 = 0 leaves it undefined.
    /// </summary>
    public double StandardDeviation { get; }

    /// <summary>Smallest value.</summary>
    public double Minimum { get; }

    /// <summary>Largest value.</summary>
    public double Maximum { get; }

    /// <summary>"mean ± std" with both numbers in <paramref name="format"/>, invariant culture, e.g. "0.9123 ± 0.0040".</summary>
    /// <param name="format">A .NET numeric format string applied to both numbers.</param>
    public string Format(string format = "F4")
        => string.Create(CultureInfo.InvariantCulture, $"{Mean.ToString(format, CultureInfo.InvariantCulture)} ± {StandardDeviation.ToString(format, CultureInfo.InvariantCulture)}");

    /// <summary>Same as <see cref="Format(string)"/> with four decimals.</summary>
    public override string ToString() => Format();

    // Two passes (mean first, then squared deviations) rather than Σx² − n·mean², which
    // cancels catastrophically when the runs agree to many digits, the usual case here.
    internal static double SampleStandardDeviation(IReadOnlyCollection<double> values, double mean)
    {
        if (values.Count < 2)
        {
            return 0.0;
        }
        double sumOfSquares = values.Sum(value => (value - mean) * (value - mean));
        return Math.Sqrt(sumOfSquares / (values.Count - 1));
    }
}
