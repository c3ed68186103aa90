using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Constant: a fixed tensor from one of the attributes value, value_float(s) or value_int(s).</summary>
/// <remarks>
/// The tensor is built once at compile time; every run returns a reference to it. It is a constant, never a
/// parameter: weights a converter stored in Constant nodes are not trained.
/// sparse_value and string values (value_string(s), string tensors) are rejected.
/// </remarks>
[OnnxOp("Constant", 1), OnnxOp("Constant", 9), OnnxOp("Constant", 11), OnnxOp("Constant", 12), OnnxOp("Constant", 13)]
[OnnxOp("Constant", 19), OnnxOp("Constant", 21), OnnxOp("Constant", 23), OnnxOp("Constant", 24), OnnxOp("Constant", 25)]
internal sealed class ConstantConverter : IOpConverter
{
    private static readonly string[] ValueAttributes =
        ["value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings", "sparse_value"];

    public IEnumerable<string> Check(OpContext context)
    {
        var node = context.Node;
        var given = ValueAttributes.Where(node.HasAttribute).ToList();
        if (given.Count != 1)
        {
            yield return given.Count == 0
                ? "has none of the attributes value, value_float(s), value_int(s)"
                : $"has more than one value attribute ({string.Join(", ", given)})";
            yield break;
        }
        switch (given[0])
        {
            case "sparse_value":
                yield return "sparse_value is not supported (sparse tensors have no Engine equivalent)";
                break;
            case "value_string" or "value_strings":
                yield return $"{given[0]} is not supported (string tensors have no torch equivalent)";
                break;
            case "value":
                if (ElementwiseSupport.UnsupportedTensorAttribute("value", node.GetTensor("value")!) is { } problem) yield return problem;
                break;
            default:
                // Reading the attribute reports a mistyped one (value_float given as ints).
                Build(node).Dispose();
                break;
        }
    }

    public IOpKernel Compile(OpContext context)
    {
        var value = Build(context.Node).DetachFromDisposeScope();
        // Each run hands out a new reference, so disposing an output never frees the kernel's copy.
        return LambdaKernel.Single(_ => value.alias());
    }

    private static Tensor Build(OnnxNode node)
    {
        if (node.GetTensor("value") is { } t) return TorchTensors.FromOnnx(t);
        if (node.HasAttribute("value_float")) return tensor(node.GetFloat("value_float"));
        if (node.HasAttribute("value_floats")) return tensor(node.GetFloats("value_floats")!, [node.GetFloats("value_floats")!.LongLength]);
        if (node.HasAttribute("value_int")) return tensor(node.GetInt("value_int"));
        if (node.HasAttribute("value_ints")) return tensor(node.GetInts("value_ints")!, [node.GetInts("value_ints")!.LongLength]);
        throw new EngineException($"node '{node.DisplayName}' (Constant): no supported value attribute");
    }
}
