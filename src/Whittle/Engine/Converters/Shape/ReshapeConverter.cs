using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// Reshape: the data with a new shape, where 0 copies the input dimension (unless allowzero)
/// and one -1 is inferred from the element count.
/// </summary>
[OnnxOp("Reshape", 1)]
[OnnxOp("Reshape", 5)]
[OnnxOp("Reshape", 13)]
[OnnxOp("Reshape", 14)]
[OnnxOp("Reshape", 19)]
[OnnxOp("Reshape", 21)]
[OnnxOp("Reshape", 23)]
[OnnxOp("Reshape", 24)]
[OnnxOp("Reshape", 25)]
internal sealed class ReshapeConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        foreach (var p in ShapeOps.UnsupportedInitializers(context)) yield return p;
        if (context.SinceVersion < 5 && !context.Node.HasAttribute("shape"))
            yield return "Reshape-1 without a 'shape' attribute is not supported";
    }

    public IOpKernel Compile(OpContext context)
    {
        var shapeAttribute = context.SinceVersion < 5 ? context.Node.GetInts("shape") : null;
        bool allowZero = context.SinceVersion >= 14 && context.Node.GetInt("allowzero", 0) != 0;
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            var requested = shapeAttribute ?? ShapeOps.Longs(inputs, 1, "shape");
            return x.reshape(Resolve(x.shape, requested, allowZero));
        });
    }

    /// <summary>The concrete output shape: zeros copied (or kept with allowzero), -1 inferred.</summary>
    internal static long[] Resolve(long[] inputShape, long[] requested, bool allowZero)
    {
        var shape = (long[])requested.Clone();
        int inferred = -1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 0 && !allowZero)
            {
                if (i >= inputShape.Length) throw new EngineException($"shape [{string.Join(", ", requested)}] copies dimension {i}, but the input has rank {inputShape.Length}");
                shape[i] = inputShape[i];
            }
            else if (shape[i] == -1)
            {
                if (inferred >= 0) throw new EngineException($"shape [{string.Join(", ", requested)}] has more than one -1");
                inferred = i;
            }
            else if (shape[i] < -1) throw new EngineException($"shape [{string.Join(", ", requested)}] has a negative dimension");
        }
        if (inferred >= 0)
        {
            long known = 1;
            for (int i = 0; i < shape.Length; i++) if (i != inferred) known *= shape[i];
            long total = ShapeOps.Product(inputShape);
            if (known == 0 || total % known != 0)
                throw new EngineException($"cannot reshape [{string.Join(", ", inputShape)}] to [{string.Join(", ", requested)}]");
            shape[inferred] = total / known;
        }
        return shape;
    }
}
