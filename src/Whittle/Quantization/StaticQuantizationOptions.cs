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

    /// <summary>How activation ranges are chosen from the calibration data.</summary>
    public CalibrationMethod Calibration { get; init; } = CalibrationMethod.MinMax;

    /// <summary>The percentile kept by <see cref="CalibrationMethod.Percentile"/>.</summary>
    public double Percentile { get; init; } = 99.999;

    /// <summary>How many calibration samples to use (the first ones of the data).</summary>
    public int CalibrationSamples { get; init; } = 512;

    /// <summary>Batch size of the calibration runs.</summary>
    public int CalibrationBatchSize { get; init; } = 64;

    /// <summary>Op types to quantize; null quantizes every supported op type.</summary>
    public IReadOnlyList<string>? OpTypes { get; init; }

    /// <summary>Node names or op types to keep in float. A rule that matches nothing is an error.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>Whether activations are symmetric (int8) rather than asymmetric (uint8).</summary>
    public bool SymmetricActivations => ActivationType == QuantizationType.Int8;

    /// <summary>Checks the values; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        if (ActivationType is not (QuantizationType.UInt8 or QuantizationType.Int8))
            throw new ArgumentException($"activation type must be uint8 or int8, not {ActivationType}");
        if (CalibrationSamples < 1) throw new ArgumentException($"calibration samples must be at least 1, got {CalibrationSamples}");
        if (CalibrationBatchSize < 1) throw new ArgumentException($"calibration batch size must be at least 1, got {CalibrationBatchSize}");
        if (!(Percentile > 0 && Percentile <= 100)) throw new ArgumentException($"percentile must be in (0, 100], got {Percentile}");
        if (OpTypes is { Count: 0 }) throw new ArgumentException("the list of op types to quantize is empty");
        if (OpTypes is not null)
        {
            var unknown = OpTypes.Where(o => !QuantizationMarker.SupportedOpTypes.Contains(o)).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException($"cannot quantize op type(s) {string.Join(", ", unknown)}; supported: {string.Join(", ", QuantizationMarker.SupportedOpTypes.Order())}");
        }
    }
}
