namespace Whittle.Pruning;

/// <summary>What a weight tensor is to the channels it scores.</summary>
public enum ChannelWeightKind
{
    /// <summary>The weight that produces the channels (a Conv's or Gemm's output-channel rows).</summary>
    ProducerWeight,

    /// <summary>The scale γ of a BatchNormalization over the channels.</summary>
    BatchNormScale,
}

/// <summary>
/// One tensor whose entries along <see cref="Axis"/> belong to the channels being ranked, as an
/// <see cref="IChannelImportanceScorer"/> sees it: numbers and a shape, no graph.
/// </summary>
/// <param name="Initializer">The initializer's name (to tell layers apart).</param>
/// <param name="Kind">A producer's weight or a BatchNorm scale.</param>
/// <param name="Values">The values, row-major.</param>
/// <param name="Shape">The tensor's shape.</param>
/// <param name="Axis">The channel axis: entry i along it belongs to channel i (after concatenations, to the i-th channel of the tied spaces).</param>
/// <param name="Gradients">The accumulated loss gradient of the same shape when the scorer <see cref="IChannelImportanceScorer.NeedsGradients"/>, else null.</param>
public sealed record ChannelWeight(string Initializer, ChannelWeightKind Kind, ReadOnlyMemory<float> Values, IReadOnlyList<long> Shape, int Axis,
    ReadOnlyMemory<float>? Gradients);

/// <summary>
/// A channel-importance rule of your own for structured pruning
/// (<see cref="ChannelPruningOptions.Scorer"/>), used instead of the built-in
/// <see cref="ImportanceCriterion"/>. The pruner policy calls it once per weight tensor of every
/// prunable group and adds up the scores each channel gets from every tensor of its group (its
/// producers' weights and BatchNorm scales, tied layers included); the least important channels
/// are removed. Keep it a pure function of the numbers (<see cref="ChannelImportance"/> has the
/// building blocks), so that the plan stays testable before the graph changes.
/// </summary>
public interface IChannelImportanceScorer
{
    /// <summary>The name plans, reports and the pruned model's metadata give the importance.</summary>
    string Name { get; }

    /// <summary>
    /// Whether <see cref="ChannelWeight.Gradients"/> must be given: pruning then accumulates the loss
    /// gradients over a few batches of the training data first (<see cref="TaylorGradients"/>).
    /// </summary>
    bool NeedsGradients => false;

    /// <summary>
    /// One non-negative, finite score per index along <see cref="ChannelWeight.Axis"/> (so
    /// <c>Shape[Axis]</c> of them), larger meaning more important; or null when this tensor does not
    /// count (a scorer of BatchNorm scales only returns null for producer weights). A group none of
    /// whose tensors count is ranked by L1 instead, with a note in the plan.
    /// </summary>
    double[]? Score(ChannelWeight weight);
}
