using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>CumSum: running sums along an axis, optionally exclusive (each sum leaves its own element out) and/or reversed.</summary>
[OnnxOp("CumSum", 11)]
[OnnxOp("CumSum", 14)]
internal sealed class CumSumConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context)
    {
        bool exclusive = context.Node.GetInt("exclusive", 0) != 0;
        bool reverse = context.Node.GetInt("reverse", 0) != 0;
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            long a = ShapeOps.Axis(TorchTensors.ToLongs(inputs[1]!)[0], x.dim());
            var v = reverse ? x.flip(a) : x;
            var sums = v.cumsum(a, x.dtype);
            if (exclusive && x.shape[a] > 0)
            {
                // Shift by one: a zero first, then the inclusive sums without the last (exact, unlike sums - x).
                var zero = zeros_like(sums.narrow(a, 0, 1));
                sums = cat([zero, sums.narrow(a, 0, x.shape[a] - 1)], a);
            }
            return reverse ? sums.flip(a) : sums;
        });
    }
}
