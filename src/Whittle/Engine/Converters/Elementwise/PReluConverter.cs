using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>PRelu: x where x &gt;= 0, slope * x elsewhere; the slope is trainable, as in torch's PReLU.</summary>
/// <remarks>
/// From opset 7 the slope broadcasts to X like numpy. Opsets 1 and 6 predate that: a slope of one
/// element is shared, and a 1-D slope with one value per channel applies along axis 1 (Caffe2's
/// layout, which those versions came from).
/// </remarks>
[OnnxOp("PRelu", 1), OnnxOp("PRelu", 6), OnnxOp("PRelu", 7), OnnxOp("PRelu", 9), OnnxOp("PRelu", 16)]
internal sealed class PReluConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ElementwiseSupport.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context)
    {
        bool legacy = context.SinceVersion < ElementwiseSupport.NumpyBroadcastSince;
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            var slope = inputs[1]!;
            if (legacy && slope.dim() == 1 && slope.numel() > 1 && x.dim() >= 2 && slope.shape[0] == x.shape[1])
                slope = slope.reshape([slope.shape[0], .. Enumerable.Repeat(1L, (int)x.dim() - 2)]);
            return where(x.lt(0), x.mul(slope), x);
        });
    }
}
