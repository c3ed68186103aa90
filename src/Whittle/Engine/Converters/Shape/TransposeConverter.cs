using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Transpose: permutes the axes (reverses them when perm is absent).</summary>
[OnnxOp("Transpose", 1)]
[OnnxOp("Transpose", 13)]
[OnnxOp("Transpose", 21)]
[OnnxOp("Transpose", 23)]
[OnnxOp("Transpose", 24)]
[OnnxOp("Transpose", 25)]
internal sealed class TransposeConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context)
    {
        var perm = context.Node.GetInts("perm");
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            long rank = x.dim();
            var p = perm is null
                ? Enumerable.Range(0, (int)rank).Select(i => rank - 1 - i).ToArray()
                : ShapeOps.Axes(perm, rank, "perm");
            if (p.Length != rank) throw new EngineException($"perm has {p.Length} entries for a tensor of rank {rank}");
            return x.permute(p);
        });
    }
}
