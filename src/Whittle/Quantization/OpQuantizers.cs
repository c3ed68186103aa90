using Whittle.Onnx;

namespace Whittle.Quantization;

/// <summary>
/// Marks the tensors of one kind of node for static quantization. Quantizers never edit the
/// graph: they call <see cref="MarkingContext"/>, and <see cref="QdqRewriter"/> applies the marks.
/// </summary>
public interface IOpQuantizer
{
    /// <summary>The ONNX op types (default domain) this quantizer handles.</summary>
    IReadOnlyList<string> OpTypes { get; }

    /// <summary>Marks <paramref name="node"/>'s tensors; returns null on success or why the node stays float.</summary>
    string? Mark(OnnxNode node, MarkingContext context);
}

/// <summary>Conv and ConvTranspose: activation input, per-channel int8 weight, int32 bias, quantized output.</summary>
public sealed class ConvQuantizer : IOpQuantizer
{
    /// <inheritdoc/>
    public IReadOnlyList<string> OpTypes { get; } = ["Conv", "ConvTranspose"];

    /// <inheritdoc/>
    public string? Mark(OnnxNode node, MarkingContext context)
    {
        if (node.Inputs.Count < 2 || !context.IsFloatInitializer(node.Inputs[1])) return "its weight is not a float initializer";
        // ConvTranspose keeps output channels on axis 1 of its weight, and only per group; with groups, one scale.
        int? axis = node.OpType == "Conv" ? 0 : node.GetInt("group", 1) == 1 ? 1 : null;
        context.Activation(node.Inputs[0]);
        context.Weight(node.Inputs[1], axis);
        if (node.Inputs.Count > 2 && node.Inputs[2].Length > 0 && context.IsFloatInitializer(node.Inputs[2]))
            context.Bias(node.Inputs[2], node.Inputs[0], node.Inputs[1]);
        context.Activation(context.OutputOf(node));
        return null;
    }
}

/// <summary>Gemm: activation A, weight B per channel on its output axis (which transB decides), int32 bias C.</summary>
public sealed class GemmQuantizer : IOpQuantizer
{
    /// <inheritdoc/>
    public IReadOnlyList<string> OpTypes { get; } = ["Gemm"];

    /// <inheritdoc/>
    public string? Mark(OnnxNode node, MarkingContext context)
    {
        if (node.GetInt("transA", 0) != 0) return "transA=1 has no integer kernel";
        context.Activation(node.Inputs[0]);
        if (context.IsFloatInitializer(node.Inputs[1]))
        {
            context.Weight(node.Inputs[1], node.GetInt("transB", 0) != 0 ? 0 : 1);
            bool unitScales = node.GetFloat("alpha", 1f) == 1f && node.GetFloat("beta", 1f) == 1f;
            if (node.Inputs.Count > 2 && node.Inputs[2].Length > 0 && unitScales && context.IsFloatInitializer(node.Inputs[2])
                && context.Initializer(node.Inputs[2])!.Dims.Length == 1)
                context.Bias(node.Inputs[2], node.Inputs[0], node.Inputs[1]);
        }
        else
        {
            context.Activation(node.Inputs[1]);
        }
        context.Activation(context.OutputOf(node));
        return null;
    }
}

/// <summary>MatMul: activation inputs; a constant right-hand side is a per-channel weight on its last axis.</summary>
public sealed class MatMulQuantizer : IOpQuantizer
{
    /// <inheritdoc/>
    public IReadOnlyList<string> OpTypes { get; } = ["MatMul"];

    /// <inheritdoc/>
    public string? Mark(OnnxNode node, MarkingContext context)
    {
        if (context.IsFloatInitializer(node.Inputs[0])) return "its left operand is a constant";
        context.Activation(node.Inputs[0]);
        if (context.IsFloatInitializer(node.Inputs[1]))
        {
            var rank = context.Initializer(node.Inputs[1])!.Dims.Length;
            context.Weight(node.Inputs[1], rank == 2 ? 1 : null);
        }
        else
        {
            context.Activation(node.Inputs[1]);
        }
        context.Activation(context.OutputOf(node));
        return null;
    }
}

/// <summary>
/// Ops whose inputs and output each get their own calibrated range: Add, Mul (QLinearAdd/Mul),
/// Concat, AveragePool, GlobalAveragePool, Sigmoid, and Relu/Clip when they cannot be fused.
/// </summary>
public sealed class ElementwiseQuantizer : IOpQuantizer
{
    /// <inheritdoc/>
    public IReadOnlyList<string> OpTypes { get; } = ["Add", "Mul", "Concat", "AveragePool", "GlobalAveragePool", "Sigmoid", "Relu", "Clip"];

    /// <inheritdoc/>
    public string? Mark(OnnxNode node, MarkingContext context)
    {
        if (context.IsFusedActivation(node)) return null;
        var inputs = node.OpType == "Clip" ? node.Inputs.Take(1) : node.Inputs;
        var dynamic = inputs.Where(i => i.Length > 0 && !context.IsInitializer(i)).ToList();
        if (dynamic.Count == 0) return "all its inputs are constants";
        if (dynamic.Count < inputs.Count(i => i.Length > 0) && node.OpType is "Add" or "Mul")
            return "a constant operand is left in float";
        foreach (var i in dynamic) context.Activation(i);
        context.Activation(context.OutputOf(node));
        return null;
    }
}

/// <summary>
/// Ops that move values without changing them share their input's scale and zero point on the
/// output, so ONNX Runtime can run them on the integers: MaxPool, Resize, Reshape, Flatten,
/// Transpose, Squeeze, Unsqueeze, and Gather over an activation.
/// </summary>
public sealed class DataMovementQuantizer : IOpQuantizer
{
    /// <inheritdoc/>
    public IReadOnlyList<string> OpTypes { get; } = ["MaxPool", "Resize", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze"];

    /// <inheritdoc/>
    public string? Mark(OnnxNode node, MarkingContext context)
    {
        if (context.IsInitializer(node.Inputs[0])) return "its input is a constant";
        if (node.OpType == "MaxPool" && node.Outputs.Count > 1 && node.Outputs[1].Length > 0) return "its indices output is used";
        context.Activation(node.Inputs[0]);
        context.Shared(node.Outputs[0], node.Inputs[0]);
        return null;
    }
}

/// <summary>Gather: a constant table (embeddings) becomes an int8 weight; over an activation, the output shares its parameters.</summary>
public sealed class GatherQuantizer : IOpQuantizer
{
    /// <inheritdoc/>
    public IReadOnlyList<string> OpTypes { get; } = ["Gather"];

    /// <inheritdoc/>
    public string? Mark(OnnxNode node, MarkingContext context)
    {
        if (context.IsFloatInitializer(node.Inputs[0]))
        {
            context.Weight(node.Inputs[0], null);
            return null;
        }
        if (context.IsInitializer(node.Inputs[0])) return "its table is not float";
        context.Activation(node.Inputs[0]);
        context.Shared(node.Outputs[0], node.Inputs[0]);
        return null;
    }
}
