using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Unsqueeze: inserts size-1 axes at the given positions of the output.</summary>
[OnnxOp("Unsqueeze", 1)]
[OnnxOp("Unsqueeze", 11)]
[OnnxOp("Unsqueeze", 13)]
[OnnxOp("Unsqueeze", 21)]
[OnnxOp("Unsqueeze", 23)]
[OnnxOp("Unsqueeze", 24)]
[OnnxOp("Unsqueeze", 25)]
internal sealed class UnsqueezeConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        foreach (var p in ShapeOps.UnsupportedInitializers(context)) yield return p;
        if (context.SinceVersion < 13 && !context.Node.HasAttribute("axes"))
            yield return "required attribute 'axes' is missing";
        if (context.SinceVersion >= 13 && !context.HasInput(1))
            yield return "required input 'axes' is missing";
    }

    public IOpKernel Compile(OpContext context)
    {
        // Before opset 13 the axes are an attribute; from 13 a required input.
        var axesAttribute = context.SinceVersion < 13 ? context.Node.GetInts("axes") : null;
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            var shape = x.shape;
            var axes = axesAttribute ?? ShapeOps.Longs(inputs, 1, "axes");
            int outRank = shape.Length + axes.Length;
            // Axes index the output, so they are normalized against the output rank.
            var inserted = ShapeOps.Axes(axes, outRank).ToHashSet();
            var result = new long[outRank];
            for (int i = 0, j = 0; i < outRank; i++) result[i] = inserted.Contains(i) ? 1 : shape[j++];
            return x.reshape(result);
        });
    }
}
