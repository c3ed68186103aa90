namespace Whittle.Zoo;

/// <summary>The input and classes of a <see cref="LeNet5"/>. Immutable; validated when made.</summary>
public sealed class LeNet5Options
{
    /// <summary>Creates LeNet-5 options; every argument is checked here.</summary>
    /// <param name="inputShape">[channels, 28, 28] (the first convolution pads by 2) or [channels, 32, 32] (no padding, as in the original). Default [1,28,28].</param>
    /// <param name="classes">Output classes.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    public LeNet5Options(IReadOnlyList<int>? inputShape = null, int classes = ZooDefaults.Classes, long seed = ZooDefaults.Seed)
    {
        var shape = ZooOptionChecks.ImageShape(inputShape, LeNet5.Name, nameof(InputShape));
        if (shape[1] != shape[2] || shape[1] is not (28 or 32))
            throw new InvalidOptionException(nameof(InputShape), $"LeNet-5 takes 28x28 or 32x32 images, got InputShape [{string.Join(",", shape)}]");
        InputShape = shape;
        Classes = ZooOptionChecks.Classes(classes);
        Seed = seed;
    }

    /// <summary>One sample's shape [channels, height, width].</summary>
    public IReadOnlyList<int> InputShape { get; }

    /// <summary>Output classes.</summary>
    public int Classes { get; }

    /// <summary>Seed of the initial weights.</summary>
    public long Seed { get; }
}
