using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>IsNaN: a bool tensor, true where the input is NaN.</summary>
[OnnxOp("IsNaN", 9), OnnxOp("IsNaN", 13), OnnxOp("IsNaN", 20)]
internal sealed class IsNaNConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ElementwiseSupport.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context) => LambdaKernel.Single(inputs => inputs[0]!.isnan());
}
