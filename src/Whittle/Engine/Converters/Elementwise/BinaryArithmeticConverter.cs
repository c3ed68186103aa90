using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Add, Sub, Mul, Div: elementwise arithmetic on two tensors of one element type, which the result keeps.</summary>
/// <remarks>
/// Opsets 1-6 broadcast only with <c>broadcast=1</c>, lining B up with A at <c>axis</c>; both forms are
/// implemented. Integer Div truncates toward zero as in C (torch's plain division would return floats).
/// </remarks>
[OnnxOp("Add", 1), OnnxOp("Add", 6), OnnxOp("Add", 7), OnnxOp("Add", 13), OnnxOp("Add", 14)]
[OnnxOp("Sub", 1), OnnxOp("Sub", 6), OnnxOp("Sub", 7), OnnxOp("Sub", 13), OnnxOp("Sub", 14)]
[OnnxOp("Mul", 1), OnnxOp("Mul", 6), OnnxOp("Mul", 7), OnnxOp("Mul", 13), OnnxOp("Mul", 14)]
[OnnxOp("Div", 1), OnnxOp("Div", 6), OnnxOp("Div", 7), OnnxOp("Div", 13), OnnxOp("Div", 14)]
internal sealed class BinaryArithmeticConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) =>
        ElementwiseSupport.UnsupportedInitializers(context).Concat(ElementwiseSupport.CheckLegacyBroadcast(context));

    public IOpKernel Compile(OpContext context)
    {
        Func<Tensor, Tensor, Tensor> op = context.Node.OpType switch
        {
            "Add" => HeldScalars.Add,
            "Sub" => (a, b) => a.sub(b),
            "Mul" => (a, b) => a.mul(b),
            "Div" => Divide,
            var other => throw new EngineException($"{nameof(BinaryArithmeticConverter)} does not handle {other}"),
        };
        var axis = ElementwiseSupport.LegacyBroadcastAxis(context);
        return LambdaKernel.Single(inputs =>
        {
            var a = inputs[0]!;
            return op(a, ElementwiseSupport.AlignLegacy(a, inputs[1]!, axis));
        });
    }

    private static Tensor Divide(Tensor a, Tensor b) =>
        a.is_floating_point() ? a.div(b) : a.div(b, RoundingMode.trunc);
}
