using System.Globalization;

namespace Whittle.Cli.Commands;

/// <summary>Parsing of list-valued option text such as <c>1,64</c> or <c>0.2860,0.3530</c>, and library option errors in CLI spelling.</summary>
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

    /// <summary>
    /// Builds a library options object; a value it refuses becomes a usage error (exit 2) that names
    /// the command-line option (<paramref name="flags"/> maps the library's option names to flags).
    /// </summary>
    public static T Library<T>(Func<T> create, params (string Option, string Flag)[] flags)
    {
        try
        {
            return create();
        }
        catch (InvalidOptionException e)
        {
            var flag = flags.FirstOrDefault(f => string.Equals(f.Option, e.Option, StringComparison.OrdinalIgnoreCase)).Flag;
            throw new UsageException(flag is null ? e.Message : $"{flag}: {e.Message}");
        }
        catch (ArgumentOutOfRangeException e)
        {
            var flag = flags.FirstOrDefault(f => string.Equals(f.Option, e.ParamName, StringComparison.OrdinalIgnoreCase)).Flag ?? e.ParamName;
            throw new UsageException($"{flag}: {e.Message.Split(" (Parameter")[0]} ({e.ActualValue})");
        }
        catch (ArgumentException e)
        {
            var flag = flags.FirstOrDefault(f => string.Equals(f.Option, e.ParamName, StringComparison.OrdinalIgnoreCase)).Flag ?? e.ParamName;
            throw new UsageException(flag is null ? e.Message.Split(" (Parameter")[0] : $"{flag}: {e.Message.Split(" (Parameter")[0]}");
        }
    }
}
