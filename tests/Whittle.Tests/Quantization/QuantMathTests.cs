using Whittle.Quantization;

namespace Whittle.Tests.Quantization;

// Expected values are computed by hand with ORT's quant_utils formulas (compute_scale_zp,
// get_qmin_qmax_for_qType, quantize_nparray): scale = (rmax - rmin) / (qmax - qmin) in double,
// then stored as float32; zero point = roundHalfEven(qmin - rmin / scale).
public class QuantMathTests
{
    [Theory]
    //                          type                     reduce symm   qmin  qmax
    [InlineData(QuantizationType.UInt8, false, false, 0, 255)]
    [InlineData(QuantizationType.Int8, false, false, -128, 127)]
    [InlineData(QuantizationType.UInt8, false, true, 0, 254)]     // ORT's symmetric table
    [InlineData(QuantizationType.Int8, false, true, -127, 127)]   // -128 dropped so that -q fits
    [InlineData(QuantizationType.UInt8, true, false, 0, 127)]     // 7 bits
    [InlineData(QuantizationType.Int8, true, false, -64, 64)]     // ORT keeps +64, not +63
    [InlineData(QuantizationType.Int8, true, true, -64, 64)]      // reduce_range wins over symmetric
    [InlineData(QuantizationType.UInt4, false, false, 0, 15)]
    [InlineData(QuantizationType.Int4, false, false, -8, 7)]
    [InlineData(QuantizationType.Int4, false, true, -8, 7)]       // no symmetric entry for 4 bits
    [InlineData(QuantizationType.UInt4, true, false, 0, 7)]
    [InlineData(QuantizationType.Int4, true, false, -4, 3)]
    public void Target_range_matches_ort_tables(QuantizationType type, bool reduce, bool symmetric, int qmin, int qmax)
    {
        Assert.Equal((qmin, qmax), QuantMath.TargetRange(type, reduce, symmetric));
    }

    [Fact]
    public void Storage_range_is_the_full_type_range()
    {
        Assert.Equal((0, 255), QuantMath.StorageRange(QuantizationType.UInt8));
        Assert.Equal((-128, 127), QuantMath.StorageRange(QuantizationType.Int8));
        Assert.Equal((0, 15), QuantMath.StorageRange(QuantizationType.UInt4));
        Assert.Equal((-8, 7), QuantMath.StorageRange(QuantizationType.Int4));
    }

    public static TheoryData<float, float, QuantizationType, bool, bool, float, int> ScaleRows => new()
    {
        // asymmetric uint8 [-1, 3]: scale = 4/255; zp = round(0 + 1/(4/255)) = round(63.75) = 64
        { -1f, 3f, QuantizationType.UInt8, false, false, (float)(4.0 / 255), 64 },
        // symmetric int8 [-2.5, 1]: absmax 2.5 -> [-2.5, 2.5] on [-127, 127]; scale = 5/254; zp = round(0/2) = 0
        { -2.5f, 1f, QuantizationType.Int8, true, false, (float)(5.0 / 254), 0 },
        // symmetric uint8 [-1, 1] on [0, 254]: scale = 2/254; zp = round((0 + 254)/2) = 127
        { -1f, 1f, QuantizationType.UInt8, true, false, (float)(2.0 / 254), 127 },
        // reduced uint8 [-1, 3] on [0, 127]: scale = 4/127; zp = round(1/(4/127)) = round(31.75) = 32
        { -1f, 3f, QuantizationType.UInt8, false, true, (float)(4.0 / 127), 32 },
        // reduced int8 [-1, 3] on [-64, 64]: scale = 4/128 = 0.03125; zp = round(-64 + 1/0.03125) = -32
        { -1f, 3f, QuantizationType.Int8, false, true, 0.03125f, -32 },
        // reduced symmetric int8 [-2, 1] -> [-2, 2] on [-64, 64]: scale = 4/128; zp = round(0/2) = 0
        { -2f, 1f, QuantizationType.Int8, true, true, 0.03125f, 0 },
        // reduced symmetric uint8 [-1, 1] on [0, 127]: scale = 2/127; zp = round(63.5) = 64 (half to even)
        { -1f, 1f, QuantizationType.UInt8, true, true, (float)(2.0 / 127), 64 },
        // zero range: scale 0 < float32 tiny -> scale 1, zp 0
        { 0f, 0f, QuantizationType.UInt8, false, false, 1f, 0 },
        // zero range, symmetric uint8: the tiny-scale branch comes first, so zp 0, not 127
        { 0f, 0f, QuantizationType.UInt8, true, false, 1f, 0 },
        // [2, 5] excludes 0 -> [0, 5]: scale = 5/255; zp = round(0 - 0) = 0
        { 2f, 5f, QuantizationType.UInt8, false, false, (float)(5.0 / 255), 0 },
        // int8 [2, 5] -> [0, 5] on [-128, 127]: scale = 5/255; zp = round(-128 - 0) = -128
        { 2f, 5f, QuantizationType.Int8, false, false, (float)(5.0 / 255), -128 },
        // all negative [-2, -1] -> [-2, 0]: scale = 2/255; zp = round(2/(2/255)) = 255
        { -2f, -1f, QuantizationType.UInt8, false, false, (float)(2.0 / 255), 255 },
        // tiny range [0, 1e-36]: scale = 1e-36/255 = 3.9e-39 < tiny (1.18e-38) -> scale 1, zp 0
        { 0f, 1e-36f, QuantizationType.UInt8, false, false, 1f, 0 },
        // just above: [0, 1e-35]: scale = 1e-35/255 = 3.92e-38 >= tiny, kept; zp 0
        { 0f, 1e-35f, QuantizationType.UInt8, false, false, (float)((double)1e-35f / 255), 0 },
        // int4 [-1, 3] on [-8, 7]: scale = 4/15; zp = round(-8 + 1/(4/15)) = round(-4.25) = -4
        { -1f, 3f, QuantizationType.Int4, false, false, (float)(4.0 / 15), -4 },
    };

