namespace Whittle.Quantization;

/// <summary>
/// What a per-op quantizer decided for one tensor. Quantizers only mark; <see cref="QdqRewriter"/>
/// turns the marks into QuantizeLinear/DequantizeLinear pairs.
/// </summary>
public abstract record TensorMark(string Tensor);

/// <summary>An activation quantized with a calibrated range (uint8 asymmetric or int8 symmetric).</summary>
/// <param name="Tensor">The value name.</param>
public sealed record ActivationMark(string Tensor) : TensorMark(Tensor);

/// <summary>An initializer quantized to int8 symmetric, per channel along <paramref name="Axis"/> or per tensor when null.</summary>
/// <param name="Tensor">The initializer name.</param>
/// <param name="Axis">The output-channel axis, or null for one scale.</param>
public sealed record WeightMark(string Tensor, int? Axis) : TensorMark(Tensor);

/// <summary>
/// A bias initializer quantized to int32 with scale = input scale × weight scale (per channel),
/// so integer kernels add it to the int32 accumulator directly.
/// </summary>
/// <param name="Tensor">The bias initializer name.</param>
/// <param name="Input">The activation the node multiplies.</param>
/// <param name="Weight">The weight initializer.</param>
public sealed record BiasMark(string Tensor, string Input, string Weight) : TensorMark(Tensor);

/// <summary>
/// A value quantized with exactly the parameters of <paramref name="Source"/> (MaxPool, Reshape,
/// Transpose...: the op moves values without changing them, so ORT can run it on the integers).
/// </summary>
/// <param name="Tensor">The value name.</param>
/// <param name="Source">The value whose scale and zero point it reuses.</param>
public sealed record SharedMark(string Tensor, string Source) : TensorMark(Tensor);
