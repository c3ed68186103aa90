using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Expand: broadcasts the input against a shape (numpy rules in both directions: a 1 in the shape keeps the input's dimension).</summary>
[OnnxOp("Expand", 8)]
[OnnxOp("Expand", 13)]
internal sealed class ExpandConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context) => LambdaKernel.Single(inputs =>
    {
        var x = inputs[0]!;
        var target = ShapeOps.Longs(inputs, 1, "shape");
        return x.expand(Broadcast(x.shape, target));
    });

    /// <summary>The numpy broadcast of two shapes.</summary>
    internal static long[] Broadcast(long[] a, long[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            long db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new EngineException($"shapes [{string.Join(", ", a)}] and [{string.Join(", ", b)}] do not broadcast");
            result[i] = da == 1 ? db : da;
        }
        return result;
    }
}
