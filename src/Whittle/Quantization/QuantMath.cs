namespace Whittle.Quantization;

/// <summary>
/// Linear quantization arithmetic, r = scale * (q - zeroPoint), on plain numbers and spans.
/// Parameter choice mirrors ONNX Runtime's Python quantization tool
/// (<c>onnxruntime/python/tools/quantization/quant_utils.py</c>); element conversion follows the
/// ONNX <c>QuantizeLinear</c>/<c>DequantizeLinear</c> operators.
/// </summary>
public static class QuantMath
{
    // numpy.finfo(numpy.float32).tiny: the smallest normal float32 (2^-126).
    private static readonly double Float32Tiny = BitConverter.Int32BitsToSingle(0x00800000);

    /// <summary>The full range of values the type can store; quantized values saturate to it.</summary>
    /// <param name="type">The quantized element type.</param>
    /// <returns>The smallest and largest storable value.</returns>
    public static (int QMin, int QMax) StorageRange(QuantizationType type) => type switch
    {
        QuantizationType.UInt8 => (0, 255),
        QuantizationType.Int8 => (-128, 127),
        QuantizationType.UInt4 => (0, 15),
        QuantizationType.Int4 => (-8, 7),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown quantization type."),
    };

    /// <summary>
    /// The target range [qmin, qmax] that scale and zero point are chosen for, as ONNX Runtime's
    /// <c>get_qmin_qmax_for_qType(qType, reduce_range, symmetric)</c> returns it.
    /// </summary>
    /// <remarks>
    /// Reduced range wins over symmetric, as in ORT: UInt8 [0, 127], Int8 [-64, 64] (ORT's table
    /// keeps 64, not 63), UInt4 [0, 7], Int4 [-4, 3]. Symmetric without reduction: UInt8 [0, 254],
    /// Int8 [-127, 127]; 4-bit types have no symmetric entry in ORT and keep their full range.
    /// </remarks>
    /// <param name="type">The quantized element type.</param>
    /// <param name="reduceRange">Use 7 bits of an 8-bit type (3 of a 4-bit type), which avoids
    /// overflow in the 16-bit accumulation of some x86 int8 kernels.</param>
    /// <param name="symmetric">Whether the range is for symmetric quantization.</param>
    /// <returns>The smallest and largest target value.</returns>
    public static (int QMin, int QMax) TargetRange(QuantizationType type, bool reduceRange = false, bool symmetric = false)
    {
        if (reduceRange)
        {
            return type switch
            {
                QuantizationType.UInt8 => (0, 127),
                QuantizationType.Int8 => (-64, 64),
                QuantizationType.UInt4 => (0, 7),
                QuantizationType.Int4 => (-4, 3),
                _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown quantization type."),
            };
        }

        if (symmetric)
        {
            switch (type)
            {
                case QuantizationType.UInt8: return (0, 254);
                case QuantizationType.Int8: return (-127, 127);
            }
        }

        return StorageRange(type);
    }

