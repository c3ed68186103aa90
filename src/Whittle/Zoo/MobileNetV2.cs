using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>
/// A small MobileNetV2 (Sandler et al., 2018) for 28x28 inputs. Each inverted-residual block is
/// an expansion 1x1 convolution (skipped when t = 1), a depthwise 3x3 convolution (one group per
/// channel), each followed by BatchNorm and ReLU6, then a linear 1x1 projection with BatchNorm;
/// blocks with stride 1 and equal input and output channels add their input (residual). Then a
/// 1x1 convolution, global average pooling, dropout and a linear classifier. Names follow
/// torchvision's <c>mobilenet_v2</c>: <c>features.0.0</c>, <c>features.2.conv.1.0</c>,
/// <c>features.2.conv.2</c>, <c>classifier.1</c>.
/// </summary>
public static class MobileNetV2
{
    /// <summary>The registry name.</summary>
    public const string Name = "mobilenetv2";

    /// <summary>Builds the model with the given options (defaults when null).</summary>
    public static OnnxModel Create(MobileNetV2Options? options = null)
    {
        options ??= new MobileNetV2Options();
        var b = new OnnxGraphBuilder(Name, options.Seed);
        var x = ZooOptionChecks.ImageInput(b, options.InputShape);
        int feature = 0;
        using (b.Scope($"features.{feature++}"))
            x = ConvBnRelu6(b, x, MakeDivisible(options.StemChannels * options.WidthMultiplier), kernel: 3, stride: 1);
        foreach (var group in options.Blocks)
        {
            int channels = MakeDivisible(group.Channels * options.WidthMultiplier);
            for (int i = 0; i < group.Repeats; i++)
            {
                using var scope = b.Scope($"features.{feature++}");
                x = InvertedResidual(b, x, channels, i == 0 ? group.Stride : 1, group.Expansion);
            }
        }
        int last = MakeDivisible(options.LastChannels * Math.Max(1.0, options.WidthMultiplier));
        using (b.Scope($"features.{feature}"))
            x = ConvBnRelu6(b, x, last, kernel: 1, stride: 1);
        x = b.Flatten(b.GlobalAveragePool(x, name: "avgpool"));
        using (b.Scope("classifier"))
        {
            if (options.Dropout > 0) x = b.Dropout(x, options.Dropout, name: "0");
            x = b.Linear(x, options.Classes, name: "1");
        }
        return ZooOptionChecks.Finish(b, x, Name);
    }

    /// <summary>
    /// Rounds a channel count to the nearest multiple of 8 (at least 8), never more than 10 % below
    /// the exact value: torchvision's <c>_make_divisible</c>, so that width multipliers give the
    /// same layer widths as there.
    /// </summary>
    internal static int MakeDivisible(double channels, int divisor = 8)
    {
        int rounded = Math.Max(divisor, (int)(channels + divisor / 2.0) / divisor * divisor);
        if (rounded < 0.9 * channels) rounded += divisor;
        return rounded;
    }

    private static GraphValue InvertedResidual(OnnxGraphBuilder b, GraphValue input, int outChannels, int stride, int expansion)
    {
        long inChannels = input.Dimension(1);
        int hidden = checked((int)inChannels * expansion);
        var x = input;
        using (b.Scope("conv"))
        {
            int layer = 0;
            if (expansion != 1)
            {
                using (b.Scope($"{layer++}"))
                    x = ConvBnRelu6(b, x, hidden, kernel: 1, stride: 1);
            }
            using (b.Scope($"{layer++}"))
                x = ConvBnRelu6(b, x, hidden, kernel: 3, stride: stride, groups: hidden);
            x = b.Conv(x, outChannels, kernel: 1, bias: false, name: $"{layer++}");
            x = b.BatchNorm(x, name: $"{layer}");
        }
        return stride == 1 && inChannels == outChannels ? b.Add(input, x, name: "add") : x;
    }

    /// <summary>torchvision's <c>Conv2dNormActivation</c>: Conv (no bias) → BatchNorm → ReLU6, named 0, 1, 2.</summary>
    private static GraphValue ConvBnRelu6(OnnxGraphBuilder b, GraphValue x, int channels, int kernel, int stride, int groups = 1)
    {
        x = b.Conv(x, channels, kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups, bias: false, name: "0");
        x = b.BatchNorm(x, name: "1");
        return b.Relu6(x, name: "2");
    }
}
