using System.Globalization;
using System.Text;

namespace Whittle.Data;

/// <summary>
/// Reads recommender interactions from a CSV file, one event per line:
/// <c>user,item[,rating][,timestamp]</c> with non-negative integer ids (used as table rows, so
/// 0-based and dense), an optional numeric rating and an optional integer timestamp. A first
/// line whose ids are not numbers is a header. Tabs may separate instead of commas.
/// </summary>
public static class InteractionReader
{
    /// <summary>Reads <paramref name="path"/>; the id ranges are one more than the largest ids.</summary>
    /// <param name="path">The CSV file.</param>
    /// <exception cref="DataFormatException">The file is missing or empty, or a line is malformed (the message names it).</exception>
    public static InteractionData Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var events = new List<Interaction>();
        int columns = -1;
        using var stream = DataFiles.OpenRead(path);
        using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: false));
        int lineNumber = 0;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNumber++;
            if (line.Trim().Length == 0) continue;
            var fields = line.Split(line.Contains('\t') ? '\t' : ',').Select(f => f.Trim()).ToArray();
            if (events.Count == 0 && columns < 0 && fields.Length >= 2 && !long.TryParse(fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
            {
                columns = fields.Length; // a header
                continue;
            }
            if (fields.Length is < 2 or > 4) throw new DataFormatException(path, $"expected user,item[,rating][,timestamp]; found {fields.Length} fields", lineNumber);
            if (columns >= 0 && fields.Length != columns) throw new DataFormatException(path, $"{fields.Length} fields where earlier lines have {columns}", lineNumber);
            columns = fields.Length;
            int user = Id(fields[0], "user", path, lineNumber);
            int item = Id(fields[1], "item", path, lineNumber);
            float? rating = null;
            long? timestamp = null;
            if (fields.Length >= 3)
            {
                if (!float.TryParse(fields[2], NumberStyles.Float, CultureInfo.InvariantCulture, out float r) || !float.IsFinite(r))
                    throw new DataFormatException(path, $"rating '{fields[2]}' is not a number", lineNumber);
                rating = r;
            }
            if (fields.Length == 4)
            {
                if (!long.TryParse(fields[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out long t))
                    throw new DataFormatException(path, $"timestamp '{fields[3]}' is not an integer", lineNumber);
                timestamp = t;
            }
            events.Add(new Interaction(user, item, rating, timestamp));
        }
        if (events.Count == 0) throw new DataFormatException(path, "holds no interactions");
        return new InteractionData(events, events.Max(e => e.User) + 1, events.Max(e => e.Item) + 1, path, $"interactions {Path.GetFileName(path)}");
    }

    private static int Id(string text, string what, string path, int line)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id) || id < 0)
            throw new DataFormatException(path, $"{what} id '{text}' is not a non-negative integer", line);
        // Ids are table rows and travel through float32 features: keep them exact.
        if (id >= 1 << 24) throw new DataFormatException(path, $"{what} id {id} is too large (ids must be dense and below 16,777,216)", line);
        return id;
    }
}
