using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>ConstantOfShape: a tensor of the shape given by the int64 input, every element the one-element 'value' (float32 0 by default).</summary>
[OnnxOp("ConstantOfShape", 9), OnnxOp("ConstantOfShape", 20), OnnxOp("ConstantOfShape", 21)]
[OnnxOp("ConstantOfShape", 23), OnnxOp("ConstantOfShape", 24), OnnxOp("ConstantOfShape", 25)]
internal sealed class ConstantOfShapeConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        var problems = ElementwiseSupport.UnsupportedInitializers(context).ToList();
        if (context.Node.GetTensor("value") is { } value)
        {
            if (ElementwiseSupport.UnsupportedTensorAttribute("value", value) is { } problem) problems.Add(problem);
            else if (value.ElementCount != 1) problems.Add($"attribute 'value' has {value.ElementCount} elements, expected 1");
        }
        return problems;
    }

    public IOpKernel Compile(OpContext context)
    {
        var fill = (context.Node.GetTensor("value") is { } value
            ? TorchTensors.FromOnnx(value).reshape([])
            : tensor(0f)).DetachFromDisposeScope();
        // Expanding the 0-d fill value and copying keeps its exact element type (bool, int64, double) with no Scalar round trip.
        return LambdaKernel.Single(inputs => fill.expand(TorchTensors.ToLongs(inputs[0]!)).clone());
    }
}
