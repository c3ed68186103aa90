namespace Whittle.Quantization;

/// <summary>How calibration turns the observed activation values into a quantization range.</summary>
public enum CalibrationMethod
{
    /// <summary>The observed min and max (ONNX Runtime's default): no clipping, coarse steps when outliers exist.</summary>
    MinMax,

    /// <summary>The given percentile of |x| (default 99.999): clips rare outliers.</summary>
    Percentile,

    /// <summary>The threshold minimising the KL divergence between the float and the quantized distribution (TensorRT).</summary>
    Entropy,

    /// <summary>The clip value minimising the expected squared quantization error (rounding plus clipping).</summary>
    Mse,
}
