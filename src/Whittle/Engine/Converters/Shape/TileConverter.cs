using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Tile: repeats the input repeats[i] times along each axis i (Tile-1: 'tiles' times along one 'axis').</summary>
[OnnxOp("Tile", 1)]
[OnnxOp("Tile", 6)]
[OnnxOp("Tile", 13)]
internal sealed class TileConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context)
    {
        bool singleAxis = context.SinceVersion < 6;
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            long[] repeats;
            if (singleAxis)
            {
                repeats = Enumerable.Repeat(1L, (int)x.dim()).ToArray();
                repeats[ShapeOps.Axis((long)ShapeOps.Scalar(inputs[2]!), x.dim())] = (long)ShapeOps.Scalar(inputs[1]!);
            }
            else
            {
                repeats = ShapeOps.Longs(inputs, 1, "repeats");
            }
            if (repeats.Length != x.dim()) throw new EngineException($"{repeats.Length} repeats for a tensor of rank {x.dim()}");
            return x.repeat(repeats);
        });
    }
}
