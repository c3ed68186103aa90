using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Engine.Converters;

/// <summary>
/// Conv: 1-D, 2-D or 3-D cross-correlation of X with W (plus optional bias B), with groups
/// (depthwise included), strides, dilations and explicit or automatic padding.
/// </summary>
[OnnxOp("Conv", 1)]
[OnnxOp("Conv", 11)]
[OnnxOp("Conv", 22)]
internal sealed class ConvConverter : IOpConverter
{
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
        return n switch
        {
            1 => F.conv1d(x, w, bias, strides[0], padding[0], dilations[0], groups),
            2 => F.conv2d(x, w, bias, strides, padding, dilations, groups),
            3 => F.conv3d(x, w, bias, strides, padding, dilations, groups),
            _ => throw new EngineException($"Conv: {n}-D convolution is not supported (1-D to 3-D are)"),
        };
    }
}
