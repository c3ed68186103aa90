using Whittle.Onnx;

namespace Whittle.Pruning;

/// <summary>
/// A per-op channel slicer: knows how channels flow through one ONNX operator family and which of
/// its initializer axes (and attributes) follow them. Slicers only record; nothing is cut until
/// a <see cref="ChannelPruningPlan"/> is applied.
/// </summary>
internal interface IChannelSlicer
{
    /// <summary>Reads the layouts of the node's inputs, records slices and edits, sets the layouts of its outputs (or marks what it cannot prove).</summary>
    void Trace(OnnxNode node, ChannelDependencyGraph g);
}

/// <summary>The slicer registry by operator type (default ONNX domain).</summary>
internal static class ChannelSlicers
{
    private static readonly Dictionary<string, IChannelSlicer> ByOp = Build();

    public static IChannelSlicer? Find(string opType) => ByOp.GetValueOrDefault(opType);

    /// <summary>Operator types with a slicer, for the docs.</summary>
    public static IEnumerable<string> Supported => ByOp.Keys.Order(StringComparer.Ordinal);

    private static Dictionary<string, IChannelSlicer> Build()
    {
        var map = new Dictionary<string, IChannelSlicer>(StringComparer.Ordinal)
        {
            ["Conv"] = new ConvSlicer(),
            ["ConvTranspose"] = new ConvTransposeSlicer(),
            ["Gemm"] = new GemmSlicer(),
            ["MatMul"] = new MatMulSlicer(),
            ["BatchNormalization"] = new NormalizationSlicer(),
            ["InstanceNormalization"] = new NormalizationSlicer(),
            ["Concat"] = new ConcatSlicer(),
            ["Split"] = new SplitSlicer(),
            ["Flatten"] = new FlattenSlicer(),
            ["Reshape"] = new ReshapeSlicer(),
        };
        var channelwise = new ChannelwiseSlicer();
        foreach (var op in ChannelwiseSlicer.Ops) map[op] = channelwise;
        var elementwise = new ElementwiseSlicer();
        foreach (var op in ElementwiseSlicer.Ops) map[op] = elementwise;
        var reduction = new ReductionSlicer();
        foreach (var op in ReductionSlicer.Ops) map[op] = reduction;
        return map;
    }
}

/// <summary>Conv: input channels cut along weight axis 1; output filters (weight axis 0, bias) open a new space. Depthwise passes channels through.</summary>
internal sealed class ConvSlicer : IChannelSlicer
{
    public void Trace(OnnxNode node, ChannelDependencyGraph g)
    {
        var x = g.LayoutOf(node.Inputs[0]);
        var w = g.Initializer(node.Inputs.Count > 1 ? node.Inputs[1] : "");
        string? bias = node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? node.Inputs[2] : null;
        if (w is null || w.Dims.Length < 3 || (bias is not null && g.Initializer(bias) is null))
        {
            g.MarkInputs(node, $"{ChannelDependencyGraph.Describe(node)}: weight or bias is not an initializer");
            return;
        }
        g.CountMacs(node, w.Name, node.Outputs[0]);
        long groups = node.GetInt("group", 1);
        int outChannels = (int)w.Dims[0];
        long inChannels = w.Dims[1] * groups;
        if (groups == 1)
        {
            if (x is not null && x.Axis == 1 && x.Block == 1 && g.Size(x) == inChannels) g.Slice(w.Name, 1, x, node);
            else if (x is not null) g.MarkLayout(x, $"{ChannelDependencyGraph.Describe(node)}: input channels do not match the weight");
            int space = g.NewSpace(outChannels, $"{node.DisplayName} (Conv) output channels", node.DisplayName, node.OpType);
            var y = ChannelLayout.Single(g.ShapeOf(node.Outputs[0])?.Length ?? 4, 1, space);
            g.Slice(w.Name, 0, y, node, SliceRole.ProducerWeight);
            if (bias is not null) g.Slice(bias, 0, y, node);
            g.SetLayout(node.Outputs[0], y);
            return;
        }
        if (groups == inChannels && outChannels == inChannels && x is not null && x.Axis == 1 && x.Block == 1 && g.Size(x) == inChannels)
        {
            // Depthwise, one filter per channel: output channel c is input channel c.
            g.Slice(w.Name, 0, x, node, SliceRole.ProducerWeight);
            if (bias is not null) g.Slice(bias, 0, x, node);
            g.Edit(new GroupEdit(node.DisplayName, x));
            g.SetLayout(node.Outputs[0], x);
            return;
        }
        var reason = $"{ChannelDependencyGraph.Describe(node)}: grouped convolution (group={groups}, {inChannels} -> {outChannels} channels) ties channels in blocks";
        if (x is not null) g.MarkLayout(x, reason);
        int opaque = g.NewSpace(outChannels, $"{node.DisplayName} (Conv) output channels", node.DisplayName, node.OpType);
        var layout = ChannelLayout.Single(4, 1, opaque);
        g.MarkLayout(layout, reason);
        g.SetLayout(node.Outputs[0], layout);
    }
}

