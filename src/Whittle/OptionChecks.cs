using System.Globalization;

namespace Whittle;

/// <summary>
/// The checks options types run on their values, so every such error reads the same way
/// ("Ratio must be in [0, 1), got 1.5"), names the option as the library spells it, and is an
/// <see cref="InvalidOptionException"/>. Every comparison is written so that NaN fails it.
/// </summary>
internal static class OptionChecks
{
    /// <summary>The error for <paramref name="option"/>: "{option} must be {rule}, got {value}".</summary>
    public static InvalidOptionException Invalid(string option, string rule, object? value) =>
        new(option, $"{option} must be {rule}, got {Format(value)}");

    /// <summary>The value as the messages print it: invariant culture, null as "null".</summary>
    public static string Format(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}'",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>A value of at least 1.</summary>
    public static int Positive(int value, string option) => value >= 1 ? value : throw Invalid(option, "positive", value);

    /// <summary>A value of at least 1.</summary>
    public static long Positive(long value, string option) => value >= 1 ? value : throw Invalid(option, "positive", value);

    /// <summary>A value of at least 0.</summary>
    public static int NonNegative(int value, string option) => value >= 0 ? value : throw Invalid(option, "zero or positive", value);

    /// <summary>A value of at least <paramref name="minimum"/>.</summary>
    public static int AtLeast(int value, int minimum, string option) =>
        value >= minimum ? value : throw Invalid(option, $"at least {minimum.ToString(CultureInfo.InvariantCulture)}", value);

    /// <summary>A finite value above 0.</summary>
    public static double Positive(double value, string option) =>
        value > 0 && double.IsFinite(value) ? value : throw Invalid(option, "positive and finite", value);

    /// <summary>A finite value of at least 0.</summary>
    public static double NonNegative(double value, string option) =>
        value >= 0 && double.IsFinite(value) ? value : throw Invalid(option, "zero or positive and finite", value);

    /// <summary>A finite value.</summary>
    public static double Finite(double value, string option) =>
        double.IsFinite(value) ? value : throw Invalid(option, "finite", value);

    /// <summary>
    /// A value in the interval from <paramref name="minimum"/> to <paramref name="maximum"/>, each end
    /// included or not; the message writes the interval as [a, b), (a, b] and so on.
    /// </summary>
    public static double InRange(double value, string option, double minimum, double maximum, bool includeMinimum = true, bool includeMaximum = false)
    {
        bool above = includeMinimum ? value >= minimum : value > minimum;
        bool below = includeMaximum ? value <= maximum : value < maximum;
        if (above && below) return value;
        var c = CultureInfo.InvariantCulture;
        throw Invalid(option, $"in {(includeMinimum ? "[" : "(")}{minimum.ToString(c)}, {maximum.ToString(c)}{(includeMaximum ? "]" : ")")}", value);
    }

    /// <summary>A named member of the enum (a cast integer that names none is refused).</summary>
    public static T Defined<T>(T value, string option) where T : struct, Enum =>
        Enum.IsDefined(value) ? value : throw Invalid(option, $"one of {string.Join(", ", Enum.GetNames<T>())}", Convert.ToInt64(value, CultureInfo.InvariantCulture));
}
