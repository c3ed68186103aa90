using System.Globalization;
using System.Text;

namespace Whittle.Data;

/// <summary>
/// Loads a CSV file of numeric feature columns and one label column into a
/// <see cref="TensorDataset"/> of flat samples [features].
/// </summary>
/// <remarks>
/// <para>
/// Cells are trimmed; double-quoted cells (with <c>""</c> for a quote) may contain the
/// delimiter; blank lines are skipped. Feature cells must be finite numbers in invariant
/// culture (a dot for decimals), because a NaN or empty cell would otherwise surface much
/// later as a diverging loss.
/// </para>
/// <para>
/// Labels that are all non-negative integers are class indices (so labels 1..10 make 11
/// classes, class 0 empty). Any other labels are class names: the distinct values sorted
/// (numerically when they are all integers, as for -1/1, otherwise ordinally) become classes
/// 0, 1, ..., and the names are kept in <see cref="TensorDataset.ClassNames"/>.
/// </para>
/// </remarks>
public static class CsvFile
{
    /// <summary>Loads <paramref name="path"/> with the given options (comma, header detected, labels last by default).</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="options">How to read it; null for <see cref="CsvOptions.Default"/>.</param>
    /// <param name="preprocessing">Applied while loading, in the loaded array itself (no second copy); null to keep the raw values.</param>
    /// <exception cref="DataFormatException">
    /// The file is missing or empty, a row has the wrong number of columns, a feature cell is not
    /// a finite number, or the label column does not exist; the message gives the line number.
    /// </exception>
    public static TensorDataset Load(string path, CsvOptions? options = null, Preprocessing? preprocessing = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= CsvOptions.Default;
        using var reader = new StreamReader(DataFiles.OpenRead(path), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);

        var features = new List<float>();
        var labelCells = new List<string>();
        var labelLines = new List<int>();
        var cells = new List<Range>();
        string[]? columnNames = null;
        int labelIndex = -1, firstRowLine = 0, lineNumber = 0;
        string? line;
        while ((line = ReadLine(reader, path)) is not null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string text = SplitCells(line, options.Delimiter, cells, path, lineNumber);

            if (columnNames is null)
            {
                firstRowLine = lineNumber;
                bool isHeader = IsHeader(text, cells, options, path);
                columnNames = isHeader
                    ? cells.Select(r => text[r].Trim()).ToArray()
                    : Enumerable.Range(1, cells.Count).Select(i => $"column {i}").ToArray();
                labelIndex = ResolveLabelColumn(options.LabelColumn, columnNames, isHeader, path, lineNumber);
                if (columnNames.Length - (labelIndex >= 0 ? 1 : 0) == 0)
                    throw new DataFormatException(path, $"has no feature columns: its only column is the label column", lineNumber);
                if (isHeader) continue;
            }

            if (cells.Count != columnNames.Length)
                throw new DataFormatException(path, $"{cells.Count} columns, expected {columnNames.Length} as on line {firstRowLine}", lineNumber);
            for (int c = 0; c < cells.Count; c++)
            {
                ReadOnlySpan<char> cell = text.AsSpan(cells[c]).Trim();
                if (c == labelIndex)
                {
                    if (cell.IsEmpty) throw new DataFormatException(path, $"the label in column {c + 1} ('{columnNames[c]}') is empty", lineNumber);
                    labelCells.Add(cell.ToString());
                    labelLines.Add(lineNumber);
                }
                else
                {
                    features.Add(ParseFeature(cell, c, columnNames[c], path, lineNumber));
                }
            }
        }

        if (columnNames is null) throw new DataFormatException(path, "the file is empty");
        int rows = labelIndex >= 0 ? labelCells.Count : features.Count / Math.Max(1, columnNames.Length);
        if (rows == 0) throw new DataFormatException(path, "has a header but no data rows");

        int featureCount = columnNames.Length - (labelIndex >= 0 ? 1 : 0);
        if (labelIndex < 0) return new TensorDataset(features.ToArray(), [featureCount]).PreprocessFresh(preprocessing);
        var (labels, classNames) = EncodeLabels(labelCells);
        return new TensorDataset(features.ToArray(), [featureCount], labels, classNames: classNames).PreprocessFresh(preprocessing);
    }

    private static string? ReadLine(StreamReader reader, string path)
    {
        try
        {
            return reader.ReadLine();
        }
        catch (IOException e)
        {
            throw new DataFormatException(path, $"cannot be read: {e.Message}", inner: e);
        }
    }