/// <summary>ConvTranspose (group 1): input channels along weight axis 0, output channels along weight axis 1 and the bias.</summary>
internal sealed class ConvTransposeSlicer : IChannelSlicer
{
    public void Trace(OnnxNode node, ChannelDependencyGraph g)
    {
        var x = g.LayoutOf(node.Inputs[0]);
        var w = g.Initializer(node.Inputs.Count > 1 ? node.Inputs[1] : "");
        string? bias = node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? node.Inputs[2] : null;
        if (w is null || w.Dims.Length < 3 || node.GetInt("group", 1) != 1 || (bias is not null && g.Initializer(bias) is null))
        {
            g.MarkInputs(node, $"{ChannelDependencyGraph.Describe(node)}: only group-1 ConvTranspose with initializer weights is sliced");
            return;
        }
        g.CountMacs(node, w.Name, node.Outputs[0]);
        if (x is not null && x.Axis == 1 && x.Block == 1 && g.Size(x) == w.Dims[0]) g.Slice(w.Name, 0, x, node);
        else if (x is not null) g.MarkLayout(x, $"{ChannelDependencyGraph.Describe(node)}: input channels do not match the weight");
        int space = g.NewSpace((int)w.Dims[1], $"{node.DisplayName} (ConvTranspose) output channels", node.DisplayName, node.OpType);
        var y = ChannelLayout.Single(g.ShapeOf(node.Outputs[0])?.Length ?? 4, 1, space);
        g.Slice(w.Name, 1, y, node, SliceRole.ProducerWeight);
        if (bias is not null) g.Slice(bias, 0, y, node);
        g.SetLayout(node.Outputs[0], y);
    }
}

/// <summary>Gemm (transA = 0): input features cut along B's K axis (in blocks after a Flatten); output features open a new space (B's N axis, C).</summary>
internal sealed class GemmSlicer : IChannelSlicer
{
    public void Trace(OnnxNode node, ChannelDependencyGraph g)
    {
        var a = g.LayoutOf(node.Inputs[0]);
        var b = g.Initializer(node.Inputs.Count > 1 ? node.Inputs[1] : "");
        var cName = node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? node.Inputs[2] : null;
        var c = cName is null ? null : g.Initializer(cName);
        if (b is null || b.Dims.Length != 2 || node.GetInt("transA", 0) != 0 || (cName is not null && c is null))
        {
            g.MarkInputs(node, $"{ChannelDependencyGraph.Describe(node)}: weight or bias is not an initializer, or transA is set");
            return;
        }
        g.CountMacs(node, b.Name, node.Outputs[0]);
        bool transB = node.GetInt("transB", 0) != 0;
        long k = transB ? b.Dims[1] : b.Dims[0];
        int n = (int)(transB ? b.Dims[0] : b.Dims[1]);
        if (a is not null && a.Rank == 2 && a.Axis == 1 && g.Size(a) * a.Block == k) g.Slice(b.Name, transB ? 1 : 0, a, node);
        else if (a is not null) g.MarkLayout(a, $"{ChannelDependencyGraph.Describe(node)}: input features ({(a.Rank == 2 ? g.Size(a) * a.Block : -1)}) cannot be matched to the weight's {k}");
        int space = g.NewSpace(n, $"{node.DisplayName} (Gemm) output features", node.DisplayName, node.OpType);
        var y = ChannelLayout.Single(2, 1, space);
        g.Slice(b.Name, transB ? 0 : 1, y, node, SliceRole.ProducerWeight);
        if (c is not null)
        {
            if (c.Dims.Length >= 1 && c.Dims[^1] == n && c.ElementCount == n) g.Slice(c.Name, c.Dims.Length - 1, y, node);
            else if (c.ElementCount != 1) g.MarkLayout(y, $"{ChannelDependencyGraph.Describe(node)}: bias C of shape [{string.Join(",", c.Dims)}] is not per feature");
        }
        g.SetLayout(node.Outputs[0], y);
    }
}

