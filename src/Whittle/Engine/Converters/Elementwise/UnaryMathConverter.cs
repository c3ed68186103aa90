using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// Attribute-free elementwise functions of one tensor (Sqrt, Exp, Log, Neg, Abs, Reciprocal, Erf,
/// Tanh, Sigmoid, Floor, Ceil, Round, Sign, trigonometric and hyperbolic functions, Softsign, Softplus, Mish).
/// </summary>
/// <remarks>
/// Later versions of these operators only add element types, so every version maps to the same
/// torch function. Round rounds halves to even, as torch.round does.
/// </remarks>
[OnnxOp("Sqrt", 1), OnnxOp("Sqrt", 6), OnnxOp("Sqrt", 13)]
[OnnxOp("Exp", 1), OnnxOp("Exp", 6), OnnxOp("Exp", 13)]
[OnnxOp("Log", 1), OnnxOp("Log", 6), OnnxOp("Log", 13)]
[OnnxOp("Neg", 1), OnnxOp("Neg", 6), OnnxOp("Neg", 13)]
[OnnxOp("Abs", 1), OnnxOp("Abs", 6), OnnxOp("Abs", 13)]
[OnnxOp("Reciprocal", 1), OnnxOp("Reciprocal", 6), OnnxOp("Reciprocal", 13)]
[OnnxOp("Tanh", 1), OnnxOp("Tanh", 6), OnnxOp("Tanh", 13)]
[OnnxOp("Sigmoid", 1), OnnxOp("Sigmoid", 6), OnnxOp("Sigmoid", 13)]
[OnnxOp("Floor", 1), OnnxOp("Floor", 6), OnnxOp("Floor", 13)]
[OnnxOp("Ceil", 1), OnnxOp("Ceil", 6), OnnxOp("Ceil", 13)]
[OnnxOp("Erf", 9), OnnxOp("Erf", 13)]
[OnnxOp("Sign", 9), OnnxOp("Sign", 13)]
[OnnxOp("Round", 11), OnnxOp("Round", 22)]
[OnnxOp("Sin", 7), OnnxOp("Sin", 22)]
[OnnxOp("Cos", 7), OnnxOp("Cos", 22)]
[OnnxOp("Tan", 7), OnnxOp("Tan", 22)]
[OnnxOp("Asin", 7), OnnxOp("Asin", 22)]
[OnnxOp("Acos", 7), OnnxOp("Acos", 22)]
[OnnxOp("Atan", 7), OnnxOp("Atan", 22)]
[OnnxOp("Sinh", 9), OnnxOp("Sinh", 22)]
[OnnxOp("Cosh", 9), OnnxOp("Cosh", 22)]
[OnnxOp("Asinh", 9), OnnxOp("Asinh", 22)]
[OnnxOp("Acosh", 9), OnnxOp("Acosh", 22)]
[OnnxOp("Atanh", 9), OnnxOp("Atanh", 22)]
[OnnxOp("Softsign", 1), OnnxOp("Softsign", 22)]
[OnnxOp("Softplus", 1), OnnxOp("Softplus", 22)]
[OnnxOp("Mish", 18), OnnxOp("Mish", 22)]
internal sealed class UnaryMathConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ElementwiseSupport.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context)
    {
        Func<Tensor, Tensor> f = context.Node.OpType switch
        {
            "Sqrt" => x => x.sqrt(),
            "Exp" => x => x.exp(),
            "Log" => x => x.log(),
            "Neg" => x => x.neg(),
            "Abs" => x => x.abs(),
            "Reciprocal" => x => x.reciprocal(),
            "Tanh" => x => x.tanh(),
            "Sigmoid" => x => x.sigmoid(),
            "Floor" => x => x.floor(),
            "Ceil" => x => x.ceil(),
            "Erf" => x => x.erf(),
            "Sign" => x => x.sign(),
            "Round" => x => x.round(),
            "Sin" => x => x.sin(),
            "Cos" => x => x.cos(),
            "Tan" => x => x.tan(),
            "Asin" => x => x.asin(),
            "Acos" => x => x.acos(),
            "Atan" => x => x.atan(),
            "Sinh" => x => x.sinh(),
            "Cosh" => x => x.cosh(),
            "Asinh" => x => x.asinh(),
            "Acosh" => x => x.acosh(),
            "Atanh" => x => x.atanh(),
            "Softsign" => x => x.div(x.abs().add(1)),
            "Softplus" => x => nn.functional.softplus(x),
            "Mish" => x => nn.functional.mish(x),
            var other => throw new EngineException($"{nameof(UnaryMathConverter)} does not handle {other}"),
        };
        return LambdaKernel.Single(inputs => f(inputs[0]!));
    }
}
