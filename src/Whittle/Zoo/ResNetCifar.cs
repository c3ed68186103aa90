using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>
/// The CIFAR ResNet of He et al. (2016, section 4.2): a 3x3 stem convolution, three stages of
/// n basic blocks (widths w, 2w, 4w; the second and third stages start with stride 2), global
/// average pooling and a linear classifier. Where a block changes shape, the shortcut is a 1x1
/// convolution with BatchNorm (option B), named like torchvision's <c>downsample.0</c>/<c>.1</c>.
/// Names follow torchvision: <c>conv1</c>, <c>bn1</c>, <c>layer2.0.conv1</c>,
/// <c>layer2.0.downsample.0</c>, <c>fc</c>. ResNet-20 at width 16, 1x28x28 in and 10 classes out
/// has 272,186 trainable parameters.
/// </summary>
public static class ResNetCifar
{
    /// <summary>The registry name.</summary>
    public const string Name = "resnet-cifar";

    /// <summary>Builds the model with the given options (defaults when null).</summary>
    public static OnnxModel Create(ResNetCifarOptions? options = null)
    {
        options ??= new ResNetCifarOptions();
        var b = new OnnxGraphBuilder($"{Name}-{options.Depth}", options.Seed);
        var x = ZooOptionChecks.ImageInput(b, options.InputShape);
        x = b.Conv(x, options.BaseWidth, kernel: 3, padding: 1, bias: false, name: "conv1");
        x = b.Relu(b.BatchNorm(x, name: "bn1"));
        for (int stage = 0; stage < 3; stage++)
        {
            int width = options.BaseWidth << stage;
            for (int block = 0; block < options.BlocksPerStage; block++)
            {
                using var scope = b.Scope($"layer{stage + 1}.{block}");
                x = BasicBlock(b, x, width, stride: stage > 0 && block == 0 ? 2 : 1);
            }
        }
        x = b.Flatten(b.GlobalAveragePool(x));
        x = b.Linear(x, options.Classes, name: "fc");
        return ZooOptionChecks.Finish(b, x, Name);
    }

    private static GraphValue BasicBlock(OnnxGraphBuilder b, GraphValue input, int width, int stride)
    {
        var x = b.Conv(input, width, kernel: 3, stride: stride, padding: 1, bias: false, name: "conv1");
        x = b.Relu(b.BatchNorm(x, name: "bn1"));
        x = b.Conv(x, width, kernel: 3, padding: 1, bias: false, name: "conv2");
        x = b.BatchNorm(x, name: "bn2");
        var shortcut = input;
        if (stride != 1 || input.Dimension(1) != width)
        {
            using var scope = b.Scope("downsample");
            shortcut = b.Conv(input, width, kernel: 1, stride: stride, bias: false, name: "0");
            shortcut = b.BatchNorm(shortcut, name: "1");
        }
        return b.Relu(b.Add(x, shortcut));
    }
}
