namespace Whittle;

/// <summary>
/// Where a long job is: the stage it is in (calibrating, profiling, fine-tuning epoch 2/3, ...)
/// and how far that stage has got. A job reports a new stage with <see cref="Done"/> 0 and the
/// same stage again as it advances, so a front end can draw one progress bar per stage.
/// </summary>
/// <param name="Stage">What the job is doing, as a short phrase.</param>
/// <param name="Done">Units of the stage done.</param>
/// <param name="Total">Units of the stage in all (at least 1).</param>
/// <param name="Detail">The latest figures of the stage (e.g. loss and accuracy after an epoch), or null.</param>
/// <param name="Finished">True on the stage's last report, whose <paramref name="Detail"/> is its result (e.g. the epoch's validation accuracy).</param>
public sealed record JobProgress(string Stage, double Done, double Total, string? Detail = null, bool Finished = false);
