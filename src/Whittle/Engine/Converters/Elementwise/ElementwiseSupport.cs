using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>What the elementwise converters share: input-type checks and the opset 1-6 broadcast rules.</summary>
internal static class ElementwiseSupport
{
    /// <summary>The first opset in which binary operators broadcast like numpy without being asked.</summary>
    public const int NumpyBroadcastSince = 7;

    /// <summary>
    /// One problem per initializer input whose element type torch cannot hold. The pre-flight
    /// checks graph inputs; initializers are only seen here, by the nodes that read them.
    /// </summary>
    public static IEnumerable<string> UnsupportedInitializers(OpContext context)
    {
        for (int i = 0; i < context.Node.Inputs.Count; i++)
        {
            if (context.ConstantInput(i) is { } t && !TorchTensors.IsSupported(t.DataType))
                yield return $"input {i} ('{t.Name}') has element type {OnnxDataTypes.Name(t.DataType)}, which the Engine does not support";
        }
    }

    /// <summary>A problem when a tensor attribute (Constant, ConstantOfShape value) has an element type torch cannot hold.</summary>
    public static string? UnsupportedTensorAttribute(string attribute, OnnxTensor value) =>
        TorchTensors.IsSupported(value.DataType) ? null
            : $"attribute '{attribute}' has element type {OnnxDataTypes.Name(value.DataType)}, which the Engine does not support";

    /// <summary>
    /// Problems with the opset 1-6 broadcast attributes of a binary operator: 'broadcast' must be
    /// an int and 'axis' (when given) an int. Reading them here reports a mistyped attribute in the pre-flight.
    /// </summary>
    public static IEnumerable<string> CheckLegacyBroadcast(OpContext context)
    {
        if (context.SinceVersion >= NumpyBroadcastSince) return [];
        context.Node.GetInt("broadcast", 0);
        context.Node.GetInt("axis", 0);
        return [];
    }

    /// <summary>
    /// For opset 1-6 nodes with <c>broadcast=1</c> and an <c>axis</c>, the axis at which B lines up with
    /// A; null when numpy broadcasting already gives the ONNX result (opset 7 on, suffix matching, or
    /// equal shapes without broadcast).
    /// </summary>
    public static long? LegacyBroadcastAxis(OpContext context) =>
        context.SinceVersion < NumpyBroadcastSince && context.Node.GetInt("broadcast", 0) != 0 && context.Node.HasAttribute("axis")
            ? context.Node.GetInt("axis")
            : null;

    /// <summary>
    /// Reshapes B so that numpy broadcasting places its dimensions at <paramref name="axis"/> of A
    /// (legacy broadcast: B's shape is a contiguous run of A's shape starting at axis).
    /// </summary>
    public static Tensor AlignLegacy(Tensor a, Tensor b, long? axis)
    {
        if (axis is not { } start) return b;
        if (start < 0) start += a.dim();
        long trailing = a.dim() - start - b.dim();
        if (start < 0 || trailing < 0)
            throw new EngineException($"legacy broadcast: B of shape [{string.Join(",", b.shape)}] does not fit A of shape [{string.Join(",", a.shape)}] at axis {axis}");
        if (trailing == 0) return b;
        return b.reshape([.. b.shape, .. Enumerable.Repeat(1L, (int)trailing)]);
    }

    /// <summary>Casts <paramref name="result"/> back to <paramref name="dtype"/> where torch promoted it (ONNX keeps the input type).</summary>
    public static Tensor Keep(Tensor result, ScalarType dtype) => result.dtype == dtype ? result : result.to_type(dtype);
}
