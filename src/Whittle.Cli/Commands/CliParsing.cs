using System.Globalization;

namespace Whittle.Cli.Commands;

/// <summary>Parsing of list-valued option text such as <c>1,64</c> or <c>0.2860,0.3530</c>.</summary>
internal static class CliParsing
{
    public static int[] PositiveInts(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new UsageException($"{option}: expected a comma-separated list of positive integers, got '{text}'");
        return parts.Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : throw new UsageException($"{option}: '{p}' is not a positive integer")).ToArray();
    }

    public static float[] Floats(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new UsageException($"{option}: expected comma-separated numbers, got '{text}'");
        return parts.Select(p => float.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && float.IsFinite(v)
            ? v
            : throw new UsageException($"{option}: '{p}' is not a number")).ToArray();
    }
}
