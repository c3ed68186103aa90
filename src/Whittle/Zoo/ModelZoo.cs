using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>
/// The reference architectures by name, for <c>whittle zoo list</c> and <c>whittle zoo create</c>.
/// Image and feature models take <c>input</c> [batch, ...input shape], text models int64 token ids
/// <c>input</c> [batch, sequence length]; both return <c>logits</c> [batch, classes]. Recommenders
/// take int64 <c>user</c> and <c>item</c> [batch] and return <c>logits</c> [batch, 1]
/// (<see cref="ZooArchitecture.InputKind"/>).
/// </summary>
public static class ModelZoo
{
    /// <summary>Every architecture, in a stable order (simplest first).</summary>
    public static IReadOnlyList<ZooArchitecture> Architectures { get; } =
    [
        new(Mlp.Name,
            "multi-layer perceptron: flatten, hidden Linear-ReLU-Dropout layers 256-128, linear classifier (235k parameters)",
            widthMeaning: "multiplies the hidden layer sizes", depthMeaning: null,
            s => Mlp.Create(new MlpOptions(
                inputShape: s.InputShape,
                hiddenSizes: s.Width is { } w ? MlpOptions.DefaultHiddenSizes.Select(h => Scale(h, w)).ToArray() : null,
                classes: s.Classes ?? ZooDefaults.Classes,
                seed: s.Seed ?? ZooDefaults.Seed))),
        new(LeNet5.Name,
            "LeNet-5 with ReLU and max pooling, 6-16-120-84 (28x28 or 32x32 input; 62k parameters)",
            widthMeaning: null, depthMeaning: null,
            s => LeNet5.Create(new LeNet5Options(s.InputShape, s.Classes ?? ZooDefaults.Classes, s.Seed ?? ZooDefaults.Seed))),
        new(ConvNet.Name,
            "VGG-style CNN: blocks of two Conv-BN-ReLU (32, 64 channels) with max pooling, 128-wide hidden layer (468k parameters)",
            widthMeaning: "multiplies the block channels", depthMeaning: null,
            s => ConvNet.Create(new ConvNetOptions(
                inputShape: s.InputShape,
                channels: s.Width is { } w ? ConvNetOptions.DefaultChannels.Select(c => Scale(c, w)).ToArray() : null,
                classes: s.Classes ?? ZooDefaults.Classes,
                seed: s.Seed ?? ZooDefaults.Seed))),
        new(ResNetCifar.Name,
            "CIFAR-style ResNet (He et al.): depth 6n+2, basic blocks 16-32-64, 1x1 projection shortcuts; ResNet-20 by default (272k parameters)",
            widthMeaning: "multiplies the base width of 16", depthMeaning: "weighted layers, 6n+2: 8, 14, 20, 32, 44, 56, 110",
            s =>
            {
                var defaults = new ResNetCifarOptions();
                return ResNetCifar.Create(new ResNetCifarOptions(
                    depth: s.Depth ?? defaults.Depth,
                    baseWidth: s.Width is { } w ? Scale(defaults.BaseWidth, w) : defaults.BaseWidth,
                    inputShape: s.InputShape,
                    classes: s.Classes ?? ZooDefaults.Classes,
                    seed: s.Seed ?? ZooDefaults.Seed));
            }),
        new(MobileNetV2.Name,
            "small MobileNetV2: inverted residual blocks (1x1 expansion, depthwise 3x3, linear 1x1 projection, ReLU6) for 28x28 inputs (231k parameters)",
            widthMeaning: "the width multiplier (channels rounded to multiples of 8)", depthMeaning: null,
            s => MobileNetV2.Create(new MobileNetV2Options(
                widthMultiplier: s.Width ?? 1.0,
                inputShape: s.InputShape,
                classes: s.Classes ?? ZooDefaults.Classes,
                seed: s.Seed ?? ZooDefaults.Seed))),
        new(TextCnn.Name,
            "TextCNN (Kim 2014): embedding 128, Conv1d widths 3/4/5 with 100 filters each, max over time, dropout 0.5, linear classifier",
            widthMeaning: "multiplies the embedding width and the filters", depthMeaning: null,
            s => TextCnn.Create(new TextCnnOptions(Text(s),
                embeddingDim: Scale(128, s.Width ?? 1), filters: Scale(100, s.Width ?? 1))),
            ZooInputKind.TokenIds),
        new(TransformerClassifier.Name,
            "Transformer encoder classifier: token + position embeddings, 2 pre-norm layers of 4-head attention (width 64) and GELU feed-forward 128, masked mean pooling",
            widthMeaning: "multiplies the model width (a multiple of the 4 heads) and the feed-forward width", depthMeaning: "encoder layers",
            s =>
            {
                var defaults = new TransformerClassifierOptions();
                double w = s.Width ?? 1;
                int width = Math.Max(defaults.Heads, Scale(defaults.ModelDim / defaults.Heads, w) * defaults.Heads);
                return TransformerClassifier.Create(new TransformerClassifierOptions(Text(s), modelDim: width,
                    layers: s.Depth ?? defaults.Layers, feedForwardDim: Scale(defaults.FeedForwardDim, w)));
            },
            ZooInputKind.TokenIds),
        new(FastText.Name,
            "fastText-style bag of embeddings: mean of 64-wide token embeddings over the non-padding tokens, linear classifier",
            widthMeaning: "multiplies the embedding width", depthMeaning: null,
            s => FastText.Create(new FastTextOptions(Text(s), embeddingDim: Scale(new FastTextOptions().EmbeddingDim, s.Width ?? 1))),
            ZooInputKind.TokenIds),
        new(MatrixFactorization.Name,
            "matrix factorization with user, item and global biases: 32 factors, one relevance logit per (user, item)",
            widthMeaning: "multiplies the factors", depthMeaning: null,
            s => MatrixFactorization.Create(new MatrixFactorizationOptions(Recommender(s), factors: Scale(new MatrixFactorizationOptions().Factors, s.Width ?? 1))),
            ZooInputKind.UserItemIds),
        new(NeuralCollaborativeFiltering.Name,
            "neural collaborative filtering (NeuMF): GMF tower of 16 factors + MLP tower 64-32-16, one relevance logit per (user, item)",
            widthMeaning: "multiplies the GMF factors and the MLP widths", depthMeaning: null,
            s =>
            {
                double w = s.Width ?? 1;
                var defaults = new NeuralCollaborativeFilteringOptions();
                return NeuralCollaborativeFiltering.Create(new NeuralCollaborativeFilteringOptions(Recommender(s), factors: Scale(defaults.Factors, w),
                    mlpLayers: defaults.MlpLayers.Select((m, i) => i == 0 ? 2 * Scale(m / 2, w) : Scale(m, w)).ToArray()));
            },
            ZooInputKind.UserItemIds),
    ];

