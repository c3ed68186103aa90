using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Squeeze: removes the given size-1 axes (every size-1 axis when none are given).</summary>
[OnnxOp("Squeeze", 1)]
[OnnxOp("Squeeze", 11)]
[OnnxOp("Squeeze", 13)]
[OnnxOp("Squeeze", 21)]
[OnnxOp("Squeeze", 23)]
[OnnxOp("Squeeze", 24)]
[OnnxOp("Squeeze", 25)]
internal sealed class SqueezeConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context)
    {
        // Before opset 13 the axes are an attribute; from 13 an optional input.
        var axesAttribute = context.SinceVersion < 13 ? context.Node.GetInts("axes") : null;
        bool axesFromInput = context.SinceVersion >= 13;
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            var shape = x.shape;
            var axes = axesFromInput ? ShapeOps.OptionalLongs(inputs, 1) : axesAttribute;
            var removed = axes is null
                ? Enumerable.Range(0, shape.Length).Where(i => shape[i] == 1).Select(i => (long)i).ToHashSet()
                : ShapeOps.Axes(axes, shape.Length).ToHashSet();
            foreach (var a in removed)
                if (shape[a] != 1) throw new EngineException($"cannot squeeze axis {a} of size {shape[a]}");
            return x.reshape(shape.Where((_, i) => !removed.Contains(i)).ToArray());
        });
    }
}
