using System.Globalization;

namespace Whittle.Data;

/// <summary>
/// What <see cref="TensorDataset.Preprocess"/> does to the features, in this order: divide by
/// <see cref="Divisor"/>, subtract the per-channel <see cref="Mean"/> and divide by the
/// per-channel <see cref="Std"/>, then reshape each sample to <see cref="Layout"/>.
/// Immutable; every instance is validated when it is made.
/// </summary>
/// <remarks>
/// <para>
/// The channel axis is the first axis of the sample shape as loaded: C in a [C, H, W] image,
/// and each feature on its own in a flat [F] sample (so per-feature standardisation of tabular
/// data is a <see cref="Normalize"/> with F values). A single mean or std value applies to
/// every channel.
/// </para>
/// <para>
/// Scaling divides rather than multiplies by a reciprocal, and normalisation computes
/// <c>(x - mean) / std</c>, because that is what torchvision's <c>ToTensor</c> and
/// <c>Normalize</c> do; the results then match PyTorch-prepared inputs bit for bit.
/// </para>
/// </remarks>
public sealed class Preprocessing
{
    /// <summary>Creates preprocessing options; every argument is checked here.</summary>
    /// <param name="divisor">Every feature is divided by this first; finite and non-zero.</param>
    /// <param name="mean">Per-channel means to subtract after dividing (one value for all channels), or null for none.</param>
    /// <param name="std">Per-channel standard deviations to divide by, each finite and above zero; given exactly when <paramref name="mean"/> is.</param>
    /// <param name="layout">The sample shape to produce.</param>
    public Preprocessing(float divisor = 1f, float[]? mean = null, float[]? std = null, FeatureLayout layout = FeatureLayout.AsLoaded)
    {
        if (!float.IsFinite(divisor) || divisor == 0f) throw OptionChecks.Invalid(nameof(Divisor), "finite and non-zero", divisor);
        if ((mean is null) != (std is null))
            throw new InvalidOptionException(mean is null ? nameof(Mean) : nameof(Std), "normalisation needs both Mean and Std, or neither; got only " + (mean is null ? "Std" : "Mean"));
        if (mean is not null && std is not null)
        {
            if (mean.Length == 0) throw new InvalidOptionException(nameof(Mean), "Mean must hold at least one value, got none");
            if (std.Length == 0) throw new InvalidOptionException(nameof(Std), "Std must hold at least one value, got none");
            if (mean.Length != std.Length && mean.Length != 1 && std.Length != 1)
                throw new InvalidOptionException(nameof(Std), $"Std has {std.Length} values for {mean.Length} Mean values; give one per channel, or one for all");
            foreach (float m in mean)
                if (!float.IsFinite(m)) throw OptionChecks.Invalid(nameof(Mean), "finite", m);
            foreach (float s in std)
                if (!(s > 0f) || !float.IsFinite(s)) throw OptionChecks.Invalid(nameof(Std), "finite and greater than zero", s);
        }
        OptionChecks.Defined(layout, nameof(Layout));

        Divisor = divisor;
        Mean = mean is null ? null : (float[])mean.Clone();
        Std = std is null ? null : (float[])std.Clone();
        Layout = layout;
    }

    /// <summary>Leaves the features and their shape as loaded.</summary>
    public static Preprocessing None { get; } = new();

    /// <summary>Maps byte-valued features (0..255, as IDX images load) to [0, 1], like torchvision's <c>ToTensor</c>.</summary>
    public static Preprocessing BytesToUnitRange { get; } = new(divisor: 255f);

    /// <summary>Every feature is divided by this first.</summary>
    public float Divisor { get; }

    /// <summary>Per-channel means subtracted after dividing, or null when there is no normalisation.</summary>
    public IReadOnlyList<float>? Mean { get; }

    /// <summary>Per-channel standard deviations divided by after subtracting the mean, or null when there is no normalisation.</summary>
    public IReadOnlyList<float>? Std { get; }

    /// <summary>The sample shape to produce.</summary>
    public FeatureLayout Layout { get; }

    /// <summary>The same options with a different divisor (e.g. 255 for bytes).</summary>
    /// <param name="divisor">Every feature is divided by this first; finite and non-zero.</param>
    public Preprocessing DivideBy(float divisor) => new(divisor, MeanArray, StdArray, Layout);

    /// <summary>The same options with per-channel normalisation <c>(x - mean) / std</c> after dividing.</summary>
    /// <param name="mean">One value per channel, or one for all channels.</param>
    /// <param name="std">One value per channel, or one for all channels; each finite and above zero.</param>
    public Preprocessing Normalize(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        return new(Divisor, mean, std, Layout);
    }

    /// <summary>The same options with a different sample layout.</summary>
    /// <param name="layout">The sample shape to produce.</param>
    public Preprocessing WithLayout(FeatureLayout layout) => new(Divisor, MeanArray, StdArray, layout);

    /// <summary>True when applying these options changes no feature value, only (maybe) the shape.</summary>
    public bool KeepsValues => Divisor == 1f && Mean is null;

    private float[]? MeanArray => (float[]?)Mean;
    private float[]? StdArray => (float[]?)Std;

    /// <inheritdoc />
    public override string ToString()
    {
        static string List(IReadOnlyList<float> values) =>
            string.Join(", ", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        string normalize = Mean is null ? "none" : $"mean [{List(Mean)}], std [{List(Std!)}]";
        return $"divide by {Divisor.ToString("R", CultureInfo.InvariantCulture)}, normalize {normalize}, layout {Layout}";
    }
}
