namespace Whittle.Data;

/// <summary>
/// The single exception type <c>Whittle.Data</c> throws for data it cannot load: a missing,
/// unreadable, truncated, malformed or inconsistent file, or a dataset spec it does not
/// understand. The message names the file (when there is one), the line (when it helps) and
/// the problem in one line, so a command-line tool can print it as is.
/// </summary>
/// <remarks>
/// Mistakes in calls to the API itself (a null argument, a batch size of zero) are reported
/// with the usual <see cref="ArgumentException"/> family instead.
/// </remarks>
public class DataFormatException : WhittleException
{
    /// <summary>Creates the exception with a one-line message.</summary>
    /// <param name="message">The whole message, already naming the file and the problem.</param>
    public DataFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with a one-line message and the underlying cause.</summary>
    /// <param name="message">The whole message, already naming the file and the problem.</param>
    /// <param name="inner">The exception that revealed the problem.</param>
    public DataFormatException(string message, Exception inner) : base(message, inner) { }

    /// <summary>
    /// Creates the exception for a problem in a file; the message reads
    /// <c>"{filePath}: {problem}"</c> or <c>"{filePath}, line {line}: {problem}"</c>.
    /// </summary>
    /// <param name="filePath">The file (or directory) that has the problem.</param>
    /// <param name="problem">What is wrong, as a sentence fragment.</param>
    /// <param name="line">The 1-based line number for text formats, when known.</param>
    /// <param name="inner">The exception that revealed the problem, if any.</param>
    public DataFormatException(string filePath, string problem, int? line = null, Exception? inner = null)
        : base(Format(filePath, problem, line), inner)
    {
        FilePath = filePath;
        Line = line;
    }

    /// <summary>The file (or directory) that has the problem, when the problem is in one.</summary>
    public string? FilePath { get; }

    /// <summary>The 1-based line number in a text file, when the problem is on one line.</summary>
    public int? Line { get; }

    private static string Format(string filePath, string problem, int? line) =>
        line is null ? $"{filePath}: {problem}" : $"{filePath}, line {line}: {problem}";
}
