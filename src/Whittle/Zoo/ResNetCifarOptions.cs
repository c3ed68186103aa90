namespace Whittle.Zoo;

/// <summary>The shape of a <see cref="ResNetCifar"/>. Immutable; validated when made.</summary>
public sealed class ResNetCifarOptions
{
    /// <summary>Creates CIFAR-style ResNet options; every argument is checked here.</summary>
    /// <param name="depth">Weighted layers, 6n + 2 (8, 14, 20, 32, 44, 56, 110): n basic blocks per stage.</param>
    /// <param name="baseWidth">Channels of the first stage; the second and third stages double it each time.</param>
    /// <param name="inputShape">One image [channels, height, width]. Default [1,28,28]; CIFAR is [3,32,32].</param>
    /// <param name="classes">Output classes.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <exception cref="InvalidOptionException">The depth is not 6n + 2 for some n ≥ 1, or another value is out of range.</exception>
    public ResNetCifarOptions(int depth = 20, int baseWidth = 16, IReadOnlyList<int>? inputShape = null, int classes = ZooDefaults.Classes,
        long seed = ZooDefaults.Seed)
    {
        if (depth < 8 || (depth - 2) % 6 != 0)
            throw OptionChecks.Invalid(nameof(Depth),
                "6n+2 (8, 14, 20, 32, 44, 56, 110, ...): 3 stages of n basic blocks with 2 convolutions each, plus the stem convolution and the classifier", depth);
        OptionChecks.Positive(baseWidth, nameof(BaseWidth));
        Depth = depth;
        BaseWidth = baseWidth;
        InputShape = ZooOptionChecks.ImageShape(inputShape, ResNetCifar.Name, nameof(InputShape));
        Classes = ZooOptionChecks.Classes(classes);
        Seed = seed;
    }

    /// <summary>Weighted layers (6n + 2).</summary>
    public int Depth { get; }

    /// <summary>Basic blocks per stage, (depth - 2) / 6.</summary>
    public int BlocksPerStage => (Depth - 2) / 6;

    /// <summary>Channels of the first stage (16 in He et al.).</summary>
    public int BaseWidth { get; }

    /// <summary>One image [channels, height, width].</summary>
    public IReadOnlyList<int> InputShape { get; }

    /// <summary>Output classes.</summary>
    public int Classes { get; }

    /// <summary>Seed of the initial weights.</summary>
    public long Seed { get; }
}
