using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// Pad: adds (or, for negative amounts, removes) elements at the start and end of each axis,
/// filled with a constant, the reflection of the data (reflect), its edge values (edge) or
/// the data wrapped around (wrap, from opset 19).
/// </summary>
[OnnxOp("Pad", 1)]
[OnnxOp("Pad", 2)]
[OnnxOp("Pad", 11)]
[OnnxOp("Pad", 13)]
[OnnxOp("Pad", 18)]
[OnnxOp("Pad", 19)]
[OnnxOp("Pad", 21)]
[OnnxOp("Pad", 23)]
[OnnxOp("Pad", 24)]
[OnnxOp("Pad", 25)]
internal sealed class PadConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        foreach (var p in ShapeOps.UnsupportedInitializers(context)) yield return p;
        var modes = context.SinceVersion >= 19 ? new[] { "constant", "reflect", "edge", "wrap" } : new[] { "constant", "reflect", "edge" };
        foreach (var p in ShapeOps.RequireOneOf(context.Node, "mode", "constant", modes)) yield return p;
        if (context.SinceVersion < 11)
        {
            var name = context.SinceVersion < 2 ? "paddings" : "pads";
            if (!context.Node.HasAttribute(name)) yield return $"required attribute '{name}' is missing";
        }
    }

    // pads, constant_value and axes are settings: a float constant_value initializer is never trained.
    public InputRole RoleOf(int index, OpContext context) => index == 0 ? InputRole.Data : InputRole.Constant;

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        var mode = node.GetString("mode", "constant");
        // Before 11 the pads and the value are attributes (Pad-1 names them 'paddings' and 'value').
        bool fromAttributes = context.SinceVersion < 11;
        var padsAttribute = fromAttributes ? node.GetInts(context.SinceVersion < 2 ? "paddings" : "pads") : null;
        double valueAttribute = fromAttributes ? node.GetFloat("value", 0f) : 0;
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            long rank = x.dim();
            var pads = padsAttribute ?? ShapeOps.Longs(inputs, 1, "pads");
            double value = fromAttributes ? valueAttribute : inputs.At(2) is { } v && v.numel() > 0 ? ShapeOps.Scalar(v) : 0;
            var axes = fromAttributes ? null : ShapeOps.OptionalLongs(inputs, 3);
            var normalized = axes is null ? Enumerable.Range(0, (int)rank).Select(i => (long)i).ToArray() : ShapeOps.Axes(axes, rank);
            if (pads.Length != 2 * normalized.Length)
                throw new EngineException($"{pads.Length} pads for {normalized.Length} axes (expected {2 * normalized.Length})");
            var begin = new long[rank];
            var end = new long[rank];
            for (int i = 0; i < normalized.Length; i++)
            {
                begin[normalized[i]] = pads[i];
                end[normalized[i]] = pads[i + normalized.Length];
            }
            return mode == "constant" ? PadConstant(x, begin, end, value) : PadByIndex(x, begin, end, mode);
        });
    }

    private static Tensor PadConstant(Tensor x, long[] begin, long[] end, double value)
    {
        // torch lists pads from the last axis backwards; constant padding also accepts negative amounts.
        var torchPads = new List<long>();
        for (int d = begin.Length - 1; d >= 0; d--)
        {
            torchPads.Add(begin[d]);
            torchPads.Add(end[d]);
        }
        if (torchPads.All(p => p == 0)) return x;
        if (x.dtype == ScalarType.Bool)
            return nn.functional.pad(x.to_type(ScalarType.Byte), torchPads.ToArray(), TorchSharp.PaddingModes.Constant, value).to_type(ScalarType.Bool);
        return nn.functional.pad(x, torchPads.ToArray(), TorchSharp.PaddingModes.Constant, value);
    }

    /// <summary>
    /// Reflect, edge and wrap padding as an index_select per axis: works for any rank, for pads
    /// wider than the data (numpy repeats the reflection) and keeps the gradient.
    /// </summary>
    private static Tensor PadByIndex(Tensor x, long[] begin, long[] end, string mode)
    {
        var result = x;
        for (int d = 0; d < begin.Length; d++)
        {
            // Negative amounts crop first.
            long cropStart = Math.Max(-begin[d], 0), cropEnd = Math.Max(-end[d], 0);
            if (cropStart > 0 || cropEnd > 0)
                result = result.narrow(d, cropStart, result.shape[d] - cropStart - cropEnd);
            long before = Math.Max(begin[d], 0), after = Math.Max(end[d], 0);
            if (before == 0 && after == 0) continue;
            long n = result.shape[d];
            if (n == 0) throw new EngineException($"cannot {mode}-pad an empty axis {d}");
            var source = new long[n + before + after];
            for (long i = 0; i < source.Length; i++)
                source[i] = SourceIndex(i - before, n, mode);
            result = result.index_select(d, ShapeOps.LongTensor(source, result));
        }
        return result;
    }

    /// <summary>The data index that padded position <paramref name="i"/> (relative to the data start) copies.</summary>
    private static long SourceIndex(long i, long n, string mode)
    {
        switch (mode)
        {
            case "edge":
                return Math.Clamp(i, 0, n - 1);
            case "wrap":
                return ((i % n) + n) % n;
            default:
                if (n == 1) return 0;
                long period = 2 * (n - 1);
                long j = ((i % period) + period) % period;
                return j < n ? j : period - j;
        }
    }
}
