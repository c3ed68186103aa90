using System.Globalization;

namespace Whittle.Data;

/// <summary>Which CSV column holds the class labels: the last, one by index or name, or none.</summary>
public sealed class CsvLabelColumn
{
    private CsvLabelColumn(int? index, string? name, bool isNone)
    {
        Index = index;
        Name = name;
        IsNone = isNone;
    }

    /// <summary>The last column holds the labels (the default).</summary>
    public static CsvLabelColumn Last { get; } = new(null, null, isNone: false);

    /// <summary>There is no label column: every column is a feature and the data is unlabeled.</summary>
    public static CsvLabelColumn None { get; } = new(null, null, isNone: true);

    /// <summary>The column at a 0-based index holds the labels.</summary>
    /// <param name="index">0-based column index.</param>
    public static CsvLabelColumn At(int index)
    {
        OptionChecks.NonNegative(index, nameof(CsvOptions.LabelColumn));
        return new(index, null, isNone: false);
    }

    /// <summary>The column with this header name holds the labels (the file then needs a header).</summary>
    /// <param name="name">The column name, matched exactly after trimming spaces.</param>
    public static CsvLabelColumn Named(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (string.IsNullOrWhiteSpace(name)) throw new InvalidOptionException(nameof(CsvOptions.LabelColumn), $"LabelColumn must name a column, got '{name}'");
        return new(null, name.Trim(), isNone: false);
    }

    /// <summary>The 0-based column index, when the column is chosen by index.</summary>
    public int? Index { get; }

    /// <summary>The column name, when the column is chosen by name.</summary>
    public string? Name { get; }

    /// <summary>True when there is no label column.</summary>
    public bool IsNone { get; }

    /// <inheritdoc />
    public override string ToString() =>
        IsNone ? "none" : Name is not null ? $"'{Name}'" : Index is int i ? $"column {i.ToString(CultureInfo.InvariantCulture)}" : "last column";
}
