using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Engine.Converters;

/// <summary>
/// Conv: 1-D, 2-D or 3-D cross-correlation of X with W (plus optional bias B), with groups
/// (depthwise included), strides, dilations and explicit or automatic padding.
/// </summary>
/// <remarks>
/// A convolution with <c>group == 1</c> whose output channels are not a multiple of
/// <see cref="ChannelBlock"/> is computed, when a gradient will flow through it, with its
/// weight (and bias) zero-padded up to the next multiple and the extra output channels sliced
/// away; one with more than 16 input channels that are not a multiple of 16 gets zero input
/// channels added to the input and the weight. The result and the gradients are the same; the reason is a defect in libtorch 2.10's CPU
/// (oneDNN) convolution backward on this AVX-512 machine: for such a convolution the gradient with
/// respect to its input is wrong (measured without Whittle, 2 threads, against float64: 16 → 24,
/// 16 → 40, 16 → 100 and a 1-D 128 → 100 wrong by 18-22 % in every step; 8 → 8 non-finite in 38 of
/// 100 steps and wrong in 15 more; 20 → 16, 24 → 32, 27 → 32 wrong in every step; 1, 3, 4, 8 or 12
/// → 16 or 32, 16 → 16, 16 → 48, 128 → 128, grouped and depthwise correct).
/// See docs/engine.md, "Convolutions in training".
/// </remarks>
[OnnxOp("Conv", 1)]
[OnnxOp("Conv", 11)]
[OnnxOp("Conv", 22)]
internal sealed class ConvConverter : IOpConverter
{
    /// <summary>
    /// A trained <c>group == 1</c> convolution is computed with a multiple of this many output
    /// channels, and of input channels when it has more than this many.
    /// </summary>
    internal const int ChannelBlock = 16;

    /// <summary>The zero channels that bring <paramref name="channels"/> up to a multiple of <see cref="ChannelBlock"/>.</summary>
    private static long MissingToBlock(long channels) => (ChannelBlock - channels % ChannelBlock) % ChannelBlock;

    public IEnumerable<string> Check(OpContext context)
    {
        var weight = context.ConstantInput(1);
        int? rank = weight is null ? null : weight.Dims.Length - 2;
        foreach (var p in SlidingWindow.Problems(context.Node, rank)) yield return p;
        if (context.Node.GetInt("group", 1) < 1) yield return "group must be positive";
    }

    public IOpKernel Compile(OpContext context)
    {
        var window = SlidingWindow.Parse(context.Node);
        long groups = context.Node.GetInt("group", 1);
        return LambdaKernel.Single(inputs => Forward(inputs[0]!, inputs[1]!, inputs.At(2), window, groups));
    }

    private static Tensor Forward(Tensor x, Tensor w, Tensor? bias, SlidingWindow window, long groups)
    {
        int n = (int)w.dim() - 2;
        if (x.dim() != n + 2)
            throw new EngineException($"Conv: input has rank {x.dim()}, the {n}-D weight needs rank {n + 2}");
        var strides = window.StridesFor(n);
        var dilations = window.DilationsFor(n);
        var (begin, end) = window.ForwardPads(SlidingWindow.SpatialShape(x), SlidingWindow.SpatialShape(w), strides, dilations);
        var padding = begin;
        if (!begin.SequenceEqual(end))
        {
            // torch pads both sides equally; asymmetric padding (SAME_*, explicit) is done up front.
            x = F.pad(x, SlidingWindow.TorchPad(begin, end));
            padding = new long[n];
        }
        long outChannels = w.shape[0], inChannels = w.shape[1];
        bool training = groups == 1 && is_grad_enabled() && (x.requires_grad || w.requires_grad || (bias is not null && bias.requires_grad));
        long extraOut = training ? MissingToBlock(outChannels) : 0;
        long extraIn = training && inChannels > ChannelBlock ? MissingToBlock(inChannels) : 0;
        if (extraOut > 0)
        {
            var weightPad = new long[2 * (n + 2)];
            weightPad[^1] = extraOut; // F.pad lists dimensions from the last one backwards: the output-channel end is last.
            w = F.pad(w, weightPad);
            if (bias is not null) bias = F.pad(bias, [0, extraOut]);
        }
        if (extraIn > 0)
        {
            var channelPad = new long[2 * (n + 1)];
            channelPad[^1] = extraIn; // the input-channel end: dimension 1 of both x and w
            x = F.pad(x, channelPad);
            w = F.pad(w, channelPad);
        }
        var y = Convolve(x, w, bias, n, strides, padding, dilations, groups);
        return extraOut > 0 ? y.narrow(1, 0, outChannels) : y;
    }

    private static Tensor Convolve(Tensor x, Tensor w, Tensor? bias, int n, long[] strides, long[] padding, long[] dilations, long groups)
    {
        return n switch
        {
            1 => F.conv1d(x, w, bias, strides[0], padding[0], dilations[0], groups),
            2 => F.conv2d(x, w, bias, strides, padding, dilations, groups),
            3 => F.conv3d(x, w, bias, strides, padding, dilations, groups),
            _ => throw new EngineException($"Conv: {n}-D convolution is not supported (1-D to 3-D are)"),
        };
    }
}
