using System.Text.Json;
using Whittle.Engine.Converters;
using static TorchSharp.torch;

namespace Whittle.Tests.Engine.Converters;

/// <summary>
/// <see cref="FakeQuantize.Apply"/> and <see cref="FakeQuantize.ApplyLearned"/> against PyTorch's
/// exact values (tests/fixtures/qat/fake_quant_reference.json, made by
/// make_fake_quant_reference.py with torch 1.13, float32): forward, x.grad and scale.grad of
/// <c>torch.fake_quantize_per_{tensor,channel}_affine</c> and the learnable (LSQ) variants, on
/// rounding ties, range ends, half-step-beyond ties and saturation; and
/// <see cref="FakeQuantize.LsqGradientScale"/> against a hand-computed table.
/// </summary>
[Collection(Training.TorchCollection.Name)]
public sealed class FakeQuantizeTests
{
    private static readonly Lazy<JsonElement> Reference = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixtures, "qat", "fake_quant_reference.json"))).RootElement);

    private static JsonElement Case(string name) =>
        Reference.Value.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Reference.Value.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    [Fact]
    public void Reference_CoversTheRangesAndBothKinds()
    {
        var cases = Reference.Value.GetProperty("cases").EnumerateArray().ToArray();
        var ranges = cases.Select(c => (c.GetProperty("qmin").GetInt64(), c.GetProperty("qmax").GetInt64())).ToHashSet();
        Assert.Superset(new HashSet<(long, long)> { (-128, 127), (0, 255), (-8, 7), (-7, 7) }, ranges);
        Assert.Contains(cases, c => c.GetProperty("kind").GetString() == "per_tensor");
        Assert.Contains(cases, c => c.GetProperty("kind").GetString() == "per_channel");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Apply_MatchesTorchFakeQuantize(string name)
    {
        var c = Case(name);
        using var scope = NewDisposeScope();
        var x = Input(c).requires_grad_();

        var y = FakeQuantize.Apply(x, Scale(c), ZeroPoint(c), Long(c, "qmin"), Long(c, "qmax"), Long(c, "axis"));
        y.backward([Dy(c)]);

        var expected = c.GetProperty("fake_quantize");
        Close(Doubles(expected.GetProperty("y")), Values(y), 0, name + " y");
        // The mask is 0 or 1 times dY, both exact in float32.
        Assert.Equal(Doubles(expected.GetProperty("x_grad")), Values(x.grad!));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ApplyLearned_MatchesTorchLearnableFakeQuantize(string name)
    {
        var c = Case(name);
        using var scope = NewDisposeScope();
        var x = Input(c).requires_grad_();
        var scale = Scale(c).requires_grad_();
        var zeroPoint = ZeroPoint(c).requires_grad_();

        var y = FakeQuantize.ApplyLearned(x, scale, zeroPoint, Long(c, "qmin"), Long(c, "qmax"), Long(c, "axis"),
            c.GetProperty("grad_factor").GetDouble());
        y.backward([Dy(c)]);

        var expected = c.GetProperty("learnable");
        Close(Doubles(expected.GetProperty("y")), Values(y), 0, name + " y");
        Assert.Equal(Doubles(expected.GetProperty("x_grad")), Values(x.grad!));
        Close(Doubles(expected.GetProperty("scale_grad")), Values(scale.grad!), ScaleGradientTolerance(c), name + " scale.grad");
        Assert.True(zeroPoint.grad is null, "the zero point is detached");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ApplyLearned_ForwardIsBitExactWithApply(string name)
    {
        var c = Case(name);
        using var scope = NewDisposeScope();
        var x = Input(c);
        var fixedScale = FakeQuantize.Apply(x, Scale(c), ZeroPoint(c), Long(c, "qmin"), Long(c, "qmax"), Long(c, "axis"));
        var learned = FakeQuantize.ApplyLearned(x, Scale(c).requires_grad_(), ZeroPoint(c), Long(c, "qmin"), Long(c, "qmax"),
            Long(c, "axis"), 0.5);
        Assert.Equal(Bits(fixedScale), Bits(learned));
    }

    /// <summary>The rounding-order difference the reference pins: odd zero point 3, s = 0.5.</summary>
    [Fact]
    public void ApplyLearned_RoundsXOverScalePlusZeroPoint_AsPyTorchsLearnableKernelDoes()
    {
        using var scope = NewDisposeScope();
        // x / s = 0.5 and 1.5 (ties), -3.5 and 123.5 (ties half a step beyond [0 - 3, 255 - 3]).
        var x = tensor(new float[] { 0.25f, 0.75f, -1.75f, 126.25f }, requires_grad: true);
        var scale = tensor(new float[] { 0.5f }, requires_grad: true);

        var y = FakeQuantize.ApplyLearned(x, scale, tensor(3f), 0, 255, 0, 1.0);
        y.backward([ones_like(y)]);

        // Forward: round(x / s) + 3 = 3, 5, -1 (clamped to 0), 255; the same as Apply.
        Assert.Equal(new float[] { 0f, 1f, -1.5f, 126f }, Values(y).Select(v => (float)v));
        // Gradient codes round(x / s + 3) = 4, 4, 0 (-0.5 to even), 256 -> (c - 3) - x / s or saturated.
        Assert.Equal(new double[] { 1, 1, 1, 0 }, Values(x.grad!));
        Assert.Equal(0.5 - 0.5 + 0.5 + 252, Values(scale.grad!).Single(), 6);
    }

    [Fact]
    public void ApplyLearned_InfiniteInputs_GiveFiniteGradients()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { float.NegativeInfinity, 1f, float.PositiveInfinity }, requires_grad: true);
        var scale = tensor(0.5f, requires_grad: true);

        var y = FakeQuantize.ApplyLearned(x, scale, tensor(0f), -8, 7, 0, 1.0);
        y.sum().backward();

        Assert.Equal(new double[] { -4, 1, 3.5 }, Values(y));
        Assert.Equal(new double[] { 0, 1, 0 }, Values(x.grad!));
        Assert.Equal(-8.0 + 0 + 7, Values(scale.grad!).Single());
    }

    [Fact]
    public void ApplyLearned_NegativeOrNonFiniteGradScale_Throws()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1f });
        Assert.Throws<ArgumentOutOfRangeException>(() => FakeQuantize.ApplyLearned(x, tensor(0.1f), tensor(0f), -128, 127, 0, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => FakeQuantize.ApplyLearned(x, tensor(0.1f), tensor(0f), -128, 127, 0, double.NaN));
        Assert.Throws<ArgumentException>(() => FakeQuantize.ApplyLearned(x, tensor(0.1f), tensor(0f), 127, 127, 0, 1));
    }

    /// <summary>
    /// g = 1 / sqrt(N * Q_P), by hand: exact where N * Q_P is a square, otherwise to 17 digits
    /// (1 / sqrt of the product computed to 30 digits with Python's decimal module).
    /// </summary>
    [Theory]
    [InlineData(1L, 1L, 1.0)]
    [InlineData(4L, 1L, 0.5)]
    [InlineData(127L, 127L, 1.0 / 127)]
    [InlineData(1020L, 255L, 1.0 / 510)]          // 1020 * 255 = 510^2
    [InlineData(63L, 7L, 1.0 / 21)]               // 63 * 7 = 21^2
    [InlineData(28L, 7L, 1.0 / 14)]               // 28 * 7 = 14^2
    [InlineData(576L, 127L, 0.0036973187892338074)]  // 3x3x64 conv weights per output channel, int8
    [InlineData(784L, 255L, 0.0022365153253041053)]  // a 28x28 activation, uint8
    [InlineData(20L, 127L, 0.019841894753313626)]  // the reference's int8_per_tensor_lsq_grad_factor
    [InlineData(2L, 7L, 0.26726124191242438)]     // 1 / sqrt(14)
    public void LsqGradientScale_IsOneOverRootOfElementsTimesQmax(long elements, long qmax, double expected) =>
        Assert.Equal(expected, FakeQuantize.LsqGradientScale(elements, qmax), 1e-14);

    [Theory]
    [InlineData(0L, 127L)]
    [InlineData(16L, 0L)]
    [InlineData(-1L, 7L)]
    public void LsqGradientScale_NonPositiveArguments_Throw(long elements, long qmax) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => FakeQuantize.LsqGradientScale(elements, qmax));

    /// <summary>PyTorch's grad_factor multiplies scale.grad and nothing else; so does gradScale.</summary>
    [Fact]
    public void ApplyLearned_GradScaleMultipliesTheScaleGradientOnly()
    {
        var plain = Case("int8_per_tensor_ties_and_saturation").GetProperty("learnable");
        var scaled = Case("int8_per_tensor_lsq_grad_factor");
        double g = FakeQuantize.LsqGradientScale(20, 127);
        Assert.Equal(g, scaled.GetProperty("grad_factor").GetDouble(), 1e-15);
        Assert.Equal(plain.GetProperty("scale_grad")[0].GetDouble() * g,
            scaled.GetProperty("learnable").GetProperty("scale_grad")[0].GetDouble(), 1e-6);
        Assert.Equal(Doubles(plain.GetProperty("x_grad")), Doubles(scaled.GetProperty("learnable").GetProperty("x_grad")));
    }

    // ---------------------------------------------------------------- helpers

    private static long Long(JsonElement c, string key) => c.GetProperty(key).GetInt64();

    private static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();

    private static long[] Shape(JsonElement c) => c.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();

    private static Tensor Input(JsonElement c) => tensor(Doubles(c.GetProperty("x")).Select(v => (float)v).ToArray(), Shape(c));

    private static Tensor Dy(JsonElement c) => tensor(Doubles(c.GetProperty("dy")).Select(v => (float)v).ToArray(), Shape(c));

    private static Tensor Scale(JsonElement c) => tensor(Doubles(c.GetProperty("scale")).Select(v => (float)v).ToArray());

    private static Tensor ZeroPoint(JsonElement c) => tensor(Doubles(c.GetProperty("zero_point")).Select(v => (float)v).ToArray());

    private static double[] Values(Tensor t) => t.detach().to(ScalarType.Float64).contiguous().data<double>().ToArray();

    private static int[] Bits(Tensor t) => t.detach().contiguous().data<float>().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();

    /// <summary>
    /// 1e-6 of what the sum is made of: each element's term (c - z) - x / s carries the float32
    /// rounding of x / s, about 6e-8 * |x / s|, whichever way (divide or multiply by 1 / s) it is
    /// computed, so the tolerance scales with grad_factor * sum |dY| * (1 + |x / s|) over the channel,
    /// not with the (possibly cancelling) result.
    /// </summary>
    private static double[] ScaleGradientTolerance(JsonElement c)
    {
        var x = Doubles(c.GetProperty("x"));
        var dy = Doubles(c.GetProperty("dy"));
        var scale = Doubles(c.GetProperty("scale"));
        var shape = Shape(c);
        double factor = c.GetProperty("grad_factor").GetDouble();
        var magnitude = new double[scale.Length];
        long axis = c.GetProperty("kind").GetString() == "per_tensor" ? -1 : (Long(c, "axis") + shape.Length) % shape.Length;
        long inner = axis < 0 ? 1 : shape.Skip((int)axis + 1).Aggregate(1L, (a, b) => a * b);
        for (int i = 0; i < x.Length; i++)
        {
            int channel = axis < 0 ? 0 : (int)(i / inner % shape[axis]);
            magnitude[channel] += factor * Math.Abs(dy[i]) * (1 + Math.Abs(x[i] / scale[channel]));
        }
        return magnitude.Select(m => 1e-6 * m).ToArray();
    }

    private static void Close(double[] expected, double[] actual, double tolerance, string what) =>
        Close(expected, actual, Enumerable.Repeat(tolerance, expected.Length).ToArray(), what);

    private static void Close(double[] expected, double[] actual, double[] tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance[i],
                $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (difference {Math.Abs(expected[i] - actual[i]):E2}, tolerance {tolerance[i]:E2})");
    }
}
