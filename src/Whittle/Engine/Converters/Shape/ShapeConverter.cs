using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Shape: the input's dimensions as a 1-D int64 tensor (the [start, end) slice of them from opset 15).</summary>
[OnnxOp("Shape", 1)]
[OnnxOp("Shape", 13)]
[OnnxOp("Shape", 15)]
[OnnxOp("Shape", 19)]
[OnnxOp("Shape", 21)]
[OnnxOp("Shape", 23)]
[OnnxOp("Shape", 24)]
[OnnxOp("Shape", 25)]
internal sealed class ShapeConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context)
    {
        long start = context.SinceVersion >= 15 ? context.Node.GetInt("start", 0) : 0;
        long? end = context.SinceVersion >= 15 && context.Node.HasAttribute("end") ? context.Node.GetInt("end") : null;
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            var shape = x.shape;
            int rank = shape.Length;
            // Out-of-range bounds are clamped to [0, rank], as the spec requires.
            long s = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
            long e = Math.Clamp(end is { } v ? (v < 0 ? v + rank : v) : rank, 0, rank);
            return ShapeOps.LongTensor(shape[(int)s..(int)Math.Max(s, e)], x);
        });
    }
}
