using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// DepthToSpace / SpaceToDepth: move blocksize x blocksize blocks of an NCHW tensor between
/// the channel axis and the spatial axes (DepthToSpace in DCR or, from opset 11, CRD order).
/// </summary>
[OnnxOp("DepthToSpace", 1)]
[OnnxOp("DepthToSpace", 11)]
[OnnxOp("DepthToSpace", 13)]
[OnnxOp("SpaceToDepth", 1)]
[OnnxOp("SpaceToDepth", 13)]
internal sealed class DepthToSpaceConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        foreach (var p in ShapeOps.UnsupportedInitializers(context)) yield return p;
        if (!context.Node.HasAttribute("blocksize")) yield return "required attribute 'blocksize' is missing";
        if (context.Node.OpType == "DepthToSpace")
            foreach (var p in ShapeOps.RequireOneOf(context.Node, "mode", "DCR", context.SinceVersion >= 11 ? ["DCR", "CRD"] : ["DCR"])) yield return p;
    }

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        long b = node.GetInt("blocksize");
        bool toSpace = node.OpType == "DepthToSpace";
        bool crd = node.GetString("mode", "DCR") == "CRD";
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            if (x.dim() != 4) throw new EngineException($"{node.OpType} needs a 4-D NCHW tensor, got rank {x.dim()}");
            long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
            if (toSpace)
            {
                long oc = c / (b * b);
                var blocks = crd
                    ? x.reshape(n, oc, b, b, h, w).permute(0, 1, 4, 2, 5, 3)
                    : x.reshape(n, b, b, oc, h, w).permute(0, 3, 4, 1, 5, 2);
                return blocks.reshape(n, oc, h * b, w * b);
            }
            return x.reshape(n, c, h / b, b, w / b, b).permute(0, 3, 5, 1, 2, 4).reshape(n, c * b * b, h / b, w / b);
        });
    }
}