/// <summary>MatMul with an initializer B [K, N]: A's last axis is cut along K; the output's last axis is a new space.</summary>
internal sealed class MatMulSlicer : IChannelSlicer
{
    public void Trace(OnnxNode node, ChannelDependencyGraph g)
    {
        var a = g.LayoutOf(node.Inputs[0]);
        var b = g.Initializer(node.Inputs[1]);
        var shape = g.ShapeOf(node.Outputs[0]);
        if (b is null || b.Dims.Length != 2 || shape is null || g.LayoutOf(node.Inputs[1]) is not null)
        {
            g.MarkInputs(node, $"{ChannelDependencyGraph.Describe(node)}: only a MatMul by a [K,N] initializer is sliced");
            return;
        }
        g.CountMacs(node, b.Name, node.Outputs[0]);
        if (a is not null && a.Axis == a.Rank - 1 && g.Size(a) * a.Block == b.Dims[0]) g.Slice(b.Name, 0, a, node);
        else if (a is not null) g.MarkLayout(a, $"{ChannelDependencyGraph.Describe(node)}: the reduced axis is not the channel axis");
        int space = g.NewSpace((int)b.Dims[1], $"{node.DisplayName} (MatMul) output features", node.DisplayName, node.OpType);
        var y = ChannelLayout.Single(shape.Length, shape.Length - 1, space);
        g.Slice(b.Name, 1, y, node, SliceRole.ProducerWeight);
        g.SetLayout(node.Outputs[0], y);
    }
}

/// <summary>BatchNormalization / InstanceNormalization: per-channel parameters follow the input's channels; the output keeps them.</summary>
internal sealed class NormalizationSlicer : IChannelSlicer
{
    public void Trace(OnnxNode node, ChannelDependencyGraph g)
    {
        var x = g.LayoutOf(node.Inputs[0]);
        if (x is null) return;
        var parameters = node.Inputs.Skip(1).Where(i => i.Length > 0).ToList();
        if (x.Axis != 1 || x.Block != 1 || parameters.Any(p => g.Initializer(p) is not { } t || t.Dims.Length != 1 || t.Dims[0] != g.Size(x)))
        {
            g.MarkLayout(x, $"{ChannelDependencyGraph.Describe(node)}: parameters are not per-channel initializers");
            return;
        }
        for (int i = 0; i < parameters.Count; i++)
            g.Slice(parameters[i], 0, x, node, i == 0 && node.OpType == "BatchNormalization" ? SliceRole.BatchNormScale : SliceRole.Sliced);
        g.SetLayout(node.Outputs[0], x);
    }
}

/// <summary>Ops that act on each channel alone (activations, pooling, dropout, casts): the output has the input's channels.</summary>
internal sealed class ChannelwiseSlicer : IChannelSlicer
{
    public static readonly string[] Ops =
    [
        "Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Elu", "Selu", "Celu", "Softplus", "Softsign", "Mish",
        "ThresholdedRelu", "Gelu", "Erf", "Abs", "Neg", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round", "Sign",
        "Identity", "Dropout", "Cast", "Clip", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool",
    ];

