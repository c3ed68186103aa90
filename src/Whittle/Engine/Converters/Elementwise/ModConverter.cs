using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Mod: the remainder of A / B; sign of the divisor (integer mod) by default, of the dividend with fmod=1.</summary>
[OnnxOp("Mod", 10), OnnxOp("Mod", 13)]
internal sealed class ModConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        var problems = ElementwiseSupport.UnsupportedInitializers(context).ToList();
        var fmod = context.Node.GetInt("fmod", 0);
        if (fmod is not (0 or 1)) problems.Add($"fmod={fmod} is not 0 or 1");
        return problems;
    }

    public IOpKernel Compile(OpContext context)
    {
        bool fmod = context.Node.GetInt("fmod", 0) == 1;
        // torch.remainder is Python's %, whose sign follows the divisor: ONNX's integer mod (and numpy.mod).
        return fmod
            ? LambdaKernel.Single(inputs => inputs[0]!.fmod(inputs[1]!))
            : LambdaKernel.Single(inputs => inputs[0]!.remainder(inputs[1]!));
    }
}
