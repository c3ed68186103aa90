using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>OneHot: a new axis of length depth holding on_value at each index and off_value elsewhere (values = [off, on]).</summary>
[OnnxOp("OneHot", 9)]
[OnnxOp("OneHot", 11)]
internal sealed class OneHotConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    // depth and the on/off values are settings, not weights.
    public InputRole RoleOf(int index, OpContext context) => index == 0 ? InputRole.Data : InputRole.Constant;

    public IOpKernel Compile(OpContext context)
    {
        long axis = context.Node.GetInt("axis", -1);
        // From opset 11 negative indices count back from depth; before, they are simply out of range.
        bool wrapNegative = context.SinceVersion >= 11;
        return LambdaKernel.Single(inputs =>
        {
            var indices = inputs[0]!;
            long depth = (long)ShapeOps.Scalar(inputs[1]!);
            var values = inputs[2]!.reshape(-1);
            long outRank = indices.dim() + 1;
            long a = ShapeOps.Axis(axis, outRank);
            // Float indices are truncated toward zero, as a cast to int64 does.
            var idx = indices.to_type(ScalarType.Int64);
            if (wrapNegative) idx = where(idx.lt(0), idx + depth, idx);
            // Out-of-range indices match no position and give an all-off row.
            var positions = arange(depth, dtype: ScalarType.Int64, device: idx.device);
            var hot = idx.unsqueeze(-1).eq(positions).movedim([outRank - 1], [a]);
            return where(hot, values[1], values[0]);
        });
    }
}
