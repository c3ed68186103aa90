namespace Whittle.Zoo;

/// <summary>The shape of a <see cref="MobileNetV2"/>. Immutable; validated when made.</summary>
public sealed class MobileNetV2Options
{
    /// <summary>Creates MobileNetV2 options; every argument is checked here.</summary>
    /// <param name="widthMultiplier">Scales every layer's channels (rounded to a multiple of 8, as torchvision does); the last convolution only grows.</param>
    /// <param name="inputShape">One image [channels, height, width]. Default [1,28,28].</param>
    /// <param name="blocks">The inverted-residual groups; default <see cref="DefaultBlocks"/>.</param>
    /// <param name="stemChannels">Channels of the first 3x3 convolution, before the multiplier.</param>
    /// <param name="lastChannels">Channels of the last 1x1 convolution, before the multiplier.</param>
    /// <param name="dropout">Dropout probability before the classifier.</param>
    /// <param name="classes">Output classes.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    public MobileNetV2Options(double widthMultiplier = 1.0, IReadOnlyList<int>? inputShape = null, IReadOnlyList<InvertedResidualSetting>? blocks = null,
        int stemChannels = 32, int lastChannels = 320, float dropout = 0.2f, int classes = ZooDefaults.Classes, long seed = ZooDefaults.Seed)
    {
        OptionChecks.Positive(widthMultiplier, nameof(WidthMultiplier));
        var settings = (blocks ?? DefaultBlocks).ToArray();
        if (settings.Length == 0) throw new InvalidOptionException(nameof(Blocks), "Blocks must hold at least one inverted-residual group, got none");
        foreach (var s in settings)
        {
            ArgumentNullException.ThrowIfNull(s, nameof(blocks));
            if (s.Expansion < 1 || s.Channels < 1 || s.Repeats < 1 || s.Stride is not (1 or 2))
                throw new InvalidOptionException(nameof(Blocks), $"Blocks: expansion, channels and repeats must be positive and the stride 1 or 2, got {s}");
        }
        OptionChecks.Positive(stemChannels, nameof(StemChannels));
        OptionChecks.Positive(lastChannels, nameof(LastChannels));
        WidthMultiplier = widthMultiplier;
        InputShape = ZooOptionChecks.ImageShape(inputShape, MobileNetV2.Name, nameof(InputShape));
        Blocks = settings;
        StemChannels = stemChannels;
        LastChannels = lastChannels;
        Dropout = ZooOptionChecks.Probability(dropout, nameof(Dropout));
        Classes = ZooOptionChecks.Classes(classes);
        Seed = seed;
    }

    /// <summary>
    /// The groups used when none are given: torchvision's table cut for 28x28 inputs (stem
    /// stride 1, three stride-2 groups: 28 → 14 → 7 → 4), (t, c, n, s) = (1,16,1,1), (6,24,2,2),
    /// (6,32,3,2), (6,64,2,2), (6,96,1,1); 231,434 trainable parameters at width 1.
    /// </summary>
    public static IReadOnlyList<InvertedResidualSetting> DefaultBlocks { get; } =
    [
        new(1, 16, 1, 1),
        new(6, 24, 2, 2),
        new(6, 32, 3, 2),
        new(6, 64, 2, 2),
        new(6, 96, 1, 1),
    ];

    /// <summary>Scales every layer's channels.</summary>
    public double WidthMultiplier { get; }

    /// <summary>One image [channels, height, width].</summary>
    public IReadOnlyList<int> InputShape { get; }

    /// <summary>The inverted-residual groups.</summary>
    public IReadOnlyList<InvertedResidualSetting> Blocks { get; }

    /// <summary>Channels of the stem convolution, before the multiplier.</summary>
    public int StemChannels { get; }

    /// <summary>Channels of the last 1x1 convolution, before the multiplier.</summary>
    public int LastChannels { get; }

    /// <summary>Dropout probability before the classifier.</summary>
    public float Dropout { get; }

    /// <summary>Output classes.</summary>
    public int Classes { get; }

    /// <summary>Seed of the initial weights.</summary>
    public long Seed { get; }
}
