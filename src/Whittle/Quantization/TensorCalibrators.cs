namespace Whittle.Quantization;

/// <summary>
/// Builds the <see cref="ITensorCalibrator"/> for a <see cref="CalibrationMethod"/>, so a
/// calibration runner makes one per tensor with one call. Every setting left null keeps the
/// calibrator's own default (each default lives in its calibrator's constructor only).
/// </summary>
public static class TensorCalibrators
{
    /// <summary>Creates a fresh calibrator for one tensor.</summary>
    /// <param name="method">The calibration method.</param>
    /// <param name="percentile">Percentile of |x| kept (<see cref="CalibrationMethod.Percentile"/> only; default 99.999).</param>
    /// <param name="bins">Histogram bins (Percentile, Entropy, Mse; default 2048).</param>
    /// <param name="quantizedBins">Levels of the entropy search (Entropy only; default 128).</param>
    /// <param name="mseLevels">Steps between 0 and t (Mse only; default 127, see <see cref="MseCalibrator.LevelsFor"/>).</param>
    /// <param name="movingAverageConstant">Moving-average constant (MinMax only; default none).</param>
    /// <returns>The calibrator.</returns>
    /// <exception cref="ArgumentException">A setting was given that the method does not use.</exception>
    public static ITensorCalibrator Create(
        CalibrationMethod method,
        double? percentile = null,
        int? bins = null,
        int? quantizedBins = null,
        int? mseLevels = null,
        double? movingAverageConstant = null)
    {
        // A setting the chosen method ignores is a caller mistake, not something to drop silently.
        Reject(method != CalibrationMethod.Percentile && percentile is not null, nameof(percentile), method);
        Reject(method == CalibrationMethod.MinMax && bins is not null, nameof(bins), method);
        Reject(method != CalibrationMethod.Entropy && quantizedBins is not null, nameof(quantizedBins), method);
        Reject(method != CalibrationMethod.Mse && mseLevels is not null, nameof(mseLevels), method);
        Reject(method != CalibrationMethod.MinMax && movingAverageConstant is not null, nameof(movingAverageConstant), method);
        return method switch
        {
            CalibrationMethod.MinMax => new MinMaxCalibrator(movingAverageConstant),
            CalibrationMethod.Percentile => (percentile, bins) switch
            {
                (null, null) => new PercentileCalibrator(),
                ({ } p, null) => new PercentileCalibrator(p),
                (null, { } b) => new PercentileCalibrator(bins: b),
                ({ } p, { } b) => new PercentileCalibrator(p, b),
            },
            CalibrationMethod.Entropy => quantizedBins is { } q ? new EntropyCalibrator(q, bins) : new EntropyCalibrator(bins: bins),
            CalibrationMethod.Mse => mseLevels is { } l ? new MseCalibrator(l, bins) : new MseCalibrator(bins: bins),
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, "unknown calibration method"),
        };
    }

    private static void Reject(bool given, string name, CalibrationMethod method)
    {
        if (given) throw new ArgumentException($"{name} does not apply to {method} calibration", name);
    }
}
