using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Trilu: the upper (or lower) triangle of the last two axes from diagonal k on, zeros elsewhere.</summary>
[OnnxOp("Trilu", 14)]
internal sealed class TriluConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context)
    {
        bool upper = context.Node.GetInt("upper", 1) != 0;
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            long k = ShapeOps.OptionalLongs(inputs, 1) is { Length: > 0 } ks ? ks[0] : 0;
            if (x.dim() < 2) throw new EngineException($"Trilu needs a tensor of rank >= 2, got rank {x.dim()}");
            return upper ? x.triu(k) : x.tril(k);
        });
    }
}
