using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// Fake quantization for quantization-aware training: quantize then dequantize in floating
/// point, so the forward pass sees the values a QuantizeLinear/DequantizeLinear pair produces,
/// while the gradient passes straight through (identity inside the representable range, zero
/// where the value saturates). <see cref="Apply"/> keeps the scale fixed; <see cref="ApplyLearned"/>
/// also gives the scale a gradient (LSQ). Written with plain torch ops because TorchSharp's
/// <c>fake_quantize_*</c> functions are unimplemented; the gradients match PyTorch's
/// (tests/fixtures/qat/make_fake_quant_reference.py).
/// </summary>
/// <remarks>
/// Two ways these differ from PyTorch's kernels, on purpose: the quotient is x / scale (as ONNX
/// QuantizeLinear and ONNX Runtime compute it) where PyTorch multiplies by the float32 reciprocal
/// 1 / scale, so a value within an ulp of a rounding tie can round the other way; and the zero
/// point is used as given, where PyTorch's learnable functions round it half to even and clamp it
/// to [qmin, qmax] first. An integer zero point inside the range (every real one) makes the
/// second moot.
/// </remarks>
public static class FakeQuantize
{
    /// <summary>
    /// (clamp(round_half_to_even(x / scale) + zeroPoint, qmin, qmax) - zeroPoint) * scale, with a
    /// straight-through gradient for <paramref name="x"/>. Scale and zero point are a scalar
    /// (per tensor) or 1-D along <paramref name="axis"/> (per channel); they receive no gradient.
    /// </summary>
    /// <remarks>
    /// As in <c>torch.fake_quantize_per_tensor_affine</c> and <c>torch.fake_quantize_per_channel_affine</c>,
    /// "inside the range" means the integer code round(x / scale) + zeroPoint lies in [qmin, qmax],
    /// so a value up to half a step beyond the range ends that rounds back onto them still passes
    /// its gradient; a tie exactly half a step out counts by where half to even takes it.
    /// </remarks>
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
        Validate(x, qmin, qmax);
        using var scope = NewDisposeScope();
        var s = QuantizationParameters.Broadcastable(scale.detach(), x, axis).to_type(x.dtype);
        var z = QuantizationParameters.Broadcastable(zeroPoint.detach(), x, axis).to_type(x.dtype);
        Tensor quantized, inside;
        using (no_grad())
        {
            quantized = Quantized(x, s, z, qmin, qmax);
            var code = HeldScalars.Add(x.div(s).round(), z);
            inside = code.ge(qmin).logical_and(code.le(qmax));
        }
        return HeldScalars.Add(quantized, StraightThrough(x, inside)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Learned Step Size Quantization (Esser et al. 2020, "Learned Step Size Quantization"): the
    /// forward value of <see cref="Apply"/>, bit for bit, with a straight-through gradient for
    /// <paramref name="x"/> and LSQ's gradient for <paramref name="scale"/>. Matches
    /// <c>torch._fake_quantize_learnable_per_tensor_affine</c> and
    /// <c>torch._fake_quantize_learnable_per_channel_affine</c> for x.grad and scale.grad.
    /// </summary>
    /// <remarks>
    /// <para>
    /// With v = x / scale and the code c = round_half_to_even(v + zeroPoint), each element
    /// contributes to the scale gradient (times the upstream gradient, then summed over the
    /// elements of its channel, or of the whole tensor for a per-tensor scale, then times
    /// <paramref name="gradScale"/>): qmin - zeroPoint where c &lt; qmin, qmax - zeroPoint where
    /// c &gt; qmax, and (c - zeroPoint) - v in between, which is the paper's round(v) - v. x gets
    /// the upstream gradient where qmin &lt;= c &lt;= qmax and zero elsewhere.
    /// </para>
    /// <para>
    /// This is PyTorch's definition, not the paper's, in two boundary details. The range test is
    /// on the rounded code, so a value up to half a step beyond a range end that rounds onto it
    /// counts as inside (x gradient 1, scale gradient c - zeroPoint - v, not the saturated
    /// qmin - zeroPoint or qmax - zeroPoint the paper's test on v gives). And PyTorch's learnable
    /// kernels round v + zeroPoint where the forward (and <see cref="Apply"/>) rounds v and adds
    /// the zero point: the two agree except on exact ties with an odd zero point, where the
    /// gradient is computed from the code one step away from the forward's (for example v = 0.5,
    /// zeroPoint 3: the forward's code is 3, the gradient's 4, so the scale gradient is +0.5 rather
    /// than -0.5), and a tie half a step outside the range can count as inside here but outside in
    /// <see cref="Apply"/>. Both are matched so that training follows PyTorch exactly.
    /// </para>
    /// <para>
    /// The zero point is detached: it gets no gradient (PyTorch's functions give it one, -scale
    /// where saturated, which LSQ+ uses). The gradient is that of the autograd graph, so it
    /// flows back through any dtype conversion of <paramref name="scale"/>.
    /// </para>
    /// </remarks>
    /// <param name="x">Floating-point values to fake-quantize.</param>
    /// <param name="scale">Quantization step, positive; may require grad. A scalar or one-element
    /// tensor (per tensor) or 1-D along <paramref name="axis"/> (per channel).</param>
    /// <param name="zeroPoint">Integer-valued zero point, any dtype, shaped like scale; detached.</param>
    /// <param name="qmin">Smallest quantized value (e.g. -128 for int8, 0 for uint8, -8 for int4).</param>
    /// <param name="qmax">Largest quantized value (e.g. 127 for int8, 255 for uint8, 7 for int4).</param>
    /// <param name="axis">The channel axis for per-channel scales (negative counts from the end).</param>
    /// <param name="gradScale">The factor on the scale's gradient, LSQ's g: usually
    /// <see cref="LsqGradientScale"/>; 1 for the plain gradient. PyTorch's <c>grad_factor</c>.</param>
    /// <returns>A tensor of x's shape and dtype.</returns>
    /// <exception cref="ArgumentException">qmin is not below qmax, or x is not floating point.</exception>
    /// <exception cref="ArgumentOutOfRangeException">gradScale is negative or not finite.</exception>
    public static Tensor ApplyLearned(Tensor x, Tensor scale, Tensor zeroPoint, long qmin, long qmax, long axis, double gradScale)
    {
        Validate(x, qmin, qmax);
        if (!double.IsFinite(gradScale) || gradScale < 0)
            throw new ArgumentOutOfRangeException(nameof(gradScale), gradScale, "the gradient scale must be finite and not negative");
        using var scope = NewDisposeScope();
        var s = QuantizationParameters.Broadcastable(scale, x, axis).to_type(x.dtype);
        var sd = s.detach();
        var z = QuantizationParameters.Broadcastable(zeroPoint.detach(), x, axis).to_type(x.dtype);
        Tensor quantized, inside, scaleGradient;
        using (no_grad())
        {
            quantized = Quantized(x, sd, z, qmin, qmax);
            var v = x.div(sd);
            var code = HeldScalars.Add(v, z).round();
            var below = code.lt(qmin);
            var above = code.gt(qmax);
            inside = below.logical_or(above).logical_not();
            var saturated = where(below, (qmin - z).expand_as(x), (qmax - z).expand_as(x));
            scaleGradient = where(inside, code - z - v, saturated).mul(gradScale);
        }
        // s * g - (s * g).detach() is exactly zero with gradient g for s (summed over each
        // channel's elements by the broadcast's backward), so the forward value stays bit-exact.
        var scaleTerm = s * scaleGradient;
        return HeldScalars.Add(HeldScalars.Add(quantized, StraightThrough(x, inside)), scaleTerm - scaleTerm.detach()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// LSQ's gradient scale g = 1 / sqrt(N * Q_P) (Esser et al. 2020, section 2.2), which keeps the
    /// scale's update in proportion to the weights' updates whatever the layer size and bit width.
    /// </summary>
    /// <remarks>
    /// N is the number of elements one scale quantizes in one forward pass of one sample: for a
    /// weight, the weights of the layer (per tensor) or of one output channel (per channel, e.g.
    /// in_channels * kH * kW for a convolution); for an activation, the layer's feature count for
    /// one sample (e.g. C * H * W), not counting the batch. PyTorch's
    /// <c>_LearnableFakeQuantize</c> uses X.numel() instead, the whole tensor including the batch
    /// and all channels. Q_P is <paramref name="qmax"/>: 127 for int8, 255 for uint8, 7 for int4.
    /// </remarks>
    /// <param name="elementsPerScale">N, at least 1.</param>
    /// <param name="qmax">Q_P, the largest quantized value, at least 1.</param>
    /// <returns>1 / sqrt(elementsPerScale * qmax).</returns>
    /// <exception cref="ArgumentOutOfRangeException">elementsPerScale or qmax is below 1.</exception>
    public static double LsqGradientScale(long elementsPerScale, long qmax)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(elementsPerScale, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(qmax, 1);
        return 1.0 / Math.Sqrt((double)elementsPerScale * qmax);
    }

    private static void Validate(Tensor x, long qmin, long qmax)
    {
        if (qmin >= qmax) throw new ArgumentException($"qmin ({qmin}) must be below qmax ({qmax})", nameof(qmin));
        if (!x.is_floating_point()) throw new ArgumentException($"x must be floating point, it is {x.dtype}", nameof(x));
    }

    /// <summary>The forward value both functions share, so they agree bit for bit.</summary>
    private static Tensor Quantized(Tensor x, Tensor s, Tensor z, long qmin, long qmax)
    {
        // The clamp bounds are held for the call (docs/engine.md: a temporary Scalar can be finalized mid-call).
        using var low = TorchSharp.ScalarExtensionMethods.ToScalar(qmin);
        using var high = TorchSharp.ScalarExtensionMethods.ToScalar(qmax);
        return HeldScalars.Add(x.div(s).round(), z).clamp(low, high).sub(z).mul(s);
    }

    /// <summary>
    /// Exactly zero, with gradient 1 for x where <paramref name="inside"/> and 0 elsewhere. Added
    /// to the quantized value it keeps the forward bit-exact, unlike x + (fq(x) - x).detach();
    /// where() rather than a product so that an infinite x outside the range gives 0, not NaN.
    /// </summary>
    private static Tensor StraightThrough(Tensor x, Tensor inside)
    {
        var passed = where(inside, x, zeros_like(x));
        return passed - passed.detach();
    }
}
