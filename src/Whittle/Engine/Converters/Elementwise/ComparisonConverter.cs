using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Equal, Less, Greater, LessOrEqual, GreaterOrEqual: elementwise comparison giving a bool tensor.</summary>
/// <remarks>Opset 1 broadcasts only with <c>broadcast=1</c> (B lined up with A at <c>axis</c>); implemented.</remarks>
[OnnxOp("Equal", 1), OnnxOp("Equal", 7), OnnxOp("Equal", 11), OnnxOp("Equal", 13), OnnxOp("Equal", 19)]
[OnnxOp("Less", 1), OnnxOp("Less", 7), OnnxOp("Less", 9), OnnxOp("Less", 13)]
[OnnxOp("Greater", 1), OnnxOp("Greater", 7), OnnxOp("Greater", 9), OnnxOp("Greater", 13)]
[OnnxOp("LessOrEqual", 12), OnnxOp("LessOrEqual", 16)]
[OnnxOp("GreaterOrEqual", 12), OnnxOp("GreaterOrEqual", 16)]
internal sealed class ComparisonConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) =>
        ElementwiseSupport.UnsupportedInitializers(context).Concat(ElementwiseSupport.CheckLegacyBroadcast(context));

    public IOpKernel Compile(OpContext context)
    {
        Func<Tensor, Tensor, Tensor> compare = context.Node.OpType switch
        {
            "Equal" => (a, b) => a.eq(b),
            "Less" => (a, b) => a.lt(b),
            "Greater" => (a, b) => a.gt(b),
            "LessOrEqual" => (a, b) => a.le(b),
            "GreaterOrEqual" => (a, b) => a.ge(b),
            var other => throw new EngineException($"{nameof(ComparisonConverter)} does not handle {other}"),
        };
        var axis = ElementwiseSupport.LegacyBroadcastAxis(context);
        return LambdaKernel.Single(inputs =>
        {
            var a = inputs[0]!;
            return compare(a, ElementwiseSupport.AlignLegacy(a, inputs[1]!, axis));
        });
    }
}
