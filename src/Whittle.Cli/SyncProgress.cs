namespace Whittle.Cli;

/// <summary>
/// An <see cref="IProgress{T}"/> that reports synchronously on the working thread.
/// <see cref="Progress{T}"/> posts to the thread pool, so a progress bar would lag behind the work.
/// </summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
