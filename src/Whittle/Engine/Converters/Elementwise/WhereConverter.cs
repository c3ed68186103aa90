using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Where: X where the condition is true, Y elsewhere, all three broadcast together.</summary>
[OnnxOp("Where", 9), OnnxOp("Where", 16)]
internal sealed class WhereConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ElementwiseSupport.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context) => LambdaKernel.Single(inputs => where(inputs[0]!, inputs[1]!, inputs[2]!));
}
