namespace Whittle.Quantization;

/// <summary>Options of static (calibrated) int8 quantization in QDQ form. Every default lives here.</summary>
public sealed record StaticQuantizationOptions
{
    /// <summary>Activation type: uint8 asymmetric (default, what ORT's x86 kernels prefer) or int8 symmetric.</summary>
    public QuantizationType ActivationType { get; init; } = QuantizationType.UInt8;

    /// <summary>One weight scale per output channel (default) instead of one per tensor.</summary>
    public bool PerChannel { get; init; } = true;

    /// <summary>7-bit weights, for CPUs without VNNI whose u8×s8 multiply can saturate.</summary>
    public bool ReduceRange { get; init; }

    /// <summary>How activation ranges are chosen from the calibration data (the built-in methods; see <see cref="Calibrator"/> for one of your own).</summary>
    public CalibrationMethod Calibration { get; init; } = CalibrationMethod.MinMax;

    /// <summary>
    /// A calibrator of your own, used instead of <see cref="Calibration"/>; null (the default) uses
    /// the built-in method. Setting both a calibrator and a <see cref="Calibration"/> other than the
    /// default is a contradiction that <see cref="Validate"/> reports.
    /// </summary>
    public IActivationCalibrator? Calibrator { get; init; }

    /// <summary>The percentile kept by <see cref="CalibrationMethod.Percentile"/>.</summary>
    public double Percentile { get; init; } = 99.999;

    /// <summary>How many calibration samples to use (the first ones of the data).</summary>
    public int CalibrationSamples { get; init; } = 512;

    /// <summary>Batch size of the calibration runs.</summary>
    public int CalibrationBatchSize { get; init; } = 64;

    /// <summary>
    /// The per-op quantizers that mark the graph: Whittle's own by default; add yours with
    /// <c>OpQuantizerRegistry.Default.With(...)</c>.
    /// </summary>
    public OpQuantizerRegistry OpQuantizers { get; init; } = OpQuantizerRegistry.Default;

    /// <summary>Op types to quantize; null quantizes every op type <see cref="OpQuantizers"/> handles.</summary>
    public IReadOnlyList<string>? OpTypes { get; init; }

    /// <summary>Node names or op types to keep in float. A rule that matches nothing is an error.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>Whether activations are symmetric (int8) rather than asymmetric (uint8).</summary>
    public bool SymmetricActivations => ActivationType == QuantizationType.Int8;

    /// <summary>The calibration as reports and the model's metadata name it: the custom calibrator's name, or the method.</summary>
    public string CalibrationName => Calibrator?.Name ?? Calibration.ToString();

    /// <summary>Checks the values; throws <see cref="InvalidOptionException"/> naming the bad one.</summary>
    /// <exception cref="ArgumentNullException"><see cref="OpQuantizers"/> or <see cref="Exclude"/> was set to null.</exception>
    /// <exception cref="InvalidOptionException">A value is out of range or contradicts another.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(OpQuantizers);
        ArgumentNullException.ThrowIfNull(Exclude);
        if (ActivationType is not (QuantizationType.UInt8 or QuantizationType.Int8))
            throw OptionChecks.Invalid(nameof(ActivationType), "UInt8 or Int8", ActivationType);
        OptionChecks.Defined(Calibration, nameof(Calibration));
        if (Calibrator is not null)
        {
            if (string.IsNullOrWhiteSpace(Calibrator.Name))
                throw new InvalidOptionException(nameof(Calibrator), $"the calibrator {Calibrator.GetType().FullName} has a blank name");
            if (Calibration != CalibrationMethod.MinMax)
                throw new InvalidOptionException(nameof(Calibrator),
                    $"the calibrator '{Calibrator.Name}' replaces the built-in calibration, but Calibration is also set to {Calibration}; set one of them");
        }
        OptionChecks.Positive(CalibrationSamples, nameof(CalibrationSamples));
        OptionChecks.Positive(CalibrationBatchSize, nameof(CalibrationBatchSize));
        OptionChecks.InRange(Percentile, nameof(Percentile), 0, 100, includeMinimum: false, includeMaximum: true);
        if (OpTypes is { Count: 0 }) throw new InvalidOptionException(nameof(OpTypes), "OpTypes is empty; pass null to quantize every supported op type");
        if (OpTypes is not null)
        {
            var supported = OpQuantizers.OpTypes;
            var unknown = OpTypes.Where(o => !supported.Contains(o)).ToList();
            if (unknown.Count > 0)
                throw new InvalidOptionException(nameof(OpTypes),
                    $"cannot quantize op type(s) {string.Join(", ", unknown)}; supported: {string.Join(", ", supported.Order(StringComparer.Ordinal))}");
        }
    }
}
