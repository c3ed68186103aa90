using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// Dropout: in training mode, zeroes each element with probability 'ratio' and scales the rest by
/// 1/(1-ratio); in eval mode, the input unchanged. The optional mask output marks the kept elements.
/// </summary>
/// <remarks>
/// The module's <c>train()</c>/<c>eval()</c> decides whether dropout is active: the opset 12+
/// 'training_mode' input and the opset 1-6 'is_test' attribute only describe how the graph was
/// exported, and a model exported for inference should still regularize while it is fine-tuned.
/// (An explicit is_test=1 is honoured: that node was meant never to drop.) The 'seed' attribute
/// is ignored: masks come from torch's generator, which <c>torch.manual_seed</c> controls.
/// The mask has the input's element type before opset 10 and is bool from 10.
/// </remarks>
[OnnxOp("Dropout", 1), OnnxOp("Dropout", 6), OnnxOp("Dropout", 7), OnnxOp("Dropout", 10)]
[OnnxOp("Dropout", 12), OnnxOp("Dropout", 13), OnnxOp("Dropout", 22)]
internal sealed class DropoutConverter : IOpConverter
{
    private const int RatioIsInputSince = 12;
    private const int BoolMaskSince = 10;
    private const float DefaultRatio = 0.5f;

    public IEnumerable<string> Check(OpContext context)
    {
        var problems = ElementwiseSupport.UnsupportedInitializers(context).ToList();
        if (context.SinceVersion < RatioIsInputSince)
        {
            var ratio = context.Node.GetFloat("ratio", DefaultRatio);
            if (ratio is < 0 or >= 1) problems.Add($"ratio={ratio} is outside [0, 1)");
            context.Node.GetInt("is_test", 0);
        }
        else if (context.ConstantInput(1) is { ElementCount: 1 } r && r.ToDoubleArray()[0] is var value && value is < 0 or >= 1)
        {
            problems.Add($"ratio={value} is outside [0, 1)");
        }
        return problems;
    }

    // Ratio and training_mode are settings, never trained.
    public InputRole RoleOf(int index, OpContext context) => index == 0 ? InputRole.Data : InputRole.Constant;

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        bool ratioIsInput = context.SinceVersion >= RatioIsInputSince;
        float attributeRatio = ratioIsInput ? DefaultRatio : node.GetFloat("ratio", DefaultRatio);
        bool neverDrops = context.SinceVersion < 7 && node.GetInt("is_test", 0) != 0;
        bool boolMask = context.SinceVersion >= BoolMaskSince;
        bool wantsMask = node.Outputs.Count > 1 && node.Outputs[1].Length > 0;

        return new LambdaKernel((inputs, training) =>
        {
            var x = inputs[0]!;
            double ratio = !training || neverDrops ? 0
                : ratioIsInput && inputs.At(1) is { } r ? TorchTensors.ToFloats(r)[0]
                : attributeRatio;
            if (ratio <= 0)
                return wantsMask ? [x.alias(), ones_like(x, dtype: boolMask ? ScalarType.Bool : x.dtype)] : [x.alias()];
            if (!wantsMask) return [nn.functional.dropout(x, ratio, training: true)];
            var keep = rand_like(x).ge(ratio);
            var y = ratio >= 1 ? x.mul(0) : x.mul(keep).mul(1.0 / (1.0 - ratio));
            return [y, boolMask ? keep : keep.to_type(x.dtype)];
        });
    }
}
