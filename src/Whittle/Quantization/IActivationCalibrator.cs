namespace Whittle.Quantization;

/// <summary>
/// A way of choosing activation ranges from calibration data, for
/// <see cref="StaticQuantizationOptions.Calibrator"/>: it creates the streaming
/// <see cref="ITensorCalibrator"/> of each activation, which sees that tensor's values batch by
/// batch and proposes its range. The built-in methods (<see cref="CalibrationMethod"/>) need no
/// implementation; this is for a rule of your own.
/// </summary>
public interface IActivationCalibrator
{
    /// <summary>The name the model's metadata and reports give the calibration (e.g. <c>"absmax-x2"</c>).</summary>
    string Name { get; }

    /// <summary>A fresh calibrator for one tensor; called once per float value calibration observes.</summary>
    /// <param name="tensor">The value's name in the graph.</param>
    /// <param name="options">The quantization options (activation type, symmetry...), for a rule that depends on them.</param>
    ITensorCalibrator Create(string tensor, StaticQuantizationOptions options);
}
