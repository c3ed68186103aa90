using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Cast: the input converted to the element type named by 'to'; CastLike: to the element type of a second input.</summary>
/// <remarks>
/// Differentiable between floating-point types. Float to integer truncates toward zero and integer
/// narrowing wraps, as torch (and C) do; ONNX leaves out-of-range float-to-integer casts undefined.
/// 'saturate' and 'round_mode' only concern float8 targets, which the Engine rejects, so they are not read.
/// </remarks>
[OnnxOp("Cast", 1), OnnxOp("Cast", 6), OnnxOp("Cast", 9), OnnxOp("Cast", 13), OnnxOp("Cast", 19), OnnxOp("Cast", 21)]
[OnnxOp("Cast", 23), OnnxOp("Cast", 24), OnnxOp("Cast", 25)]
[OnnxOp("CastLike", 15), OnnxOp("CastLike", 19), OnnxOp("CastLike", 21), OnnxOp("CastLike", 23), OnnxOp("CastLike", 24), OnnxOp("CastLike", 25)]
internal sealed class CastConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        var problems = ElementwiseSupport.UnsupportedInitializers(context).ToList();
        if (context.Node.OpType == "Cast")
        {
            var to = Target(context);
            if (to is null)
                problems.Add($"'to' names no ONNX element type ('{ToText(context)}')");
            else if (!TorchTensors.IsSupported(to.Value))
                problems.Add($"casting to {OnnxDataTypes.Name(to.Value)} is not supported by the Engine");
        }
        return problems;
    }

    public IOpKernel Compile(OpContext context)
    {
        if (context.Node.OpType == "CastLike")
            return LambdaKernel.Single(inputs => inputs[0]!.to_type(inputs[1]!.dtype));
        var to = Target(context) ?? throw new EngineException($"'to' names no ONNX element type ('{ToText(context)}')");
        var dtype = TorchTensors.ToScalarType(to);
        return LambdaKernel.Single(inputs => inputs[0]!.to_type(dtype));
    }

    // Cast-1 names the type as a string ("FLOAT"); later versions use the TensorProto.DataType number.
    private static OnnxDataType? Target(OpContext context)
    {
        if (context.SinceVersion < 6 || context.Node.GetAttributeType("to") == OnnxAttributeType.String)
            return Enum.TryParse<OnnxDataType>(context.Node.GetString("to"), ignoreCase: true, out var named)
                && Enum.IsDefined(named) && named != OnnxDataType.Undefined ? named : null;
        var code = context.Node.GetInt("to");
        return Enum.IsDefined(typeof(OnnxDataType), (int)code) && code != 0 ? (OnnxDataType)code : null;
    }

    private static string ToText(OpContext context) =>
        context.Node.GetAttributeType("to") == OnnxAttributeType.String ? context.Node.GetString("to") : context.Node.GetInt("to").ToString();
}
