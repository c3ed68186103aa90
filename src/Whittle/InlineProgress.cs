namespace Whittle;

/// <summary>
/// An <see cref="IProgress{T}"/> that calls its handler at once on the reporting thread (unlike
/// <see cref="Progress{T}"/>, which posts to a captured context): what a console program or a
/// job forwarding its stages needs.
/// </summary>
/// <typeparam name="T">The report type.</typeparam>
/// <param name="report">Called with every report.</param>
public sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    /// <inheritdoc />
    public void Report(T value) => report(value);
}
