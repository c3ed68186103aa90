namespace Whittle.Quantization;

/// <summary>Options of static (calibrated) int8 quantization in QDQ form. Every default lives here.</summary>
public sealed class StaticQuantizationOptions
{
    /// <summary>The options with every default.</summary>
    public static StaticQuantizationOptions Default { get; } = new();

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="activationType">uint8 asymmetric (default, what ORT's x86 kernels prefer) or int8 symmetric.</param>
    /// <param name="perChannel">One weight scale per output channel (default) instead of one per tensor.</param>
    /// <param name="reduceRange">7-bit weights, for CPUs without VNNI whose u8×s8 multiply can saturate.</param>
    /// <param name="calibration">How activation ranges are chosen from the calibration data (the built-in methods).</param>
    /// <param name="calibrator">A calibrator of your own, used instead of <paramref name="calibration"/> (which must then stay at its default); null for the built-in method.</param>
    /// <param name="percentile">The percentile kept by <see cref="CalibrationMethod.Percentile"/>, in (0, 100].</param>
    /// <param name="calibrationSamples">How many calibration samples to use.</param>
    /// <param name="calibrationBatchSize">Batch size of the calibration runs.</param>
    /// <param name="opQuantizers">The per-op quantizers that mark the graph; null for Whittle's own (<see cref="OpQuantizerRegistry.Default"/>).</param>
    /// <param name="opTypes">Op types to quantize; null for every op type the quantizers handle.</param>
    /// <param name="exclude">Node names (exact or glob) or op types to keep in float; a rule that matches nothing is an error when the model is marked.</param>
    /// <param name="weightType">Weight type: int8 (default), or int4 (symmetric per channel in [-7, 7], stored packed at opset 21; ONNX Runtime dequantizes int4 weights to float kernels on CPU, so int4 is a size option).</param>
    /// <param name="keep8Bit">With int4 weights: layers whose weights stay int8, by node name (exact or glob), op type, or the words <c>first</c> and <c>last</c> (the first and last quantized weighted layer).</param>
    /// <param name="alignConvChannels">Give integer convolutions whose input channels are not a multiple of 4 (an image model's first convolution) a form ORT's fast int8 kernel accepts (<see cref="IntegerConvAlignment"/>; the same arithmetic).</param>
    /// <exception cref="InvalidOptionException">A value is out of range or contradicts another.</exception>
    public StaticQuantizationOptions(QuantizationType activationType = QuantizationType.UInt8, bool perChannel = true, bool reduceRange = false,
        CalibrationMethod calibration = CalibrationMethod.MinMax, IActivationCalibrator? calibrator = null, double percentile = 99.999,
        int calibrationSamples = 512, int calibrationBatchSize = 64, OpQuantizerRegistry? opQuantizers = null, IReadOnlyList<string>? opTypes = null,
        IReadOnlyList<string>? exclude = null, QuantizationType weightType = QuantizationType.Int8, IReadOnlyList<string>? keep8Bit = null,
        bool alignConvChannels = true)
    {
        if (weightType is not (QuantizationType.Int8 or QuantizationType.Int4))
            throw OptionChecks.Invalid(nameof(WeightType), "Int8 or Int4", weightType);
        if (keep8Bit is { Count: > 0 } && weightType != QuantizationType.Int4)
            throw new InvalidOptionException(nameof(Keep8Bit), "keeping layers at 8 bits needs 4-bit weights");
        if (weightType == QuantizationType.Int4 && reduceRange)
            throw new InvalidOptionException(nameof(ReduceRange), "reduce range narrows int8 weights; it does not apply to int4 weights");
        if (activationType is not (QuantizationType.UInt8 or QuantizationType.Int8))
            throw OptionChecks.Invalid(nameof(ActivationType), "UInt8 or Int8", activationType);
        OptionChecks.Defined(calibration, nameof(Calibration));
        if (calibrator is not null)
        {
            if (string.IsNullOrWhiteSpace(calibrator.Name))
                throw new InvalidOptionException(nameof(Calibrator), $"the calibrator {calibrator.GetType().FullName} has a blank name");
            if (calibration != CalibrationMethod.MinMax)
                throw new InvalidOptionException(nameof(Calibrator),
                    $"the calibrator '{calibrator.Name}' replaces the built-in calibration, but Calibration is also set to {calibration}; set one of them");
        }
        OptionChecks.Positive(calibrationSamples, nameof(CalibrationSamples));
        OptionChecks.Positive(calibrationBatchSize, nameof(CalibrationBatchSize));
        OptionChecks.InRange(percentile, nameof(Percentile), 0, 100, includeMinimum: false, includeMaximum: true);
        opQuantizers ??= OpQuantizerRegistry.Default;
        if (opTypes is { Count: 0 }) throw new InvalidOptionException(nameof(OpTypes), "OpTypes is empty; pass null to quantize every supported op type");
        if (opTypes is not null)
        {
            var supported = opQuantizers.OpTypes;
            var unknown = opTypes.Where(o => !supported.Contains(o)).ToList();
            if (unknown.Count > 0)
                throw new InvalidOptionException(nameof(OpTypes),
                    $"cannot quantize op type(s) {string.Join(", ", unknown)}; supported: {string.Join(", ", supported.Order(StringComparer.Ordinal))}");
        }
        ActivationType = activationType;
        PerChannel = perChannel;
        ReduceRange = reduceRange;
        Calibration = calibration;
        Calibrator = calibrator;
        Percentile = percentile;
        CalibrationSamples = calibrationSamples;
        CalibrationBatchSize = calibrationBatchSize;
        OpQuantizers = opQuantizers;
        OpTypes = opTypes?.ToArray();
        Exclude = exclude?.ToArray() ?? [];
        WeightType = weightType;
        Keep8Bit = keep8Bit?.ToArray() ?? [];
        AlignConvChannels = alignConvChannels;
    }

    /// <summary>Whether integer convolutions get input-channel counts ORT's fast int8 kernel accepts (<see cref="IntegerConvAlignment"/>).</summary>
    public bool AlignConvChannels { get; }

    /// <summary>These options with <see cref="AlignConvChannels"/> set to <paramref name="align"/>.</summary>
    internal StaticQuantizationOptions WithConvAlignment(bool align) => align == AlignConvChannels ? this
        : new(ActivationType, PerChannel, ReduceRange, Calibration, Calibrator, Percentile, CalibrationSamples, CalibrationBatchSize, OpQuantizers, OpTypes, Exclude, WeightType, Keep8Bit, align);

    /// <summary>Weight type: int8, or int4 (symmetric per channel, [-7, 7]).</summary>
    public QuantizationType WeightType { get; }

    /// <summary>With int4 weights: layers whose weights stay int8 (node names, globs, op types, <c>first</c>, <c>last</c>).</summary>
    public IReadOnlyList<string> Keep8Bit { get; }

    /// <summary>The largest magnitude of a quantized weight: 127 for int8 ([-127, 127]), 7 for int4 ([-7, 7]).</summary>
    public static int WeightQMax(QuantizationType weightType) => weightType == QuantizationType.Int4 ? 7 : 127;

    /// <summary>Activation type: uint8 asymmetric or int8 symmetric.</summary>
    public QuantizationType ActivationType { get; }

    /// <summary>One weight scale per output channel instead of one per tensor.</summary>
    public bool PerChannel { get; }

    /// <summary>7-bit weights.</summary>
    public bool ReduceRange { get; }

    /// <summary>How activation ranges are chosen (the built-in methods; see <see cref="Calibrator"/> for one of your own).</summary>
    public CalibrationMethod Calibration { get; }

    /// <summary>A calibrator of your own used instead of <see cref="Calibration"/>, or null.</summary>
    public IActivationCalibrator? Calibrator { get; }

    /// <summary>The percentile kept by <see cref="CalibrationMethod.Percentile"/>.</summary>
    public double Percentile { get; }

    /// <summary>How many calibration samples to use (the first ones of the data).</summary>
    public int CalibrationSamples { get; }

    /// <summary>Batch size of the calibration runs.</summary>
    public int CalibrationBatchSize { get; }

    /// <summary>The per-op quantizers that mark the graph.</summary>
    public OpQuantizerRegistry OpQuantizers { get; }

    /// <summary>Op types to quantize; null quantizes every op type <see cref="OpQuantizers"/> handles.</summary>
    public IReadOnlyList<string>? OpTypes { get; }

    /// <summary>Node names or op types to keep in float. A rule that matches nothing is an error.</summary>
    public IReadOnlyList<string> Exclude { get; }

    /// <summary>Whether activations are symmetric (int8) rather than asymmetric (uint8).</summary>
    public bool SymmetricActivations => ActivationType == QuantizationType.Int8;

    /// <summary>The calibration as reports and the model's metadata name it: the custom calibrator's name, or the method.</summary>
    public string CalibrationName => Calibrator?.Name ?? Calibration.ToString();
}