    [Theory]
    [MemberData(nameof(ScaleRows))]
    public void Scale_and_zero_point_match_hand_values(
        float rmin, float rmax, QuantizationType type, bool symmetric, bool reduce, float scale, int zeroPoint)
    {
        var result = QuantMath.ScaleZeroPoint(rmin, rmax, type, symmetric, reduce);
        Assert.Equal(scale, result.Scale);
        Assert.Equal(zeroPoint, result.ZeroPoint);
    }

    [Fact]
    public void Scale_from_values_uses_their_min_and_max_and_empty_gives_identity()
    {
        Assert.Equal(((float)(4.0 / 255), 64),
            QuantMath.ScaleZeroPoint([0.5f, -1f, 3f, 2f], QuantizationType.UInt8, symmetric: false, reduceRange: false));
        Assert.Equal((1f, 0), QuantMath.ScaleZeroPoint([], QuantizationType.Int8, symmetric: true, reduceRange: false));
    }

    [Theory]
    [InlineData(float.NaN, 1f)]
    [InlineData(0f, float.PositiveInfinity)]
    [InlineData(2f, 1f)]
    public void Invalid_ranges_are_rejected(float rmin, float rmax)
    {
        Assert.Throws<ArgumentException>(() =>
            QuantMath.ScaleZeroPoint(rmin, rmax, QuantizationType.UInt8, symmetric: false, reduceRange: false));
    }

    [Theory]
    // scale 1, zp 0, int8: x/1 rounded half to even
    [InlineData(2.5f, 1f, 0, QuantizationType.Int8, 2)]
    [InlineData(3.5f, 1f, 0, QuantizationType.Int8, 4)]
    [InlineData(-2.5f, 1f, 0, QuantizationType.Int8, -2)]
    [InlineData(0.5f, 1f, 0, QuantizationType.Int8, 0)]
    [InlineData(1.5f, 1f, 0, QuantizationType.Int8, 2)]
    [InlineData(-0.5f, 1f, 0, QuantizationType.Int8, 0)]
    // 1.25 / 0.5 = 2.5 -> 2, + 10 = 12
    [InlineData(1.25f, 0.5f, 10, QuantizationType.UInt8, 12)]
    // saturation to the storage range, not the target range
    [InlineData(300f, 1f, 0, QuantizationType.Int8, 127)]
    [InlineData(-300f, 1f, 0, QuantizationType.Int8, -128)]
    [InlineData(-1f, 1f, 0, QuantizationType.UInt8, 0)]
    [InlineData(256f, 1f, 0, QuantizationType.UInt8, 255)]
    [InlineData(float.PositiveInfinity, 1f, 0, QuantizationType.UInt8, 255)]
    [InlineData(float.NegativeInfinity, 1f, 0, QuantizationType.Int8, -128)]
    [InlineData(9f, 1f, 0, QuantizationType.Int4, 7)]
    [InlineData(-9f, 1f, 0, QuantizationType.Int4, -8)]
    [InlineData(16f, 1f, 0, QuantizationType.UInt4, 15)]
    // 120/1 + 10 = 130 > 127 saturates even though 120 alone fits
    [InlineData(120f, 1f, 10, QuantizationType.Int8, 127)]
    // NaN maps to the zero point
    [InlineData(float.NaN, 1f, 5, QuantizationType.UInt8, 5)]
    public void Quantize_rounds_half_to_even_and_saturates(float x, float scale, int zeroPoint, QuantizationType type, int expected)
    {
        var destination = new int[1];
        QuantMath.Quantize([x], scale, zeroPoint, type, destination);
        Assert.Equal(expected, destination[0]);
    }

