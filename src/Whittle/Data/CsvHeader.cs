namespace Whittle.Data;

/// <summary>Whether the first row of a CSV file is a header of column names.</summary>
public enum CsvHeader
{
    /// <summary>
    /// A header when any feature cell of the first row is not a number, or always when the
    /// label column is chosen by name.
    /// </summary>
    Detect,

    /// <summary>The first row is a header.</summary>
    Present,

    /// <summary>There is no header; the first row is data.</summary>
    Absent,
}
