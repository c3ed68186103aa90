using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Engine.Converters;

/// <summary>
/// AveragePool: the mean over each 1-D, 2-D or 3-D window (strides, pads, dilations, ceil_mode,
/// auto_pad). count_include_pad decides whether padding counts in the divisor; the part of a
/// ceil_mode window beyond the padding never counts.
/// </summary>
[OnnxOp("AveragePool", 1)]
[OnnxOp("AveragePool", 7)]
[OnnxOp("AveragePool", 10)]
[OnnxOp("AveragePool", 11)]
[OnnxOp("AveragePool", 19)]
[OnnxOp("AveragePool", 22)]
internal sealed class AveragePoolConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        if (!context.Node.HasAttribute("kernel_shape")) yield return "kernel_shape is required";
        foreach (var p in SlidingWindow.Problems(context.Node, null)) yield return p;
    }

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        var window = SlidingWindow.Parse(node);
        bool ceilMode = node.GetInt("ceil_mode", 0) != 0;
        bool countIncludePad = node.GetInt("count_include_pad", 0) != 0;
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            var input = SlidingWindow.SpatialShape(x);
            var g = PoolGeometry.For(window, input, ceilMode);

            // torch's avg_pool agrees with ONNX (divisor and ceil_mode included) for symmetric
            // padding of at most half the kernel and no dilation.
            if (g.Begin.SequenceEqual(g.End) && g.Dilations.All(d => d == 1) && g.Begin.Select((p, i) => p <= g.Kernel[i] / 2).All(ok => ok))
            {
                var (k, s, p) = (g.Kernel, g.Strides, g.Begin);
                return g.Rank switch
                {
                    1 => F.avg_pool1d(x, k[0], s[0], p[0], ceilMode, countIncludePad),
                    2 => F.avg_pool2d(x, k, s, p, ceilMode, countIncludePad),
                    3 => F.avg_pool3d(x, k, s, p, ceilMode, countIncludePad),
                    _ => throw new EngineException($"AveragePool: {g.Rank}-D pooling is not supported (1-D to 3-D are)"),
                };
            }

            // Otherwise: window sums of the zero-padded input divided by window sums of a mask of
            // the elements that count (the input, plus the node's padding if count_include_pad).
            var sums = g.SumWindows(F.pad(x, SlidingWindow.TorchPad(g.Begin, g.FittedEnd)));
            using var ones = TorchSharp.torch.ones([1, 1, .. input], dtype: x.dtype);
            Tensor mask = countIncludePad
                ? F.pad(F.pad(ones, SlidingWindow.TorchPad(g.Begin, g.End), value: 1),
                    SlidingWindow.TorchPad(new long[g.Rank], g.FittedEnd.Select((f, i) => f - g.End[i]).ToArray()))
                : F.pad(ones, SlidingWindow.TorchPad(g.Begin, g.FittedEnd));
            return sums / g.SumWindows(mask);
        });
    }
}
