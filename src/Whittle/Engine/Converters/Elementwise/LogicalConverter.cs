using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>And, Or, Xor, Not: elementwise logic on bool tensors.</summary>
/// <remarks>Opset 1 binary forms broadcast only with <c>broadcast=1</c> (B lined up with A at <c>axis</c>); implemented.</remarks>
[OnnxOp("And", 1), OnnxOp("And", 7)]
[OnnxOp("Or", 1), OnnxOp("Or", 7)]
[OnnxOp("Xor", 1), OnnxOp("Xor", 7)]
[OnnxOp("Not", 1)]
internal sealed class LogicalConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) =>
        ElementwiseSupport.UnsupportedInitializers(context).Concat(ElementwiseSupport.CheckLegacyBroadcast(context));

    public IOpKernel Compile(OpContext context)
    {
        if (context.Node.OpType == "Not") return LambdaKernel.Single(inputs => inputs[0]!.logical_not());
        Func<Tensor, Tensor, Tensor> op = context.Node.OpType switch
        {
            "And" => (a, b) => a.logical_and(b),
            "Or" => (a, b) => a.logical_or(b),
            "Xor" => (a, b) => a.logical_xor(b),
            var other => throw new EngineException($"{nameof(LogicalConverter)} does not handle {other}"),
        };
        var axis = ElementwiseSupport.LegacyBroadcastAxis(context);
        return LambdaKernel.Single(inputs =>
        {
            var a = inputs[0]!;
            return op(a, ElementwiseSupport.AlignLegacy(a, inputs[1]!, axis));
        });
    }
}
