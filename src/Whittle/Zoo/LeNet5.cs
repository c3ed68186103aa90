using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>
/// LeNet-5 (LeCun et al., 1998) with ReLU and max pooling, as in the PyTorch tutorials:
/// conv1 (6@5x5) → ReLU → MaxPool 2 → conv2 (16@5x5) → ReLU → MaxPool 2 → fc1 (120) → ReLU →
/// fc2 (84) → ReLU → fc3 (classes). 28x28 inputs are padded by 2 in conv1, so both input sizes
/// reach fc1 with 16x5x5 features: 61,706 parameters for one channel and ten classes.
/// </summary>
public static class LeNet5
{
    /// <summary>The registry name.</summary>
    public const string Name = "lenet5";

    /// <summary>Builds the model with the given options (defaults when null).</summary>
    public static OnnxModel Create(LeNet5Options? options = null)
    {
        options ??= new LeNet5Options();
        var b = new OnnxGraphBuilder(Name, options.Seed);
        var x = ZooOptionChecks.ImageInput(b, options.InputShape);
        int padding = options.InputShape[1] == 28 ? 2 : 0;
        x = b.MaxPool(b.Relu(b.Conv(x, 6, kernel: 5, padding: padding, name: "conv1")), 2);
        x = b.MaxPool(b.Relu(b.Conv(x, 16, kernel: 5, name: "conv2")), 2);
        x = b.Flatten(x);
        x = b.Relu(b.Linear(x, 120, name: "fc1"));
        x = b.Relu(b.Linear(x, 84, name: "fc2"));
        x = b.Linear(x, options.Classes, name: "fc3");
        return ZooOptionChecks.Finish(b, x, Name);
    }
}
