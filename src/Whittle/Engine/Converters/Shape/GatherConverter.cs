using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// Gather: picks the entries of the data along an axis at the given (possibly negative)
/// indices; output shape is data.shape[:axis] + indices.shape + data.shape[axis+1:]. With a
/// float initializer as data this is an embedding lookup, so it is an index_select on the data
/// tensor itself: the gradient flows back into the rows that were looked up.
/// </summary>
[OnnxOp("Gather", 1)]
[OnnxOp("Gather", 11)]
[OnnxOp("Gather", 13)]
internal sealed class GatherConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context)
    {
        long axis = context.Node.GetInt("axis", 0);
        return LambdaKernel.Single(inputs =>
        {
            var data = inputs[0]!;
            var indices = inputs[1]!;
            var shape = data.shape;
            long a = ShapeOps.Axis(axis, shape.Length);
            var flat = ShapeOps.WrapNegative(indices, shape[a]).reshape(-1);
            var picked = data.index_select(a, flat);
            var outShape = shape.Take((int)a).Concat(indices.shape).Concat(shape.Skip((int)a + 1)).ToArray();
            return picked.reshape(outShape);
        });
    }
}
