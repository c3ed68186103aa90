using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>
/// A plain VGG-style network: blocks of 3x3 Conv (no bias) → BatchNorm → ReLU, each block
/// followed by 2x2 pooling, then Flatten → fc1 → ReLU → Dropout → fc2 (or Dropout → fc without
/// a hidden layer). Layers are named <c>block{i}.conv{j}</c>, <c>block{i}.bn{j}</c>,
/// <c>block{i}.pool</c>, <c>fc1</c>, <c>fc2</c>.
/// </summary>
public static class ConvNet
{
    /// <summary>The registry name.</summary>
    public const string Name = "convnet";

    /// <summary>Builds the model with the given options (defaults when null).</summary>
    public static OnnxModel Create(ConvNetOptions? options = null)
    {
        options ??= new ConvNetOptions();
        var b = new OnnxGraphBuilder(Name, options.Seed);
        var x = ZooOptionChecks.ImageInput(b, options.InputShape);
        for (int block = 0; block < options.Channels.Count; block++)
        {
            using var scope = b.Scope($"block{block + 1}");
            for (int conv = 1; conv <= options.ConvolutionsPerBlock; conv++)
            {
                x = b.Conv(x, options.Channels[block], kernel: 3, padding: 1, bias: false, name: $"conv{conv}");
                x = b.Relu(b.BatchNorm(x, name: $"bn{conv}"));
            }
            x = options.Pooling switch
            {
                BlockPooling.Max => b.MaxPool(x, 2, name: "pool"),
                BlockPooling.Average => b.AveragePool(x, 2, name: "pool"),
                _ => x,
            };
        }
        x = b.Flatten(x);
        if (options.HiddenFeatures > 0)
        {
            x = b.Relu(b.Linear(x, options.HiddenFeatures, name: "fc1"));
            if (options.Dropout > 0) x = b.Dropout(x, options.Dropout);
            x = b.Linear(x, options.Classes, name: "fc2");
        }
        else
        {
            if (options.Dropout > 0) x = b.Dropout(x, options.Dropout);
            x = b.Linear(x, options.Classes, name: "fc");
        }
        return ZooOptionChecks.Finish(b, x, Name);
    }
}
