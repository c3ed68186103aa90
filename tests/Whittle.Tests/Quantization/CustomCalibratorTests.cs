using Whittle.Quantization;
using Whittle.Runtime;
using Whittle.Zoo;

namespace Whittle.Tests.Quantization;

public class CustomCalibratorTests
{
    /// <summary>A user's rule: the symmetric range [-2m, 2m] with m the largest |x| seen.</summary>
    private sealed class TwiceAbsMax : IActivationCalibrator
    {
        private readonly List<string> _tensors = [];

        public string Name => "twice-absmax";

        public IReadOnlyList<string> Tensors => _tensors;

        public ITensorCalibrator Create(string tensor, StaticQuantizationOptions options)
        {
            lock (_tensors) _tensors.Add(tensor);
            return new Calibrator();
        }

        private sealed class Calibrator : ITensorCalibrator
        {
            private float _max;

            public void Add(ReadOnlySpan<float> batch)
            {
                foreach (var v in batch) _max = Math.Max(_max, Math.Abs(v));
            }

            public CalibratedRange Range => new(-2 * _max, 2 * _max);
        }
    }

    [Fact]
    public void A_users_calibrator_decides_every_range_and_the_scales()
    {
        var model = Mlp.Create(new MlpOptions(inputShape: [8], hiddenSizes: [16], classes: 3, dropout: 0, seed: 4));
        var prepared = StaticQuantizer.Prepare(model);
        List<IReadOnlyDictionary<string, RuntimeTensor>> batches;
        using (var s = new OnnxRuntimeSession(model))
            batches = Enumerable.Range(0, 3).Select(i => (IReadOnlyDictionary<string, RuntimeTensor>)s.SampleInputs(16, seed: i)).ToList();

        var minMax = StaticQuantizer.Calibrate(prepared, batches, new StaticQuantizationOptions());
        var calibrator = new TwiceAbsMax();
        var options = new StaticQuantizationOptions(calibrator: calibrator);
        var custom = StaticQuantizer.Calibrate(prepared, batches, options);

        Assert.Equal(minMax.Keys.Order(), calibrator.Tensors.Order());
        foreach (var (tensor, range) in minMax)
        {
            float m = Math.Max(Math.Abs(range.Min), Math.Abs(range.Max));
            Assert.Equal(new CalibratedRange(-2 * m, 2 * m), custom[tensor]);
        }

        var (quantized, marking) = StaticQuantizer.Apply(prepared, custom, options);
        foreach (var activation in marking.ActivationsToCalibrate)
        {
            var (scale, zeroPoint) = QuantMath.ScaleZeroPoint(custom[activation].Min, custom[activation].Max, QuantizationType.UInt8, symmetric: false, reduceRange: false);
            Assert.Equal(new ActivationParameters(scale, zeroPoint, QuantizationType.UInt8), quantized.Parameters[activation]);
        }
        Assert.Contains("twice-absmax calibration", quantized.Model.Metadata[QdqRewriter.MetadataKey]);
        Assert.Equal("twice-absmax", options.CalibrationName);
        Assert.Equal("MinMax", new StaticQuantizationOptions().CalibrationName);
    }

    [Fact]
    public void A_calibrator_and_a_built_in_method_together_are_a_contradiction()
    {
        var e = Assert.Throws<InvalidOptionException>(() =>
            new StaticQuantizationOptions(calibrator: new TwiceAbsMax(), calibration: CalibrationMethod.Entropy));
        Assert.Equal("Calibrator", e.Option);
        Assert.Equal("the calibrator 'twice-absmax' replaces the built-in calibration, but Calibration is also set to Entropy; set one of them", e.Message);
    }
}
