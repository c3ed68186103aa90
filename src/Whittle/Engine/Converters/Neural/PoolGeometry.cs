using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Engine.Converters;

/// <summary>
/// Where the windows of a MaxPool/AveragePool node fall on one input shape: the node's own
/// padding (<see cref="Begin"/>, <see cref="End"/>), the output length, and
/// <see cref="FittedEnd"/>, the end padding after which exactly <see cref="Output"/> windows
/// fit (larger than <see cref="End"/> when ceil_mode adds a partial window, smaller when the last
/// elements are never reached).
/// </summary>
internal sealed record PoolGeometry(long[] Kernel, long[] Strides, long[] Dilations, long[] Begin, long[] End, long[] FittedEnd, long[] Output)
{
    public int Rank => Kernel.Length;

    public static PoolGeometry For(SlidingWindow window, long[] input, bool ceilMode)
    {
        var kernel = window.KernelShape!;
        int n = kernel.Length;
        if (input.Length != n)
            throw new EngineException($"a {n}-D pooling window needs an input of rank {n + 2}, it has rank {input.Length + 2}");
        var strides = window.StridesFor(n);
        var dilations = window.DilationsFor(n);
        var (begin, end) = window.ForwardPads(input, kernel, strides, dilations);
        var output = new long[n];
        var fittedEnd = new long[n];
        for (int i = 0; i < n; i++)
        {
            output[i] = SlidingWindow.PoolOutputLength(input[i], begin[i], end[i], kernel[i], strides[i], dilations[i], ceilMode);
            fittedEnd[i] = (output[i] - 1) * strides[i] + SlidingWindow.Extent(kernel[i], dilations[i]) - input[i] - begin[i];
        }
        return new PoolGeometry(kernel, strides, dilations, begin, end, fittedEnd, output);
    }

    /// <summary>
    /// The symmetric padding torch's pooling can apply itself to produce exactly this geometry
    /// (torch allows at most half the kernel), or null when the input must be padded up front.
    /// Trailing elements no window reaches need no padding, so FittedEnd is clamped at zero.
    /// </summary>
    public long[]? TorchSymmetricPadding()
    {
        for (int i = 0; i < Rank; i++)
            if (Begin[i] != Math.Max(0, FittedEnd[i]) || Begin[i] > Kernel[i] / 2) return null;
        return Begin;
    }

    /// <summary>
    /// Window sums over a zero-padded-to-fit input, by a depthwise convolution with a kernel of
    /// ones (which, unlike torch's avg_pool, also handles dilations).
    /// </summary>
    public Tensor SumWindows(Tensor padded)
    {
        var shape = padded.shape;
        var planes = padded.reshape([shape[0] * shape[1], 1, .. shape[2..]]);
        using var ones = TorchSharp.torch.ones([1, 1, .. Kernel], dtype: padded.dtype);
        var sums = Rank switch
        {
            1 => F.conv1d(planes, ones, null, Strides[0], 0, Dilations[0]),
            2 => F.conv2d(planes, ones, null, Strides, new long[2], Dilations),
            3 => F.conv3d(planes, ones, null, Strides, new long[3], Dilations),
            _ => throw new EngineException($"{Rank}-D pooling is not supported (1-D to 3-D are)"),
        };
        return sums.reshape([shape[0], shape[1], .. Output]);
    }
}
