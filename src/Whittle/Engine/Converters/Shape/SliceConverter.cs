using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// Slice: takes start:end:step along the given axes (numpy semantics: negative indices count
/// from the end, out-of-range indices such as INT64_MAX are clamped, steps may be negative).
/// </summary>
[OnnxOp("Slice", 1)]
[OnnxOp("Slice", 10)]
[OnnxOp("Slice", 11)]
[OnnxOp("Slice", 13)]
internal sealed class SliceConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        foreach (var p in ShapeOps.UnsupportedInitializers(context)) yield return p;
        if (context.SinceVersion < 10)
            foreach (var name in new[] { "starts", "ends" })
                if (!context.Node.HasAttribute(name)) yield return $"required attribute '{name}' is missing";
    }

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        // Slice-1 takes starts/ends/axes as attributes; from 10 they are inputs (with optional steps).
        bool fromAttributes = context.SinceVersion < 10;
        var startsAttribute = fromAttributes ? node.GetInts("starts") : null;
        var endsAttribute = fromAttributes ? node.GetInts("ends") : null;
        var axesAttribute = fromAttributes ? node.GetInts("axes") : null;
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            var starts = startsAttribute ?? ShapeOps.Longs(inputs, 1, "starts");
            var ends = endsAttribute ?? ShapeOps.Longs(inputs, 2, "ends");
            var axes = fromAttributes ? axesAttribute : ShapeOps.OptionalLongs(inputs, 3);
            var steps = fromAttributes ? null : ShapeOps.OptionalLongs(inputs, 4);
            return Apply(x, starts, ends, axes, steps);
        });
    }

    internal static Tensor Apply(Tensor x, long[] starts, long[] ends, long[]? axes, long[]? steps)
    {
        long rank = x.dim();
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        steps ??= Enumerable.Repeat(1L, starts.Length).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            throw new EngineException("starts, ends, axes and steps must have the same length");
        var normalizedAxes = ShapeOps.Axes(axes, rank);
        var result = x;
        for (int i = 0; i < starts.Length; i++)
        {
            long axis = normalizedAxes[i], dim = x.shape[axis], step = steps[i];
            if (step == 0) throw new EngineException("slice step cannot be 0");
            if (dim == 0) continue;
            var (start, end) = Clamp(starts[i], ends[i], step, dim);
            if (step > 0)
            {
                result = result.slice(axis, start, Math.Max(start, end), step);
            }
            else
            {
                // torch views cannot step backwards; gather the indices instead (gradients still flow).
                long count = start > end ? (start - end + (-step) - 1) / -step : 0;
                var indices = arange(start, start + count * step, step, dtype: ScalarType.Int64, device: x.device);
                result = result.index_select(axis, indices);
            }
        }
        return result;
    }

    /// <summary>Start and end clamped into range as the ONNX spec requires (end may be -1 for backward steps).</summary>
    private static (long Start, long End) Clamp(long start, long end, long step, long dim)
    {
        // Only negative values get dim added, so INT64_MAX / INT64_MIN never overflow.
        if (start < 0) start += dim;
        if (end < 0) end += dim;
        if (step > 0)
        {
            start = Math.Clamp(start, 0, dim);
            end = Math.Clamp(end, 0, dim);
        }
        else
        {
            start = Math.Clamp(start, 0, dim - 1);
            end = Math.Clamp(end, -1, dim - 1);
        }
        return (start, end);
    }
}
