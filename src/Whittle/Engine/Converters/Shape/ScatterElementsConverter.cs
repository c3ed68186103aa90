using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// ScatterElements (and its deprecated alias Scatter): a copy of the data where
/// data[..., index[i][j][k], ...] along the axis is replaced by (or, with a reduction, combined
/// with) updates[i][j][k]; negative indices wrap.
/// </summary>
[OnnxOp("Scatter", 9)]
[OnnxOp("Scatter", 11)]
[OnnxOp("ScatterElements", 11)]
[OnnxOp("ScatterElements", 13)]
[OnnxOp("ScatterElements", 16)]
[OnnxOp("ScatterElements", 18)]
internal sealed class ScatterElementsConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        foreach (var p in ShapeOps.UnsupportedInitializers(context)) yield return p;
        bool elements = context.Node.OpType == "ScatterElements";
        var accepted = elements && context.SinceVersion >= 18 ? new[] { "none", "add", "mul", "max", "min" }
            : elements && context.SinceVersion >= 16 ? new[] { "none", "add", "mul" } : new[] { "none" };
        foreach (var p in ShapeOps.RequireOneOf(context.Node, "reduction", "none", accepted)) yield return p;
    }

    public IOpKernel Compile(OpContext context)
    {
        long axis = context.Node.GetInt("axis", 0);
        var reduction = context.Node.GetString("reduction", "none");
        return LambdaKernel.Single(inputs =>
        {
            var data = inputs[0]!;
            var indices = inputs[1]!;
            var updates = inputs[2]!;
            var shape = data.shape;
            long a = ShapeOps.Axis(axis, shape.Length);
            // Address every element of the flattened data: the index gives the coordinate along
            // the axis, the element's own position gives the others.
            var idx = ShapeOps.WrapNegative(indices, shape[a]);
            var indexShape = idx.shape;
            var linear = zeros(indexShape, ScalarType.Int64, data.device);
            long stride = 1;
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                Tensor coordinate;
                if (d == a)
                {
                    coordinate = idx;
                }
                else
                {
                    var view = Enumerable.Repeat(1L, shape.Length).ToArray();
                    view[d] = indexShape[d];
                    coordinate = arange(indexShape[d], dtype: ScalarType.Int64, device: data.device).reshape(view);
                }
                linear = linear + coordinate * stride;
                stride *= shape[d];
            }
            var scattered = ScatterNDConverter.ScatterRows(data.reshape(-1), linear.reshape(-1), updates.reshape(-1), reduction);
            return scattered.reshape(shape);
        });
    }
}