    /// <summary>
    /// Chooses scale and zero point for values in [<paramref name="rmin"/>, <paramref name="rmax"/>],
    /// mirroring ONNX Runtime's <c>compute_scale_zp</c> with the range of <see cref="TargetRange"/>.
    /// </summary>
    /// <remarks>
    /// The range is widened to include 0 so that 0 is exactly representable (padding, ReLU).
    /// Symmetric quantization widens it to [-absmax, absmax] and puts the zero point at the middle,
    /// round((qmin + qmax) / 2), independent of the data, so every channel shares one zero point.
    /// As in ORT the scale is computed in double precision and, if it is below the smallest normal
    /// float32, replaced by scale 1 and zero point 0 (this also covers rmin == rmax == 0, even for
    /// symmetric UInt8). Rounding is half to even, like numpy.
    /// </remarks>
    /// <param name="rmin">Smallest observed value.</param>
    /// <param name="rmax">Largest observed value.</param>
    /// <param name="type">The quantized element type.</param>
    /// <param name="symmetric">Symmetrize the range around 0.</param>
    /// <param name="reduceRange">Use the reduced (7-bit) target range.</param>
    /// <returns>The float32 scale and the zero point.</returns>
    /// <exception cref="ArgumentException">A bound is not finite, or <paramref name="rmin"/> exceeds <paramref name="rmax"/>.</exception>
    public static (float Scale, int ZeroPoint) ScaleZeroPoint(
        float rmin, float rmax, QuantizationType type, bool symmetric, bool reduceRange)
    {
        if (!float.IsFinite(rmin) || !float.IsFinite(rmax))
        {
            throw new ArgumentException($"The range [{rmin}, {rmax}] must be finite.");
        }

        if (rmin > rmax)
        {
            throw new ArgumentException($"rmin ({rmin}) must not exceed rmax ({rmax}).");
        }

        var (qmin, qmax) = TargetRange(type, reduceRange, symmetric);
        rmin = Math.Min(rmin, 0f);
        rmax = Math.Max(rmax, 0f);
        if (symmetric)
        {
            float absMax = Math.Max(Math.Abs(rmin), Math.Abs(rmax));
            rmin = -absMax;
            rmax = absMax;
        }

        // ORT subtracts in float32, then divides in float64.
        double scale = (double)(rmax - rmin) / ((double)qmax - qmin);
        if (scale < Float32Tiny)
        {
            return (1f, 0);
        }

        double zeroPoint = symmetric
            ? Math.Round((qmin + qmax) / 2.0, MidpointRounding.ToEven)
            : Math.Round(qmin - rmin / scale, MidpointRounding.ToEven);
        return ((float)scale, (int)Math.Clamp(zeroPoint, qmin, qmax));
    }

    /// <summary>
    /// Scale and zero point from the minimum and maximum of <paramref name="values"/>
    /// (scale 1 and zero point 0 when empty, as ORT's <c>compute_data_quant_params</c>).
    /// </summary>
    /// <param name="values">The observed values.</param>
    /// <param name="type">The quantized element type.</param>
    /// <param name="symmetric">Symmetrize the range around 0.</param>
    /// <param name="reduceRange">Use the reduced (7-bit) target range.</param>
    /// <returns>The float32 scale and the zero point.</returns>
    public static (float Scale, int ZeroPoint) ScaleZeroPoint(
        ReadOnlySpan<float> values, QuantizationType type, bool symmetric, bool reduceRange)
    {
        if (values.IsEmpty)
        {
            return (1f, 0);
        }

        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        return ScaleZeroPoint(min, max, type, symmetric, reduceRange);
    }

    /// <summary>
    /// Quantizes like ONNX <c>QuantizeLinear</c>: q = saturate(roundHalfToEven(x / scale) + zeroPoint),
    /// saturating to the type's <see cref="StorageRange"/>. The division is in float32, as in ORT's
    /// <c>quantize_nparray</c>. NaN maps to the zero point.
    /// </summary>
    /// <param name="values">The float values.</param>
    /// <param name="scale">Positive, finite scale.</param>
    /// <param name="zeroPoint">Zero point within the storage range.</param>
    /// <param name="type">The quantized element type.</param>
    /// <param name="destination">Receives one quantized value per input; same length as <paramref name="values"/>.</param>
    public static void Quantize(
        ReadOnlySpan<float> values, float scale, int zeroPoint, QuantizationType type, Span<int> destination)
    {
        var (qmin, qmax) = StorageRange(type);
        CheckParameters(scale, zeroPoint, qmin, qmax);
        CheckLengths(values.Length, destination.Length);
        for (int i = 0; i < values.Length; i++)
        {
            destination[i] = QuantizeOne(values[i], scale, zeroPoint, qmin, qmax);
        }
    }

