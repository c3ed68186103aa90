namespace Whittle.Pruning;

/// <summary>
/// Which channels a tensor value carries along its channel axis: a concatenation of whole
/// channel spaces (each created by one producer — a Conv's filters, a Gemm's features — or
/// tied to others by a residual Add), each channel occupying <see cref="Block"/> consecutive
/// positions (1, or H·W after a Flatten of [N, C, H, W]).
/// </summary>
/// <param name="Rank">The value's rank.</param>
/// <param name="Axis">The channel axis (1 for [N, C, ...]; the last axis for MatMul features).</param>
/// <param name="Spaces">The channel spaces, in order along the axis.</param>
/// <param name="Block">Positions per channel.</param>
internal sealed record ChannelLayout(int Rank, int Axis, IReadOnlyList<int> Spaces, long Block)
{
    /// <summary>A value that is exactly one space.</summary>
    public static ChannelLayout Single(int rank, int axis, int space) => new(rank, axis, [space], 1);

    /// <summary>True when the two layouts have the same rank, axis and block and the same number of spaces.</summary>
    public bool SameStructure(ChannelLayout other) =>
        Rank == other.Rank && Axis == other.Axis && Block == other.Block && Spaces.Count == other.Spaces.Count;
}

/// <summary>One channel space: the output channels of a producer node, or of a graph input.</summary>
internal sealed class ChannelSpace(int id, int size, string origin, string producerNode, string producerOp)
{
    public int Id { get; } = id;

    public int Size { get; } = size;

    /// <summary>Where the channels come from, for the plan ("layer1.0.conv1 (Conv) output channels").</summary>
    public string Origin { get; } = origin;

    /// <summary>The producer node's name ("" for graph inputs).</summary>
    public string ProducerNode { get; } = producerNode;

    /// <summary>The producer's operator type.</summary>
    public string ProducerOp { get; } = producerOp;

    /// <summary>Why this space must keep every channel; empty when it may be pruned.</summary>
    public List<string> Unprunable { get; } = [];
}

/// <summary>An initializer axis that follows a layout: the slicer's record of what to cut.</summary>
/// <param name="Initializer">The tensor.</param>
/// <param name="Axis">Its axis indexed by the layout's positions.</param>
/// <param name="Layout">The layout whose kept positions survive.</param>
/// <param name="Node">The node that reads the tensor.</param>
/// <param name="Role">Importance role: a producer's weight, a BatchNorm scale, or only sliced.</param>
internal sealed record TensorSlice(string Initializer, int Axis, ChannelLayout Layout, string Node, SliceRole Role);

/// <summary>What a sliced tensor contributes to channel importance.</summary>
internal enum SliceRole
{
    /// <summary>Only cut (consumer weights, biases, BN statistics, constants).</summary>
    Sliced,

    /// <summary>The weight that produces the channels (its entries along the axis score the channel).</summary>
    ProducerWeight,

    /// <summary>A BatchNormalization scale γ.</summary>
    BatchNormScale,
}

/// <summary>A node attribute or shape constant that depends on how many channels a layout keeps.</summary>
internal abstract record AttributeEdit(string Node)
{
    /// <summary>Describes the edit for the plan.</summary>
    public abstract string Describe(Func<ChannelLayout, long> keptPositions);
}

/// <summary>A depthwise Conv's <c>group</c> follows its channel count.</summary>
internal sealed record GroupEdit(string Node, ChannelLayout Layout) : AttributeEdit(Node)
{
    public override string Describe(Func<ChannelLayout, long> kept) => $"{Node}: group = {kept(Layout)}";
}

/// <summary>A Split along the channel axis gets its new sizes.</summary>
internal sealed record SplitEdit(string Node, IReadOnlyList<ChannelLayout> Outputs, string? SizesInitializer) : AttributeEdit(Node)
{
    public override string Describe(Func<ChannelLayout, long> kept) => $"{Node}: split = [{string.Join(",", Outputs.Select(kept))}]";
}

/// <summary>A flattening Reshape's explicit feature count follows the kept positions.</summary>
internal sealed record ReshapeEdit(string Node, string ShapeValue, int Index, ChannelLayout Layout) : AttributeEdit(Node)
{
    public override string Describe(Func<ChannelLayout, long> kept) => $"{Node}: shape[{Index}] = {kept(Layout)}";
}