    [Fact]
    public void Quantize_and_dequantize_uint8_minus_one_to_three()
    {
        float scale = (float)(4.0 / 255);
        var q = new int[3];
        // -1/(4/255) = -63.75 -> -64 + 64 = 0; 0 -> 64; 3/(4/255) = 191.25 -> 191 + 64 = 255
        QuantMath.Quantize([-1f, 0f, 3f], scale, 64, QuantizationType.UInt8, q);
        Assert.Equal([0, 64, 255], q);

        var back = new float[3];
        // (0 - 64) * 4/255 = -1.00392; 0; (255 - 64) * 4/255 = 2.99608
        QuantMath.Dequantize(q, scale, 64, back);
        Assert.Equal(-256.0 / 255, back[0], 1e-6);
        Assert.Equal(0f, back[1]);
        Assert.Equal(764.0 / 255, back[2], 1e-6);
    }

    [Fact]
    public void Quantize_rejects_bad_parameters_and_lengths()
    {
        var one = new int[1];
        Assert.Throws<ArgumentOutOfRangeException>(() => QuantMath.Quantize([1f], 0f, 0, QuantizationType.UInt8, one));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuantMath.Quantize([1f], float.NaN, 0, QuantizationType.UInt8, one));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuantMath.Quantize([1f], 1f, 256, QuantizationType.UInt8, one));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuantMath.Quantize([1f], 1f, 8, QuantizationType.Int4, one));
        Assert.Throws<ArgumentException>(() => QuantMath.Quantize([1f, 2f], 1f, 0, QuantizationType.UInt8, one));
    }

    // [[-1, 0.5, 3],
    //  [-2, 1,   2]]
    private static readonly float[] Tensor = [-1f, 0.5f, 3f, -2f, 1f, 2f];

    [Fact]
    public void Per_channel_axis_0_takes_each_row()
    {
        // row 0: [-1, 3] -> scale 4/255, zp round(63.75) = 64
        // row 1: [-2, 2] -> scale 4/255, zp round(2/(4/255)) = round(127.5) = 128 (half to even)
        var (scales, zeroPoints) = QuantMath.ScaleZeroPointPerChannel(
            Tensor, [2, 3], 0, QuantizationType.UInt8, symmetric: false, reduceRange: false);
        float s = (float)(4.0 / 255);
        Assert.Equal([s, s], scales);
        Assert.Equal([64, 128], zeroPoints);

        var q = new int[6];
        QuantMath.QuantizePerChannel(Tensor, [2, 3], 0, scales, zeroPoints, QuantizationType.UInt8, q);
        // row 0: -63.75 -> -64 + 64 = 0; 31.875 -> 32 + 64 = 96; 191.25 -> 191 + 64 = 255
        // row 1: float32(4/255) is slightly above 4/255, so -2/s = -127.49999 -> -127 + 128 = 1;
        //        63.75 -> 64 + 128 = 192; 127.49999 -> 127 + 128 = 255
        Assert.Equal([0, 96, 255, 1, 192, 255], q);

        var back = new float[6];
        QuantMath.DequantizePerChannel(q, [2, 3], 0, scales, zeroPoints, back);
        // every element is within half a step of its original
        Assert.All(Enumerable.Range(0, 6), i => Assert.InRange(Math.Abs(back[i] - Tensor[i]), 0, s / 2 + 1e-6));
    }

    [Fact]
    public void Per_channel_axis_1_takes_each_column_and_negative_axis_is_the_same()
    {
        // col 0: {-1, -2} -> [-2, 0]: scale 2/255, zp round(2/(2/255)) = 255
        // col 1: {0.5, 1} -> [0, 1]:  scale 1/255, zp 0
        // col 2: {3, 2}   -> [0, 3]:  scale 3/255, zp 0
        float[] expectedScales = [(float)(2.0 / 255), (float)(1.0 / 255), (float)(3.0 / 255)];
        int[] expectedZeroPoints = [255, 0, 0];
        foreach (int axis in new[] { 1, -1 })
        {
            var (scales, zeroPoints) = QuantMath.ScaleZeroPointPerChannel(
                Tensor, [2, 3], axis, QuantizationType.UInt8, symmetric: false, reduceRange: false);
            Assert.Equal(expectedScales, scales);
            Assert.Equal(expectedZeroPoints, zeroPoints);

            var q = new int[6];
            QuantMath.QuantizePerChannel(Tensor, [2, 3], axis, scales, zeroPoints, QuantizationType.UInt8, q);
            // float32(k/255) lies slightly above k/255, so the exact halves land just inside:
            // row 0: -1/(2/255) = -127.49999 -> -127 + 255 = 128; 0.5/(1/255) = 127.49999 -> 127; 3/(3/255) = 255
            // row 1: -2/(2/255) = -255 -> 0;  1/(1/255) = 255;  2/(3/255) = 170
            Assert.Equal([128, 127, 255, 0, 255, 170], q);
        }
    }

    [Fact]
    public void Per_channel_symmetric_int8_shares_zero_point_zero()
    {
        // axis 0 rows: [-1, 3] -> absmax 3, scale 6/254; [-2, 2] -> absmax 2, scale 4/254; zp 0 both
        var (scales, zeroPoints) = QuantMath.ScaleZeroPointPerChannel(
            Tensor, [2, 3], 0, QuantizationType.Int8, symmetric: true, reduceRange: false);
        Assert.Equal([(float)(6.0 / 254), (float)(4.0 / 254)], scales);
        Assert.Equal([0, 0], zeroPoints);
    }

    [Fact]
    public void Per_channel_rejects_mismatched_shape_axis_and_parameters()
    {
        Assert.Throws<ArgumentException>(() => QuantMath.ScaleZeroPointPerChannel(
            Tensor, [2, 2], 0, QuantizationType.UInt8, false, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuantMath.ScaleZeroPointPerChannel(
            Tensor, [2, 3], 2, QuantizationType.UInt8, false, false));
        Assert.Throws<ArgumentException>(() => QuantMath.QuantizePerChannel(
            Tensor, [2, 3], 0, [1f], [0], QuantizationType.UInt8, new int[6]));
    }

    [Fact]
    public void Sqnr_of_identical_arrays_is_infinite_and_error_zero()
    {
        float[] a = [1f, -2f, 3f];
        Assert.Equal(double.PositiveInfinity, QuantizationError.Sqnr(a, a));
        Assert.Equal(0.0, QuantizationError.MaxAbsError(a, a));
    }

    [Fact]
    public void Cosine_matches_hand_values_and_defines_the_zero_cases()
    {
        // [1,2,3,4]·[1,2,3,5] = 34; |a|² = 30, |b|² = 39.
        Assert.Equal(34 / Math.Sqrt(30.0 * 39.0), QuantizationError.Cosine([1f, 2f, 3f, 4f], [1f, 2f, 3f, 5f]), 12);
        Assert.Equal(-1.0, QuantizationError.Cosine([1f, -2f], [-2f, 4f]), 12);
        Assert.Equal(1.0, QuantizationError.Cosine([0f, 0f], [0f, 0f]));
        Assert.Equal(0.0, QuantizationError.Cosine([0f, 0f], [1f, 0f]));
    }

    [Fact]
    public void Sqnr_of_a_known_perturbation_matches_hand_value()
    {
        // signal 1+4+9+16 = 30, noise (4-5)^2 = 1 -> 10 log10(30) = 14.7712125472 dB
        Assert.Equal(14.771212547196624, QuantizationError.Sqnr([1f, 2f, 3f, 4f], [1f, 2f, 3f, 5f]), 12);
        // signal 9+16 = 25, noise 0 + 1 -> 10 log10(25) = 13.9794000867 dB
        Assert.Equal(13.979400086720377, QuantizationError.Sqnr([3f, 4f], [3f, 3f]), 12);
        Assert.Equal(1.0, QuantizationError.MaxAbsError([1f, 2f, 3f, 4f], [1f, 2f, 3f, 5f]));
        Assert.Equal(0.5, QuantizationError.MaxAbsError([1f, -2f], [1.25f, -1.5f]));
        Assert.Throws<ArgumentException>(() => QuantizationError.Sqnr([1f], [1f, 2f]));
    }
}
