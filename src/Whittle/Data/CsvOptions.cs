namespace Whittle.Data;

/// <summary>How <see cref="CsvFile.Load"/> reads a CSV file. Immutable; validated when made.</summary>
public sealed class CsvOptions
{
    /// <summary>Creates CSV options; every argument is checked here.</summary>
    /// <param name="delimiter">The cell separator, e.g. ',', ';' or '\t'; not a quote or line break.</param>
    /// <param name="header">Whether the first row is a header.</param>
    /// <param name="labelColumn">Which column holds the labels; null for the last column.</param>
    public CsvOptions(char delimiter = ',', CsvHeader header = CsvHeader.Detect, CsvLabelColumn? labelColumn = null)
    {
        if (delimiter is '"' or '\r' or '\n')
            throw OptionChecks.Invalid(nameof(Delimiter), "neither a quote nor a line break", delimiter == '"' ? "\"" : delimiter == '\r' ? "\\r" : "\\n");
        OptionChecks.Defined(header, nameof(Header));
        labelColumn ??= CsvLabelColumn.Last;
        if (labelColumn.Name is not null && header == CsvHeader.Absent)
            throw new InvalidOptionException(nameof(LabelColumn), $"LabelColumn is chosen by name ({labelColumn}), but Header says the file has none");
        Delimiter = delimiter;
        Header = header;
        LabelColumn = labelColumn;
    }

    /// <summary>Comma-separated, header detected, labels in the last column.</summary>
    public static CsvOptions Default { get; } = new();

    /// <summary>The cell separator.</summary>
    public char Delimiter { get; }

    /// <summary>Whether the first row is a header.</summary>
    public CsvHeader Header { get; }

    /// <summary>Which column holds the labels.</summary>
    public CsvLabelColumn LabelColumn { get; }
}
