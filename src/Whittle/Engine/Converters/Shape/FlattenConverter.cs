using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Flatten: reshapes to 2-D, [product of dims before axis, product of dims from axis on].</summary>
[OnnxOp("Flatten", 1)]
[OnnxOp("Flatten", 9)]
[OnnxOp("Flatten", 11)]
[OnnxOp("Flatten", 13)]
[OnnxOp("Flatten", 21)]
[OnnxOp("Flatten", 23)]
[OnnxOp("Flatten", 24)]
[OnnxOp("Flatten", 25)]
internal sealed class FlattenConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context)
    {
        long axis = context.Node.GetInt("axis", 1);
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            var shape = x.shape;
            // axis may equal rank here (everything goes to the first dimension).
            long a = axis < 0 ? axis + shape.Length : axis;
            if (a < 0 || a > shape.Length) throw new EngineException($"axis {axis} is out of range for a tensor of rank {shape.Length}");
            return x.reshape(ShapeOps.Product(shape, 0, (int)a), ShapeOps.Product(shape, (int)a));
        });
    }
}
