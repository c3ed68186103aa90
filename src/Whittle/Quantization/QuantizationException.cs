namespace Whittle.Quantization;

/// <summary>
/// Quantization cannot proceed: an option names nothing in the model, calibration data does not
/// fit the model, or the quantized model fails verification.
/// </summary>
public sealed class QuantizationException(string message, Exception? inner = null) : WhittleException(message, inner);