    /// <summary>Dequantizes like ONNX <c>DequantizeLinear</c>: x = (q - zeroPoint) * scale in float32.</summary>
    /// <param name="values">The quantized values.</param>
    /// <param name="scale">Positive, finite scale.</param>
    /// <param name="zeroPoint">The zero point the values were quantized with.</param>
    /// <param name="destination">Receives one float per input; same length as <paramref name="values"/>.</param>
    public static void Dequantize(ReadOnlySpan<int> values, float scale, int zeroPoint, Span<float> destination)
    {
        CheckParameters(scale, zeroPoint, int.MinValue, int.MaxValue);
        CheckLengths(values.Length, destination.Length);
        for (int i = 0; i < values.Length; i++)
        {
            destination[i] = (values[i] - zeroPoint) * scale;
        }
    }

    /// <summary>
    /// One scale and zero point per slice along <paramref name="axis"/> of a row-major tensor,
    /// each from that slice's minimum and maximum, as ORT's per-channel weight quantization.
    /// </summary>
    /// <param name="values">The tensor's elements in row-major order.</param>
    /// <param name="shape">The tensor's dimensions; their product must equal the number of values.</param>
    /// <param name="axis">The channel axis; negative counts from the end.</param>
    /// <param name="type">The quantized element type.</param>
    /// <param name="symmetric">Symmetrize each channel's range around 0.</param>
    /// <param name="reduceRange">Use the reduced (7-bit) target range.</param>
    /// <returns>Scales and zero points, one per channel.</returns>
    public static (float[] Scales, int[] ZeroPoints) ScaleZeroPointPerChannel(
        ReadOnlySpan<float> values, int[] shape, int axis, QuantizationType type, bool symmetric, bool reduceRange)
    {
        var (outer, channels, inner) = SplitAtAxis(values.Length, shape, axis);
        var min = new float[channels];
        var max = new float[channels];
        Array.Fill(min, float.PositiveInfinity);
        Array.Fill(max, float.NegativeInfinity);
        for (int o = 0; o < outer; o++)
        {
            for (int c = 0; c < channels; c++)
            {
                foreach (float v in values.Slice((o * channels + c) * inner, inner))
                {
                    min[c] = Math.Min(min[c], v);
                    max[c] = Math.Max(max[c], v);
                }
            }
        }

        var scales = new float[channels];
        var zeroPoints = new int[channels];
        for (int c = 0; c < channels; c++)
        {
            // An empty channel has no observations: scale 1, zero point 0, as for empty data in ORT.
            (scales[c], zeroPoints[c]) = outer * inner == 0
                ? (1f, 0)
                : ScaleZeroPoint(min[c], max[c], type, symmetric, reduceRange);
        }

        return (scales, zeroPoints);
    }

    /// <summary>
    /// Quantizes a row-major tensor with one scale and zero point per slice along
    /// <paramref name="axis"/> (ONNX <c>QuantizeLinear</c> with a 1-D scale and <c>axis</c>).
    /// </summary>
    /// <param name="values">The tensor's elements in row-major order.</param>
    /// <param name="shape">The tensor's dimensions; their product must equal the number of values.</param>
    /// <param name="axis">The channel axis; negative counts from the end.</param>
    /// <param name="scales">One positive, finite scale per channel.</param>
    /// <param name="zeroPoints">One zero point per channel.</param>
    /// <param name="type">The quantized element type.</param>
    /// <param name="destination">Receives the quantized elements; same length as <paramref name="values"/>.</param>
    public static void QuantizePerChannel(
        ReadOnlySpan<float> values, int[] shape, int axis, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints,
        QuantizationType type, Span<int> destination)
    {
        var (outer, channels, inner) = SplitAtAxis(values.Length, shape, axis);
        CheckChannelParameters(channels, scales.Length, zeroPoints.Length);
        CheckLengths(values.Length, destination.Length);
        var (qmin, qmax) = StorageRange(type);
        for (int c = 0; c < channels; c++)
        {
            CheckParameters(scales[c], zeroPoints[c], qmin, qmax);
        }

        for (int o = 0; o < outer; o++)
        {
            for (int c = 0; c < channels; c++)
            {
                int start = (o * channels + c) * inner;
                for (int i = start; i < start + inner; i++)
                {
                    destination[i] = QuantizeOne(values[i], scales[c], zeroPoints[c], qmin, qmax);
                }
            }
        }
    }

