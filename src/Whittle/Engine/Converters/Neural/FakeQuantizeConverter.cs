using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// Whittle's training-only <c>FakeQuantize</c> node (domain <see cref="Domain"/>), which
/// quantization-aware training puts where a QuantizeLinear→DequantizeLinear pair, or a weight's
/// DequantizeLinear, will be: inputs x, scale, zero point; attributes <c>qmin</c>, <c>qmax</c>,
/// <c>axis</c> and <c>mode</c>. It never leaves Whittle: the QAT export turns every one back into
/// QuantizeLinear/DequantizeLinear. Modes:
/// <list type="bullet">
/// <item><c>fixed</c>: the scale input is a constant (calibrated activation ranges); straight-through gradient to x.</item>
/// <item><c>observe</c>: for symmetric weights (zero point 0): in training mode the scale is max |x| / qmax
/// per channel of the current values, stored in the scale input (a buffer, like BatchNorm's running
/// statistics); in eval mode the stored scale is used, so putting the module in eval mode freezes it.</item>
/// <item><c>learned</c>: the step size is scale × exp(u) with u the fourth input, trained (LSQ, Esser
/// et al. 2020: the step-size gradient of <see cref="FakeQuantize.ApplyLearned"/> scaled by the
/// <c>grad_scale</c> attribute, then through exp, so an Adam step changes a step size by a relative
/// amount, and u = 0 reproduces the calibrated scale bit for bit); in eval mode the step size is fixed.</item>
/// </list>
/// </summary>
[OnnxOp(Domain, "FakeQuantize", 1)]
internal sealed class FakeQuantizeConverter : IOpConverter
{
    /// <summary>The domain of Whittle's training-only operators.</summary>
    public const string Domain = "ai.whittle.training";

    /// <summary>Mode attribute values.</summary>
    public const string Fixed = "fixed", Observe = "observe", Learned = "learned";

    public InputRole RoleOf(int index, OpContext context) => index switch
    {
        0 => InputRole.Data,
        1 => context.Node.GetString("mode", Fixed) == Observe ? InputRole.RunningStatistic : InputRole.Constant,
        3 => InputRole.Data,
        _ => InputRole.Constant,
    };

    public IEnumerable<string> Check(OpContext context)
    {
        var node = context.Node;
        var mode = node.GetString("mode", Fixed);
        if (mode is not (Fixed or Observe or Learned)) yield return $"mode must be {Fixed}, {Observe} or {Learned}, not '{mode}'";
        if (node.GetInt("qmin", 0) >= node.GetInt("qmax", 0)) yield return "qmin must be below qmax";
        if (context.ConstantInput(1) is null) yield return "the scale must be an initializer";
        if (context.ConstantInput(2) is null) yield return "the zero point must be an initializer";
        if (mode == Learned && context.ConstantInput(3) is null) yield return "a learned step size needs its log multiplier (input 3) as an initializer";
    }

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        long qmin = node.GetInt("qmin", 0), qmax = node.GetInt("qmax", 0), axis = node.GetInt("axis", 1);
        var mode = node.GetString("mode", Fixed);
        double gradScale = node.GetFloat("grad_scale", 1f);
        return LambdaKernel.Single((inputs, training) =>
        {
            var (x, scale, zeroPoint) = (inputs[0]!, inputs[1]!, inputs[2]!);
            switch (mode)
            {
                case Learned:
                    var step = scale * inputs[3]!.exp();
                    return training ? FakeQuantize.ApplyLearned(x, step, zeroPoint, qmin, qmax, axis, gradScale) : FakeQuantize.Apply(x, step.detach(), zeroPoint, qmin, qmax, axis);
                case Observe when training:
                    using (no_grad())
                    {
                        var observed = ChannelAbsMax(x.detach(), scale.numel() == 1 ? null : axis).div(qmax).clamp_min(1e-12f);
                        scale.copy_(observed.reshape(scale.shape));
                    }
                    return FakeQuantize.Apply(x, scale, zeroPoint, qmin, qmax, axis);
                default:
                    return FakeQuantize.Apply(x, scale, zeroPoint, qmin, qmax, axis);
            }
        });
    }

    /// <summary>max |x| over everything (axis null) or over every dimension but <paramref name="axis"/>.</summary>
    internal static Tensor ChannelAbsMax(Tensor x, long? axis)
    {
        var a = x.abs();
        if (axis is not { } ax) return a.max();
        if (ax < 0) ax += x.dim();
        var moved = a.movedim([ax], [0L]);
        return moved.reshape(moved.shape[0], -1).amax([1L]);
    }
}
