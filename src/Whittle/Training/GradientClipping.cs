using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Whittle.Training;

/// <summary>How gradients are limited before each optimizer step.</summary>
public enum GradientClippingMode
{
    /// <summary>Gradients are used as computed.</summary>
    None,

    /// <summary>All gradients together are rescaled so that their total p-norm is at most the threshold (<c>clip_grad_norm_</c>).</summary>
    Norm,

    /// <summary>Each gradient element is clamped to [−threshold, threshold] (<c>clip_grad_value_</c>).</summary>
    Value,
}

/// <summary>Gradient clipping before each optimizer step: none, by total norm, or by value.</summary>
public sealed class GradientClipping
{
    /// <summary>Validates and stores the settings; <see cref="None"/>, <see cref="ByNorm"/> and <see cref="ByValue"/> read better.</summary>
    /// <param name="mode">None, by norm or by value.</param>
    /// <param name="threshold">The largest norm or absolute value; positive and finite (ignored for <see cref="GradientClippingMode.None"/>).</param>
    /// <param name="normType">The p of the p-norm for <see cref="GradientClippingMode.Norm"/>; positive (may be infinity).</param>
    public GradientClipping(GradientClippingMode mode, double threshold = double.PositiveInfinity, double normType = 2)
    {
        OptionChecks.Defined(mode, nameof(Mode));
        if (mode != GradientClippingMode.None) OptionChecks.Positive(threshold, nameof(Threshold));
        // Infinity is a valid p (the max-norm); NaN and non-positive values are not.
        if (!(normType > 0)) throw OptionChecks.Invalid(nameof(NormType), "positive (infinity allowed)", normType);
        Mode = mode;
        Threshold = threshold;
        NormType = normType;
    }

    /// <summary>No clipping.</summary>
    public static GradientClipping None { get; } = new(GradientClippingMode.None);

    /// <summary>Rescales all gradients together so that their total <paramref name="normType"/>-norm is at most <paramref name="maxNorm"/>.</summary>
    /// <param name="maxNorm">The largest total norm; positive and finite.</param>
    /// <param name="normType">The p of the p-norm; 2 by default.</param>
    public static GradientClipping ByNorm(double maxNorm, double normType = 2) => new(GradientClippingMode.Norm, maxNorm, normType);

    /// <summary>Clamps each gradient element to [−<paramref name="maxValue"/>, <paramref name="maxValue"/>].</summary>
    /// <param name="maxValue">The largest absolute value; positive and finite.</param>
    public static GradientClipping ByValue(double maxValue) => new(GradientClippingMode.Value, maxValue);

    /// <summary>None, by norm or by value.</summary>
    public GradientClippingMode Mode { get; }

    /// <summary>The largest norm or absolute value.</summary>
    public double Threshold { get; }

    /// <summary>The p of the p-norm for <see cref="GradientClippingMode.Norm"/>.</summary>
    public double NormType { get; }

    /// <summary>Clips the gradients of <paramref name="parameters"/> in place.</summary>
    internal void Apply(IReadOnlyList<Parameter> parameters)
    {
        switch (Mode)
        {
            case GradientClippingMode.Norm:
                nn.utils.clip_grad_norm_(parameters, Threshold, NormType);
                break;
            case GradientClippingMode.Value:
                nn.utils.clip_grad_value_(parameters, Threshold);
                break;
        }
    }

    /// <inheritdoc />
    public override string ToString() => Mode switch
    {
        GradientClippingMode.None => "None",
        GradientClippingMode.Norm => FormattableString.Invariant($"Norm(max={Threshold}, p={NormType})"),
        _ => FormattableString.Invariant($"Value(max={Threshold})"),
    };
}
