using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>Gemm: alpha * op(A) @ op(B) + beta * C, op transposing when transA/transB is set; C broadcasts to (M, N).</summary>
[OnnxOp("Gemm", 1)]
[OnnxOp("Gemm", 6)]
[OnnxOp("Gemm", 7)]
[OnnxOp("Gemm", 9)]
[OnnxOp("Gemm", 11)]
[OnnxOp("Gemm", 13)]
internal sealed class GemmConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        foreach (var (name, index) in new[] { ("A", 0), ("B", 1) })
            if (context.ConstantInput(index) is { } t && t.Dims.Length != 2)
                yield return $"{name} must be 2-D, it is {t.Dims.Length}-D";
    }

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        float alpha = node.GetFloat("alpha", 1f);
        float beta = node.GetFloat("beta", 1f);
        bool transA = node.GetInt("transA", 0) != 0;
        bool transB = node.GetInt("transB", 0) != 0;
        return LambdaKernel.Single(inputs =>
        {
            var a = transA ? inputs[0]!.t() : inputs[0]!;
            var b = transB ? inputs[1]!.t() : inputs[1]!;
            var c = inputs.At(2);
            if (c is not null && beta != 0 && a.is_floating_point())
                return addmm(c, a, b, beta, alpha); // the fused kernel torch's Linear uses
            var y = a.matmul(b);
            if (alpha != 1) y = (y * alpha).to_type(y.dtype);
            if (c is not null && beta != 0) y = HeldScalars.Add(y, beta == 1 ? c : (c * beta).to_type(c.dtype));
            return y;
        });
    }
}
