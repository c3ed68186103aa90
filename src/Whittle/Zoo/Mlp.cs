using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>
/// A multi-layer perceptron: [Flatten] → (Linear → ReLU → Dropout) per hidden layer → Linear.
/// Layers are <c>fc1</c>, <c>fc2</c>, ...; the last <c>fc{k+1}</c> produces the logits.
/// The default (784-256-128-10) has 235,146 parameters.
/// </summary>
public static class Mlp
{
    /// <summary>The registry name.</summary>
    public const string Name = "mlp";

    /// <summary>Builds the model with the given options (defaults when null).</summary>
    public static OnnxModel Create(MlpOptions? options = null)
    {
        options ??= new MlpOptions();
        var b = new OnnxGraphBuilder(Name, options.Seed);
        var x = b.Input(ZooDefaults.InputName, [GraphValue.DynamicDimension, .. options.InputShape.Select(d => (long)d)]);
        if (x.Rank > 2) x = b.Flatten(x);
        int layer = 1;
        foreach (var width in options.HiddenSizes)
        {
            x = b.Linear(x, width, name: $"fc{layer++}");
            x = b.Relu(x);
            if (options.Dropout > 0) x = b.Dropout(x, options.Dropout);
        }
        x = b.Linear(x, options.Classes, name: $"fc{layer}");
        return ZooOptionChecks.Finish(b, x, Name);
    }
}
