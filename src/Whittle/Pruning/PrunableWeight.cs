using Whittle.Onnx;

namespace Whittle.Pruning;

/// <summary>
/// A weight that unstructured and N:M pruning may zero: the initializer holding the weight of a
/// Conv, ConvTranspose, Gemm or MatMul node, with the axis its dot products reduce over.
/// </summary>
/// <param name="NodeName">The node's display name.</param>
/// <param name="OpType">Its operator type.</param>
/// <param name="Initializer">The weight initializer's name.</param>
/// <param name="Shape">The weight's shape.</param>
/// <param name="ReductionAxis">
/// The axis of the weight a dot product runs along, where N:M groups are formed: Conv input
/// channels (axis 1 of [O, I/g, kh, kw]), ConvTranspose axis 0, Gemm axis 1 with transB = 1 and
/// axis 0 otherwise, MatMul axis 0 of [K, N].
/// </param>
public sealed record PrunableWeight(string NodeName, string OpType, string Initializer, long[] Shape, int ReductionAxis)
{
    /// <summary>Elements of the weight.</summary>
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>
    /// The prunable weights of a model, in topological order. A float initializer read as the
    /// weight of several nodes is listed once (with its first reader).
    /// </summary>
    public static IReadOnlyList<PrunableWeight> Find(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        var found = new List<PrunableWeight>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.TopologicalOrder())
        {
            if (node.Domain.Length > 0 || node.Inputs.Count < 2) continue;
            var init = graph.FindInitializer(node.Inputs[1]);
            if (init is null || init.DataType != OnnxDataType.Float || !seen.Add(init.Name)) continue;
            var shape = init.Dims;
            int? axis = node.OpType switch
            {
                "Conv" when shape.Length >= 3 => 1,
                "ConvTranspose" when shape.Length >= 3 => 0,
                "Gemm" when shape.Length == 2 => node.GetInt("transB", 0) != 0 ? 1 : 0,
                "MatMul" when shape.Length == 2 => 0,
                _ => null,
            };
            if (axis is int a) found.Add(new PrunableWeight(node.DisplayName, node.OpType, init.Name, shape, a));
            else seen.Remove(init.Name);
        }
        return found;
    }
}
