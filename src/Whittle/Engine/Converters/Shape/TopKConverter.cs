using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>TopK: the k largest (or smallest) values along an axis, sorted, and their int64 indices; equal values keep the lower index first.</summary>
[OnnxOp("TopK", 1)]
[OnnxOp("TopK", 10)]
[OnnxOp("TopK", 11)]
[OnnxOp("TopK", 24)]
internal sealed class TopKConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        foreach (var p in ShapeOps.UnsupportedInitializers(context)) yield return p;
        if (context.SinceVersion < 10 && !context.Node.HasAttribute("k")) yield return "required attribute 'k' is missing";
    }

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        // TopK-1 has k as an attribute; from 10 it is an input.
        long? kAttribute = context.SinceVersion < 10 ? node.GetInt("k") : null;
        long axis = node.GetInt("axis", -1);
        bool largest = context.SinceVersion < 11 || node.GetInt("largest", 1) != 0;
        return new LambdaKernel((inputs, _) =>
        {
            var x = inputs[0]!;
            long a = ShapeOps.Axis(axis, x.dim());
            long k = kAttribute ?? ShapeOps.Longs(inputs, 1, "K")[0];
            if (k < 0 || k > x.shape[a]) throw new EngineException($"k = {k} is out of range for an axis of size {x.shape[a]}");
            // A stable sort keeps equal values in index order, which is the tie-break ONNX specifies
            // (torch.topk does not promise one). Unsorted output (sorted=0) may be in any order, so sorted is fine too.
            var (values, indices) = x.sort(a, descending: largest, stable: true);
            return [values.narrow(a, 0, k), indices.narrow(a, 0, k)];
        });
    }
}
