using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Min, Max, Sum, Mean: elementwise reduction over any number of tensors, broadcast together.</summary>
/// <remarks>Opsets 1 and 6 require equal shapes, for which numpy broadcasting gives the same result.</remarks>
[OnnxOp("Min", 1), OnnxOp("Min", 6), OnnxOp("Min", 8), OnnxOp("Min", 12), OnnxOp("Min", 13)]
[OnnxOp("Max", 1), OnnxOp("Max", 6), OnnxOp("Max", 8), OnnxOp("Max", 12), OnnxOp("Max", 13)]
[OnnxOp("Sum", 1), OnnxOp("Sum", 6), OnnxOp("Sum", 8), OnnxOp("Sum", 13)]
[OnnxOp("Mean", 1), OnnxOp("Mean", 6), OnnxOp("Mean", 8), OnnxOp("Mean", 13)]
internal sealed class VariadicConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        var problems = ElementwiseSupport.UnsupportedInitializers(context).ToList();
        if (!Enumerable.Range(0, context.Node.Inputs.Count).Any(context.HasInput))
            problems.Add("needs at least one input");
        return problems;
    }

    public IOpKernel Compile(OpContext context)
    {
        Func<Tensor, Tensor, Tensor> combine = context.Node.OpType switch
        {
            "Min" => (a, b) => a.minimum(b),
            "Max" => (a, b) => a.maximum(b),
            "Sum" or "Mean" => HeldScalars.Add,
            var other => throw new EngineException($"{nameof(VariadicConverter)} does not handle {other}"),
        };
        bool mean = context.Node.OpType == "Mean";
        return LambdaKernel.Single(inputs =>
        {
            var present = inputs.Where(t => t is not null).Select(t => t!).ToList();
            var result = present[0];
            for (int i = 1; i < present.Count; i++) result = combine(result, present[i]);
            if (present.Count == 1) return result.alias();
            return mean ? result.div(present.Count) : result;
        });
    }
}
