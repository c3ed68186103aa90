using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Concat: joins the inputs along an axis.</summary>
[OnnxOp("Concat", 1)]
[OnnxOp("Concat", 4)]
[OnnxOp("Concat", 11)]
[OnnxOp("Concat", 13)]
internal sealed class ConcatConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        foreach (var p in ShapeOps.UnsupportedInitializers(context)) yield return p;
        if (context.SinceVersion >= 4 && !context.Node.HasAttribute("axis"))
            yield return "required attribute 'axis' is missing";
    }

    public IOpKernel Compile(OpContext context)
    {
        // Concat-1 defaults the axis to 1; later versions require it.
        long axis = context.Node.GetInt("axis", 1);
        return LambdaKernel.Single(inputs =>
        {
            var parts = inputs.Where(t => t is not null).Select(t => t!).ToArray();
            if (parts.Length == 0) throw new EngineException("Concat needs at least one input");
            return cat(parts, ShapeOps.Axis(axis, parts[0].dim()));
        });
    }
}
