using Whittle.Onnx;

namespace Whittle.Quantization;

/// <summary>
/// Raises a model's default-domain opset import when the operators a quantizer inserts need a
/// newer one, but only when that cannot change what the existing nodes compute. Raising the
/// import re-interprets every node under the newer schema, and several operators changed
/// meaning (Clip min/max and Pad pads became inputs at 11, Slice starts/ends at 10; Squeeze,
/// Unsqueeze, Split, ReduceSum and Softmax change at 13), so the upgrade is allowed only when
/// every default-domain node is in a table of operators whose behaviour is the same from the
/// listed opset up to 12 (changes in between only added types or negative axes). Targets above
/// 12 are refused: the table does not cover them.
/// </summary>
internal static class OpsetUpgrade
{
    /// <summary>The highest target the table of stable operators covers.</summary>
    public const long HighestTarget = 12;

    // op type -> the first opset from which its semantics equal those at opsets 11 and 12.
    private static readonly Dictionary<string, long> StableSince = new(StringComparer.Ordinal)
    {
        ["Abs"] = 6, ["Add"] = 7, ["AveragePool"] = 7, ["BatchNormalization"] = 9, ["Cast"] = 6,
        ["Concat"] = 4, ["Constant"] = 1, ["Conv"] = 1, ["Div"] = 7, ["Elu"] = 6, ["Erf"] = 9,
        ["Exp"] = 6, ["Flatten"] = 1, ["Gather"] = 1, ["Gemm"] = 7, ["GlobalAveragePool"] = 1,
        ["GlobalMaxPool"] = 1, ["Identity"] = 1, ["LeakyRelu"] = 6, ["Log"] = 6, ["LogSoftmax"] = 1,
        ["MatMul"] = 1, ["Max"] = 8, ["MaxPool"] = 8, ["Min"] = 8, ["Mul"] = 7, ["Neg"] = 6,
        ["Pow"] = 7, ["Reciprocal"] = 6, ["ReduceMax"] = 1, ["ReduceMean"] = 1, ["ReduceMin"] = 1,
        ["ReduceSum"] = 1, ["Relu"] = 6, ["Reshape"] = 5, ["Shape"] = 1, ["Sigmoid"] = 6,
        ["Softmax"] = 1, ["Split"] = 2, ["Sqrt"] = 6, ["Squeeze"] = 1, ["Sub"] = 7, ["Sum"] = 8,
        ["Tanh"] = 6, ["Transpose"] = 1, ["Unsqueeze"] = 1,
    };

    // ONNX's versioning table: the IR version that introduced each opset (opset 7-8: IR 3, 9: IR 4, 10: IR 5, 11: IR 6, 12: IR 7).
    private static long IrVersionFor(long opset) => opset switch { <= 8 => 3, 9 => 4, 10 => 5, 11 => 6, _ => 7 };

    /// <summary>
    /// Makes the default-domain opset at least <paramref name="required"/>; returns the opset now imported.
    /// </summary>
    /// <exception cref="OnnxException">The graph uses an operator whose meaning could change, listed with its node.</exception>
    public static long EnsureAtLeast(OnnxModel model, long required, string purpose)
    {
        long current = model.GetOpset("") ?? 1;
        if (current >= required) return current;
        if (required > HighestTarget)
            throw new InvalidOperationException($"opset upgrade to {required} is beyond the table of stable operators (≤ {HighestTarget})");
        var unsafeNodes = model.Graph.Nodes
            .Where(n => n.Domain.Length == 0 && (!StableSince.TryGetValue(n.OpType, out var since) || since > current))
            .Select(n => $"{n.OpType} '{n.DisplayName}'")
            .ToList();
        if (unsafeNodes.Count > 0)
            throw new OnnxException(
                $"graph '{model.Graph.Name}' imports opset {current}; {purpose} needs opset {required}, and raising it could change "
                + $"the meaning of {string.Join(", ", unsafeNodes.Take(5))}{(unsafeNodes.Count > 5 ? $" and {unsafeNodes.Count - 5} more" : "")}; "
                + "convert the model to a newer opset first");
        model.SetOpset("", required);
        if (model.Proto.IrVersion < IrVersionFor(required)) model.Proto.IrVersion = IrVersionFor(required);
        return required;
    }
}