    /// <summary>Dequantizes a row-major tensor with one scale and zero point per slice along <paramref name="axis"/>.</summary>
    /// <param name="values">The quantized elements in row-major order.</param>
    /// <param name="shape">The tensor's dimensions; their product must equal the number of values.</param>
    /// <param name="axis">The channel axis; negative counts from the end.</param>
    /// <param name="scales">One positive, finite scale per channel.</param>
    /// <param name="zeroPoints">One zero point per channel.</param>
    /// <param name="destination">Receives the floats; same length as <paramref name="values"/>.</param>
    public static void DequantizePerChannel(
        ReadOnlySpan<int> values, int[] shape, int axis, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints,
        Span<float> destination)
    {
        var (outer, channels, inner) = SplitAtAxis(values.Length, shape, axis);
        CheckChannelParameters(channels, scales.Length, zeroPoints.Length);
        CheckLengths(values.Length, destination.Length);
        for (int c = 0; c < channels; c++)
        {
            CheckParameters(scales[c], zeroPoints[c], int.MinValue, int.MaxValue);
        }

        for (int o = 0; o < outer; o++)
        {
            for (int c = 0; c < channels; c++)
            {
                int start = (o * channels + c) * inner;
                for (int i = start; i < start + inner; i++)
                {
                    destination[i] = (values[i] - zeroPoints[c]) * scales[c];
                }
            }
        }
    }

    private static int QuantizeOne(float x, float scale, int zeroPoint, int qmin, int qmax)
    {
        if (float.IsNaN(x))
        {
            return zeroPoint;
        }

        // Clamp in float first so that huge quotients and infinities cannot overflow the int conversion.
        float q = MathF.Round(x / scale, MidpointRounding.ToEven) + zeroPoint;
        return (int)Math.Clamp(q, qmin, qmax);
    }

    private static (int Outer, int Channels, int Inner) SplitAtAxis(int length, int[] shape, int axis)
    {
        ArgumentNullException.ThrowIfNull(shape);
        int rank = shape.Length;
        if (axis < -rank || axis >= rank)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), axis, $"Axis must lie in [{-rank}, {rank}) for a rank-{rank} shape.");
        }

        if (axis < 0)
        {
            axis += rank;
        }

        long outer = 1, inner = 1;
        for (int d = 0; d < rank; d++)
        {
            if (shape[d] < 0)
            {
                throw new ArgumentException($"Shape [{string.Join(", ", shape)}] has a negative dimension.", nameof(shape));
            }

            if (d < axis)
            {
                outer *= shape[d];
            }
            else if (d > axis)
            {
                inner *= shape[d];
            }
        }

        if (outer * shape[axis] * inner != length)
        {
            throw new ArgumentException($"Shape [{string.Join(", ", shape)}] does not hold {length} values.", nameof(shape));
        }

        return ((int)outer, shape[axis], (int)inner);
    }

    private static void CheckParameters(float scale, int zeroPoint, int qmin, int qmax)
    {
        if (!float.IsFinite(scale) || scale <= 0f)
        {
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "Scale must be positive and finite.");
        }

        if (zeroPoint < qmin || zeroPoint > qmax)
        {
            throw new ArgumentOutOfRangeException(nameof(zeroPoint), zeroPoint, $"Zero point must lie in [{qmin}, {qmax}].");
        }
    }

    private static void CheckChannelParameters(int channels, int scales, int zeroPoints)
    {
        if (scales != channels || zeroPoints != channels)
        {
            throw new ArgumentException($"Expected {channels} scales and zero points, got {scales} and {zeroPoints}.");
        }
    }

    private static void CheckLengths(int source, int destination)
    {
        if (source != destination)
        {
            throw new ArgumentException($"Destination holds {destination} values; {source} are needed.", nameof(destination));
        }
    }
}
