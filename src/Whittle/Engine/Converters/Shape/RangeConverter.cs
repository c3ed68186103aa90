using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Range: start, start + delta, ... up to limit (exclusive), max(ceil((limit - start) / delta), 0) values.</summary>
[OnnxOp("Range", 11)]
[OnnxOp("Range", 27)]
internal sealed class RangeConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        foreach (var p in ShapeOps.UnsupportedInitializers(context)) yield return p;
        // stash_type 1 (float) is the default and what this kernel does: it computes in double and rounds once.
        if (context.SinceVersion >= 27 && context.Node.GetInt("stash_type", 1) != 1)
            yield return $"stash_type {context.Node.GetInt("stash_type", 1)} is not supported (only 1, float accumulation)";
    }

    // The bounds are settings, not weights: never train a float initializer here.
    public InputRole RoleOf(int index, OpContext context) => InputRole.Constant;

    public IOpKernel Compile(OpContext context) => LambdaKernel.Single(inputs =>
    {
        var start = inputs[0]!;
        var type = start.dtype;
        if (is_integral(type))
        {
            long s = TorchTensors.ToLongs(start)[0], l = TorchTensors.ToLongs(inputs[1]!)[0], d = TorchTensors.ToLongs(inputs[2]!)[0];
            if (d == 0) throw new EngineException("Range delta cannot be 0");
            // Integer ceil division without going through floating point.
            long span = l - s;
            long count = Math.Max(span / d + ((span % d != 0 && (span < 0) == (d < 0)) ? 1 : 0), 0);
            return arange(count, dtype: ScalarType.Int64, device: start.device).mul(d).add(s).to_type(type);
        }
        double fs = ShapeOps.Scalar(start), fl = ShapeOps.Scalar(inputs[1]!), fd = ShapeOps.Scalar(inputs[2]!);
        if (fd == 0) throw new EngineException("Range delta cannot be 0");
        long n = (long)Math.Max(Math.Ceiling((fl - fs) / fd), 0);
        return arange(n, dtype: ScalarType.Float64, device: start.device).mul(fd).add(fs).to_type(type);
    });
}