    public void Trace(OnnxNode node, ChannelDependencyGraph g)
    {
        var x = g.LayoutOf(node.Inputs[0]);
        if (x is null) return;
        // Clip's min/max are scalars; anything else read by these ops is not per channel.
        foreach (var extra in node.Inputs.Skip(1).Where(i => i.Length > 0))
        {
            if (g.Constant(extra) is { } t && t.ElementCount == 1) continue;
            g.MarkLayout(x, $"{ChannelDependencyGraph.Describe(node)}: input '{extra}' is not a scalar constant");
            return;
        }
        if (x.Block != 1 && node.OpType.Contains("Pool", StringComparison.Ordinal))
        {
            g.MarkLayout(x, $"{ChannelDependencyGraph.Describe(node)}: pooling a flattened value");
            return;
        }
        g.SetLayout(node.Outputs[0], x);
    }
}

/// <summary>
/// Broadcasting element-wise ops: channel values are tied channel for channel (a residual Add
/// prunes all its branches together); per-channel constants are cut; scalars pass.
/// </summary>
internal sealed class ElementwiseSlicer : IChannelSlicer
{
    public static readonly string[] Ops = ["Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "Pow", "PRelu"];

    public void Trace(OnnxNode node, ChannelDependencyGraph g)
    {
        var inputs = node.Inputs.Where(i => i.Length > 0).ToList();
        var layouts = inputs.Select(g.LayoutOf).Where(l => l is not null).Select(l => l!).ToList();
        if (layouts.Count == 0) return;
        var first = layouts[0];
        string who = ChannelDependencyGraph.Describe(node);
        foreach (var other in layouts.Skip(1))
        {
            if (!g.Unite(first, other))
            {
                foreach (var l in layouts) g.MarkLayout(l, $"{who}: operands carry different channel layouts");
                return;
            }
        }
        var outShape = g.ShapeOf(node.Outputs[0]);
        foreach (var name in inputs.Where(i => g.LayoutOf(i) is null))
        {
            var constant = g.Constant(name);
            if (constant is not null && constant.ElementCount == 1) continue;
            if (constant is null || outShape is null)
            {
                foreach (var l in layouts) g.MarkLayout(l, $"{who}: operand '{name}' is neither a traced value nor a constant");
                return;
            }
            var dims = constant.Dims;
            int axis = first.Axis - (outShape.Length - dims.Length);
            if (axis < 0 || dims[axis] == 1) continue;
            if (dims[axis] == g.Size(first) * first.Block && g.Initializer(name) is not null) g.Slice(name, axis, first, node);
            else
            {
                foreach (var l in layouts) g.MarkLayout(l, $"{who}: constant '{name}' of shape [{string.Join(",", dims)}] cannot be cut along the channels");
                return;
            }
        }
        if (outShape is not null && outShape.Length != first.Rank)
        {
            foreach (var l in layouts) g.MarkLayout(l, $"{who}: broadcasting changes the rank");
            return;
        }
        g.SetLayout(node.Outputs[0], first);
    }
}

/// <summary>Concat along the channel axis joins layouts (channel offsets follow); along another axis it ties them.</summary>
internal sealed class ConcatSlicer : IChannelSlicer
{
    public void Trace(OnnxNode node, ChannelDependencyGraph g)
    {
        var inputs = node.Inputs.Where(i => i.Length > 0).ToList();
        var layouts = inputs.Select(g.LayoutOf).ToList();
        string who = ChannelDependencyGraph.Describe(node);
        if (layouts.All(l => l is null)) return;
        if (layouts.Any(l => l is null))
        {
            foreach (var l in layouts.Where(l => l is not null)) g.MarkLayout(l!, $"{who}: joins traced channels with an untraced value");
            return;
        }
        var first = layouts[0]!;
        long axis = node.GetInt("axis");
        if (axis < 0) axis += first.Rank;
        if (axis == first.Axis)
        {
            if (layouts.Any(l => l!.Rank != first.Rank || l.Axis != first.Axis || l.Block != first.Block))
            {
                foreach (var l in layouts) g.MarkLayout(l!, $"{who}: inputs differ in rank or block");
                return;
            }
            g.SetLayout(node.Outputs[0], first with { Spaces = layouts.SelectMany(l => l!.Spaces).ToList() });
            return;
        }
        foreach (var other in layouts.Skip(1))
        {
            if (!g.Unite(first, other!))
            {
                foreach (var l in layouts) g.MarkLayout(l!, $"{who}: inputs carry different channel layouts");
                return;
            }
        }
        g.SetLayout(node.Outputs[0], first);
    }
}

/// <summary>Split along the channel axis where every piece is made of whole channel spaces; its sizes are rewritten.</summary>
internal sealed class SplitSlicer : IChannelSlicer
{
    public void Trace(OnnxNode node, ChannelDependencyGraph g)
    {
        var x = g.LayoutOf(node.Inputs[0]);
        if (x is null) return;
        string who = ChannelDependencyGraph.Describe(node);
        long axis = node.GetInt("axis", 0);
        if (axis < 0) axis += x.Rank;
        if (axis != x.Axis)
        {
            foreach (var o in node.Outputs) g.SetLayout(o, x);
            return;
        }
        string? sizesName = node.Inputs.Count > 1 && node.Inputs[1].Length > 0 ? node.Inputs[1] : null;
        var sizes = node.Outputs.Select(o => g.ShapeOf(o) is { } s && s.Length > axis ? s[axis] : -1).ToList();
        if (sizes.Any(s => s < 0) || (sizesName is not null && g.Initializer(sizesName) is null))
        {
            g.MarkLayout(x, $"{who}: split sizes are not known constants");
            return;
        }
        var pieces = new List<ChannelLayout>();
        int next = 0;
        foreach (var size in sizes)
        {
            var spaces = new List<int>();
            long covered = 0;
            while (covered < size && next < x.Spaces.Count)
            {
                covered += g.Size(x with { Spaces = [x.Spaces[next]] }) * x.Block;
                spaces.Add(x.Spaces[next++]);
            }
            if (covered != size || spaces.Count == 0)
            {
                g.MarkLayout(x, $"{who}: a split boundary falls inside the channels of one producer");
                return;
            }
            pieces.Add(x with { Spaces = spaces });
        }
        for (int i = 0; i < pieces.Count; i++) g.SetLayout(node.Outputs[i], pieces[i]);
        g.Edit(new SplitEdit(node.DisplayName, pieces, sizesName));
        if (sizesName is not null) g.Slice(sizesName, -1, x, node); // marks the sizes initializer as edited (checked for sharing)
    }
}

/// <summary>
/// Reductions over axes other than the channel axis (a TextCNN's max over time, a global mean):
/// each channel is reduced alone, so the output keeps the channels, on an axis that moves down by
/// the reduced axes before it when the dims are not kept. A reduction over the channel axis, over
/// all axes, or with computed axes is not provable.
/// </summary>
internal sealed class ReductionSlicer : IChannelSlicer
{
    public static readonly string[] Ops = ["ReduceMax", "ReduceMin", "ReduceMean", "ReduceSum", "ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceProd", "ReduceSumSquare"];

