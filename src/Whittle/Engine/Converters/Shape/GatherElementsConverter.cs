using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>GatherElements: out[i][j][k] = data[index[i][j][k]][j][k] along the axis (torch.gather; negative indices wrap).</summary>
[OnnxOp("GatherElements", 11)]
[OnnxOp("GatherElements", 13)]
internal sealed class GatherElementsConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context)
    {
        long axis = context.Node.GetInt("axis", 0);
        return LambdaKernel.Single(inputs =>
        {
            var data = inputs[0]!;
            long a = ShapeOps.Axis(axis, data.dim());
            return data.gather(a, ShapeOps.WrapNegative(inputs[1]!, data.shape[a]));
        });
    }
}
