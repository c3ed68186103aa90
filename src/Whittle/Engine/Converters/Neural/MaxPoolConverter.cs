using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Engine.Converters;

/// <summary>
/// MaxPool: the maximum over each 1-D, 2-D or 3-D window (strides, dilations, pads padded with
/// -infinity, ceil_mode, auto_pad), and optionally the Indices of the maxima, flattened over
/// the whole input (row- or column-major spatial order by storage_order).
/// </summary>
[OnnxOp("MaxPool", 1)]
[OnnxOp("MaxPool", 8)]
[OnnxOp("MaxPool", 10)]
[OnnxOp("MaxPool", 11)]
[OnnxOp("MaxPool", 12)]
[OnnxOp("MaxPool", 22)]
internal sealed class MaxPoolConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        var node = context.Node;
        if (!node.HasAttribute("kernel_shape")) yield return "kernel_shape is required";
        foreach (var p in SlidingWindow.Problems(node, null)) yield return p;
        long order = node.GetInt("storage_order", 0);
        if (order is not (0 or 1)) yield return $"storage_order must be 0 or 1, it is {order}";
    }

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        var window = SlidingWindow.Parse(node);
        bool ceilMode = node.GetInt("ceil_mode", 0) != 0;
        bool columnMajor = node.GetInt("storage_order", 0) == 1;
        bool wantIndices = node.Outputs.Count > 1 && node.Outputs[1].Length > 0;
        return new LambdaKernel((inputs, _) =>
        {
            var x = inputs[0]!;
            var input = SlidingWindow.SpatialShape(x);
            var g = PoolGeometry.For(window, input, ceilMode);
            // Integer inputs (int8/uint8) pool exactly in float32; torch pools floating types.
            var xf = x.is_floating_point() ? x : x.to_type(ScalarType.Float32);
            var padding = g.TorchSymmetricPadding();
            long[] offset = new long[g.Rank];
            if (padding is null)
            {
                xf = F.pad(xf, SlidingWindow.TorchPad(g.Begin, g.FittedEnd), value: double.NegativeInfinity);
                offset = g.Begin;
                padding = new long[g.Rank];
            }
            var (y, torchIndices) = Pool(xf, g, padding, wantIndices);
            if (y.dtype != x.dtype) y = y.to_type(x.dtype);
            if (!wantIndices) return [y];
            return [y, OnnxIndices(torchIndices!, x.shape, SlidingWindow.SpatialShape(xf), offset, columnMajor)];
        });
    }

    private static (Tensor Values, Tensor? Indices) Pool(Tensor x, PoolGeometry g, long[] padding, bool withIndices)
    {
        var (k, s, d) = (g.Kernel, g.Strides, g.Dilations);
        if (!withIndices)
        {
            return (g.Rank switch
            {
                1 => F.max_pool1d(x, k[0], s[0], padding[0], d[0]),
                2 => F.max_pool2d(x, k, s, padding, d),
                3 => F.max_pool3d(x, k, s, padding, d),
                _ => throw new EngineException($"MaxPool: {g.Rank}-D pooling is not supported (1-D to 3-D are)"),
            }, null);
        }
        var (values, indices) = g.Rank switch
        {
            1 => F.max_pool1d_with_indices(x, k[0], s[0], padding[0], d[0]),
            2 => F.max_pool2d_with_indices(x, k, s, padding, d),
            3 => F.max_pool3d_with_indices(x, k, s, padding, d),
            _ => throw new EngineException($"MaxPool: {g.Rank}-D pooling is not supported (1-D to 3-D are)"),
        };
        return (values, indices);
    }

    /// <summary>
    /// torch's indices count within one (padded) plane; ONNX's count over the whole unpadded input
    /// (N, C and the spatial dimensions), the spatial part row-major or column-major.
    /// </summary>
    private static Tensor OnnxIndices(Tensor torchIndices, long[] inputShape, long[] torchPlane, long[] offset, bool columnMajor)
    {
        var spatial = inputShape[2..];
        int n = spatial.Length;
        var onnxStride = new long[n];
        long size = 1;
        for (int j = 0; j < n; j++)
        {
            int dim = columnMajor ? j : n - 1 - j;
            onnxStride[dim] = size;
            size *= spatial[dim];
        }
        var remainder = torchIndices;
        var flat = zeros_like(torchIndices);
        for (int j = n - 1; j >= 0; j--)
        {
            var coordinate = remainder.remainder(torchPlane[j]) - offset[j];
            remainder = remainder.floor_divide(torchPlane[j]);
            flat = flat + coordinate * onnxStride[j];
        }
        long planes = inputShape[0] * inputShape[1];
        var planeStart = arange(planes, dtype: ScalarType.Int64).reshape([inputShape[0], inputShape[1], .. SlidingWindow.Ones(n)]) * size;
        return flat + planeStart;
    }
}