    public void Trace(OnnxNode node, ChannelDependencyGraph g)
    {
        var x = g.LayoutOf(node.Inputs[0]);
        if (x is null) return;
        string who = ChannelDependencyGraph.Describe(node);
        long[]? axes = node.GetInts("axes");
        if (axes is null && node.Inputs.Count > 1 && node.Inputs[1].Length > 0)
        {
            if (g.Constant(node.Inputs[1]) is not { } t)
            {
                g.MarkLayout(x, $"{who}: reduction axes are computed, not constant");
                return;
            }
            axes = t.ToInt64Array();
        }
        if (axes is null || axes.Length == 0 || x.Block != 1)
        {
            g.MarkLayout(x, $"{who}: a reduction over all axes (or of a flattened value) mixes the channels");
            return;
        }
        var normalized = axes.Select(a => a < 0 ? a + x.Rank : a).ToArray();
        if (normalized.Contains(x.Axis) || normalized.Any(a => a < 0 || a >= x.Rank))
        {
            g.MarkLayout(x, $"{who}: the reduction runs over the channel axis");
            return;
        }
        bool keep = node.GetInt("keepdims", 1) != 0;
        int axis = keep ? x.Axis : x.Axis - normalized.Count(a => a < x.Axis);
        g.SetLayout(node.Outputs[0], x with { Rank = keep ? x.Rank : x.Rank - normalized.Distinct().Count(), Axis = axis });
    }
}

/// <summary>Flatten (axis 1) of [N, C, ...]: each channel becomes a block of (product of the rest) features, which needs static shapes.</summary>
internal sealed class FlattenSlicer : IChannelSlicer
{
    public void Trace(OnnxNode node, ChannelDependencyGraph g)
    {
        var x = g.LayoutOf(node.Inputs[0]);
        if (x is null) return;
        var shape = g.ShapeOf(node.Inputs[0]);
        long axis = node.GetInt("axis", 1);
        if (shape is not null && axis < 0) axis += shape.Length;
        if (shape is null || axis != 1 || x.Axis != 1)
        {
            g.MarkLayout(x, $"{ChannelDependencyGraph.Describe(node)}: flattening other than [N, C, ...] -> [N, C*...] (or unknown shape) is not provable");
            return;
        }
        long spatial = shape.Skip(2).Aggregate(1L, (a, b) => a * b);
        g.SetLayout(node.Outputs[0], new ChannelLayout(2, 1, x.Spaces, x.Block * spatial));
    }
}

/// <summary>
/// Reshape that provably flattens [N, C, ...] into [N, C*...]: the shape is a constant [0 or -1 or N, -1 or C*...].
/// Any other Reshape (splitting heads, dynamic shapes) is left unpruned and named in the plan.
/// </summary>
internal sealed class ReshapeSlicer : IChannelSlicer
{
    public void Trace(OnnxNode node, ChannelDependencyGraph g)
    {
        var x = g.LayoutOf(node.Inputs[0]);
        if (x is null) return;
        string who = ChannelDependencyGraph.Describe(node);
        var inShape = g.ShapeOf(node.Inputs[0]);
        var outShape = g.ShapeOf(node.Outputs[0]);
        var target = g.Constant(node.Inputs[1])?.ToInt64Array();
        if (target is null || inShape is null || outShape is null)
        {
            g.MarkLayout(x, $"{who}: Reshape with a computed (non-constant) shape is not provable");
            return;
        }
        long features = inShape.Skip(1).Aggregate(1L, (a, b) => a * b);
        bool flattens = x.Axis == 1 && target.Length == 2 && outShape.Length == 2 && outShape[1] == features
            && (target[0] is 0 or -1) && (target[1] == -1 || target[1] == features);
        if (!flattens)
        {
            g.MarkLayout(x, $"{who}: Reshape to [{string.Join(",", target)}] is not a provable flatten of the channels");
            return;
        }
        long spatial = inShape.Skip(2).Aggregate(1L, (a, b) => a * b);
        var y = new ChannelLayout(2, 1, x.Spaces, x.Block * spatial);
        if (target[1] != -1)
        {
            if (g.Initializer(node.Inputs[1]) is null)
            {
                g.MarkLayout(x, $"{who}: the explicit shape is held in a Constant node, not an initializer");
                return;
            }
            g.Edit(new ReshapeEdit(node.DisplayName, node.Inputs[1], 1, y));
            g.Slice(node.Inputs[1], -1, y, node);
        }
        g.SetLayout(node.Outputs[0], y);
    }
}
