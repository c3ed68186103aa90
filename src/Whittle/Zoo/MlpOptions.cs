namespace Whittle.Zoo;

/// <summary>The shape of an <see cref="Mlp"/>. Immutable; validated when made.</summary>
public sealed class MlpOptions
{
    /// <summary>Creates MLP options; every argument is checked here.</summary>
    /// <param name="inputShape">One sample's shape; flattened first when it has more than one axis. Default [1,28,28].</param>
    /// <param name="hiddenSizes">Widths of the hidden layers, in order (may be empty: a linear classifier). Default [256,128].</param>
    /// <param name="classes">Output classes.</param>
    /// <param name="dropout">Dropout probability after each hidden layer's ReLU.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    public MlpOptions(IReadOnlyList<int>? inputShape = null, IReadOnlyList<int>? hiddenSizes = null, int classes = ZooDefaults.Classes,
        float dropout = 0.2f, long seed = ZooDefaults.Seed)
    {
        InputShape = ZooOptionChecks.PositiveList(inputShape, ZooDefaults.InputShape, nameof(InputShape), allowEmpty: false);
        HiddenSizes = ZooOptionChecks.PositiveList(hiddenSizes, DefaultHiddenSizes, nameof(HiddenSizes), allowEmpty: true);
        Classes = ZooOptionChecks.Classes(classes);
        Dropout = ZooOptionChecks.Probability(dropout, nameof(Dropout));
        Seed = seed;
    }

    /// <summary>The hidden layer widths used when none are given.</summary>
    public static IReadOnlyList<int> DefaultHiddenSizes { get; } = [256, 128];

    /// <summary>One sample's shape (flattened to <see cref="InputFeatures"/>).</summary>
    public IReadOnlyList<int> InputShape { get; }

    /// <summary>Features after flattening one sample.</summary>
    public int InputFeatures => InputShape.Aggregate(1, (a, b) => checked(a * b));

    /// <summary>Widths of the hidden layers.</summary>
    public IReadOnlyList<int> HiddenSizes { get; }

    /// <summary>Output classes.</summary>
    public int Classes { get; }

    /// <summary>Dropout probability after each hidden activation.</summary>
    public float Dropout { get; }

    /// <summary>Seed of the initial weights.</summary>
    public long Seed { get; }
}
