using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// Fake quantization for quantization-aware training: quantize then dequantize in floating
/// point, so the forward pass sees the values a QuantizeLinear/DequantizeLinear pair produces,
/// while the gradient passes straight through (identity inside the representable range, zero
/// where the value saturates). Written with plain torch ops because TorchSharp's
/// <c>fake_quantize_*</c> functions are unimplemented.
/// </summary>
public static class FakeQuantize
{
    /// <summary>
    /// (clamp(round_half_to_even(x / scale) + zeroPoint, qmin, qmax) - zeroPoint) * scale, with a
    /// straight-through gradient for <paramref name="x"/>. Scale and zero point are a scalar
    /// (per tensor) or 1-D along <paramref name="axis"/> (per channel); they receive no gradient.
    /// </summary>
    /// <param name="x">Floating-point values to fake-quantize.</param>
    /// <param name="scale">Quantization step; positive.</param>
    /// <param name="zeroPoint">Integer-valued zero point, any dtype.</param>
    /// <param name="qmin">Smallest quantized value (e.g. -128 for int8, 0 for uint8).</param>
    /// <param name="qmax">Largest quantized value (e.g. 127 for int8, 255 for uint8).</param>
    /// <param name="axis">The channel axis for per-channel scales (negative counts from the end).</param>
    /// <returns>A tensor of x's shape and dtype.</returns>
    /// <exception cref="ArgumentException">qmin is not below qmax, or x is not floating point.</exception>
    public static Tensor Apply(Tensor x, Tensor scale, Tensor zeroPoint, long qmin, long qmax, long axis = 1)
    {
        if (qmin >= qmax) throw new ArgumentException($"qmin ({qmin}) must be below qmax ({qmax})", nameof(qmin));
        if (!x.is_floating_point()) throw new ArgumentException($"x must be floating point, it is {x.dtype}", nameof(x));
        using var scope = NewDisposeScope();
        var s = QuantizationParameters.Broadcastable(scale.detach(), x, axis).to_type(x.dtype);
        var z = QuantizationParameters.Broadcastable(zeroPoint.detach(), x, axis).to_type(x.dtype);
        Tensor quantized;
        using (no_grad())
            quantized = (x.div(s).round() + z).clamp(qmin, qmax).sub(z).mul(s);
        // Straight-through estimator: the gradient of clamp(x, lo, hi) (1 inside the range, 0
        // outside) with the forward value of the quantized tensor. clipped - clipped.detach() is
        // exactly zero, so the forward value is bit-exact, unlike x + (fq(x) - x).detach().
        var clipped = x.clamp((qmin - z) * s, (qmax - z) * s);
        return (quantized + (clipped - clipped.detach())).MoveToOuterDisposeScope();
    }
}
