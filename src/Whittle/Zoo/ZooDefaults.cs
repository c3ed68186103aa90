namespace Whittle.Zoo;

/// <summary>
/// The defaults every Zoo architecture shares: Fashion-MNIST-sized inputs, ten classes and one
/// seed. Each architecture's options refer here so that each default lives in one place.
/// </summary>
public static class ZooDefaults
{
    /// <summary>Number of classes (Fashion-MNIST, MNIST, CIFAR-10).</summary>
    public const int Classes = 10;

    /// <summary>Embedding rows of a text model made without data (a vocabulary normally decides).</summary>
    public const int VocabularySize = 10_000;

    /// <summary>User rows of a recommender made without data (the data normally decides).</summary>
    public const int Users = 1000;

    /// <summary>Item rows of a recommender made without data.</summary>
    public const int Items = 500;

    /// <summary>The seed of the initial weights.</summary>
    public const long Seed = OnnxGraphBuilder.DefaultSeed;

    /// <summary>The name of every Zoo model's input, [batch, ...InputShape].</summary>
    public const string InputName = "input";

    /// <summary>The name of every Zoo model's output, [batch, classes] unnormalized scores.</summary>
    public const string OutputName = "logits";

    /// <summary>Metadata key holding the architecture name of a Zoo model.</summary>
    public const string ArchitectureMetadataKey = "whittle.zoo.architecture";

    /// <summary>Metadata key holding the seed a Zoo model was initialized with.</summary>
    public const string SeedMetadataKey = "whittle.zoo.seed";

    /// <summary>One sample's shape [channels, height, width]: a 28x28 grey image (Fashion-MNIST).</summary>
    public static IReadOnlyList<int> InputShape { get; } = [1, 28, 28];
}
