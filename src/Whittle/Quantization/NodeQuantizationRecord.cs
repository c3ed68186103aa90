using Whittle.Onnx;

namespace Whittle.Quantization;

/// <summary>What a weight quantizer did with one candidate node.</summary>
/// <param name="Node">The node's display name.</param>
/// <param name="OpType">The node's operator type.</param>
/// <param name="Quantized">Whether the node was rewritten.</param>
/// <param name="Detail">How it was quantized, or why it was left in float.</param>
/// <param name="WeightBytesBefore">Bytes of the float weight (0 when skipped or when the weight was already counted for another node).</param>
/// <param name="WeightBytesAfter">Bytes of the quantized weight with its scales and zero points (same convention).</param>
public sealed record NodeQuantizationRecord(
    string Node, string OpType, bool Quantized, string Detail, long WeightBytesBefore, long WeightBytesAfter);