    private static bool IsHeader(string text, List<Range> cells, CsvOptions options, string path)
    {
        if (options.Header == CsvHeader.Present) return true;
        if (options.Header == CsvHeader.Absent) return false;
        if (options.LabelColumn.Name is not null) return true;
        int labelIndex = options.LabelColumn.IsNone ? -1 : options.LabelColumn.Index ?? cells.Count - 1;
        // A header only when no feature cell of the first row is a number: one odd cell among
        // numbers is a data error, not a header, and silently dropping the row would hide it.
        var text_ = text;
        var features = Enumerable.Range(0, cells.Count).Where(c => c != labelIndex).ToList();
        var words = features.Where(c => !TryParseFeature(text_.AsSpan(cells[c]).Trim(), out _)).ToList();
        if (words.Count == 0) return false;
        if (words.Count == features.Count) return true;
        throw new DataFormatException(path, $"the first row mixes numbers and text (column {words[0]} is '{text_[cells[words[0]]].Trim()}'), so it is neither clearly a header nor data; " +
            "fix the cell, or say which it is (CsvHeader.Present / Absent; the CLI's --csv-header present|absent)", 1);
    }

    private static int ResolveLabelColumn(CsvLabelColumn column, string[] columnNames, bool hasHeader, string path, int lineNumber)
    {
        if (column.IsNone) return -1;
        if (column.Name is not null)
        {
            int found = Array.IndexOf(columnNames, column.Name);
            if (found < 0)
                throw new DataFormatException(path, $"no label column named '{column.Name}'; the header has {string.Join(", ", columnNames.Select(n => $"'{n}'"))}", lineNumber);
            return found;
        }
        if (column.Index is int index)
        {
            if (index >= columnNames.Length)
                throw new DataFormatException(path, $"label column {index} (0-based) does not exist: the {(hasHeader ? "header" : "first row")} has {columnNames.Length} columns", lineNumber);
            return index;
        }
        return columnNames.Length - 1;
    }

    private static float ParseFeature(ReadOnlySpan<char> cell, int column, string columnName, string path, int lineNumber)
    {
        if (TryParseFeature(cell, out float value)) return value;
        string problem = cell.IsEmpty
            ? $"column {column + 1} ('{columnName}') is empty; feature cells must be numbers"
            : $"column {column + 1} ('{columnName}') is '{cell}', not a finite number";
        throw new DataFormatException(path, problem, lineNumber);
    }

    private static bool TryParseFeature(ReadOnlySpan<char> cell, out float value) =>
        float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && float.IsFinite(value);

    private static (int[] Labels, string[]? ClassNames) EncodeLabels(List<string> cells)
    {
        long[] integers = new long[cells.Count];
        bool allIntegers = true, anyNegative = false;
        for (int i = 0; i < cells.Count && allIntegers; i++)
        {
            // Accepting "3.0" as 3 matters because pandas writes integer labels that way
            // whenever the column once held a missing value.
            allIntegers = double.TryParse(cells[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
                && value == Math.Floor(value) && value is >= int.MinValue and <= int.MaxValue;
            if (allIntegers)
            {
                integers[i] = (long)value;
                anyNegative |= value < 0;
            }
        }

        if (allIntegers && !anyNegative) return (integers.Select(v => (int)v).ToArray(), null);

        string[] keys = allIntegers ? integers.Select(v => v.ToString(CultureInfo.InvariantCulture)).ToArray() : cells.ToArray();
        string[] names = allIntegers
            ? integers.Distinct().Order().Select(v => v.ToString(CultureInfo.InvariantCulture)).ToArray()
            : keys.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var indexOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++) indexOf[names[i]] = i;
        return (keys.Select(k => indexOf[k]).ToArray(), names);
    }

    // Returns the text the ranges index into: the line itself when it has no quotes (the
    // common case, so no per-cell strings are made), else the unquoted cells concatenated.
    private static string SplitCells(string line, char delimiter, List<Range> cells, string path, int lineNumber)
    {
        cells.Clear();
        if (!line.Contains('"'))
        {
            int start = 0;
            while (true)
            {
                int end = line.IndexOf(delimiter, start);
                if (end < 0)
                {
                    cells.Add(start..line.Length);
                    return line;
                }
                cells.Add(start..end);
                start = end + 1;
            }
        }

        var text = new StringBuilder(line.Length);
        int cellStart = 0;
        bool inQuotes = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (ch == '"')
            {
                if (inQuotes && i + 1 < line.Length && line[i + 1] == '"')
                {
                    text.Append('"');
                    i++;
                }
                else
                {
                    inQuotes = !inQuotes;
                }
            }
            else if (ch == delimiter && !inQuotes)
            {
                cells.Add(cellStart..text.Length);
                cellStart = text.Length;
            }
            else
            {
                text.Append(ch);
            }
        }
        if (inQuotes) throw new DataFormatException(path, "a quoted cell is not closed", lineNumber);
        cells.Add(cellStart..text.Length);
        return text.ToString();
    }
}