    /// <summary>The architecture with this name (case-insensitive), or false.</summary>
    public static bool TryGet(string name, out ZooArchitecture architecture)
    {
        architecture = Architectures.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase))!;
        return architecture is not null;
    }

    /// <summary>The architecture with this name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No such architecture; the message lists the known names.</exception>
    public static ZooArchitecture Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return TryGet(name, out var architecture)
            ? architecture
            : throw new ArgumentException($"no zoo architecture '{name}'; known: {string.Join(", ", Architectures.Select(a => a.Name))}", nameof(name));
    }

    /// <summary>Builds the named architecture; settings left null keep its defaults.</summary>
    /// <exception cref="ArgumentException">Unknown name, or settings the architecture cannot take.</exception>
    public static OnnxModel Create(string name, ZooModelSettings? settings = null) => Get(name).Create(settings);

    private static TextModelOptions Text(ZooModelSettings s) => new(
        vocabularySize: s.VocabularySize ?? ZooDefaults.VocabularySize,
        sequenceLength: s.InputShape is { } shape ? shape[0] : Whittle.Data.TokenizerOptions.DefaultSequenceLength,
        classes: s.Classes ?? ZooDefaults.Classes,
        seed: s.Seed ?? ZooDefaults.Seed);

    private static RecommenderOptions Recommender(ZooModelSettings s) =>
        new(s.Users ?? ZooDefaults.Users, s.Items ?? ZooDefaults.Items, s.Seed ?? ZooDefaults.Seed);

    private static int Scale(int size, double multiplier) => Math.Max(1, (int)Math.Round(size * multiplier, MidpointRounding.AwayFromZero));
}
