using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Engine;

/// <summary>What an initializer feeding a node input is, from that node's point of view.</summary>
public enum InputRole
{
    /// <summary>Ordinary data; a floating-point initializer here is trainable.</summary>
    Data,
    /// <summary>A running statistic (BatchNormalization mean/variance): a buffer, updated in training mode, not trained.</summary>
    RunningStatistic,
    /// <summary>A fixed setting (clip bounds, quantization scale, resize scales): never trained.</summary>
    Constant,
}

/// <summary>Compile-time facts a converter sees for one node.</summary>
/// <param name="Node">The node.</param>
/// <param name="Opset">The model's opset version for the node's domain.</param>
/// <param name="SinceVersion">The registered version this node resolved to.</param>
/// <param name="Initializers">Initializer values by name (constant inputs may be read at compile time).</param>
public sealed record OpContext(OnnxNode Node, long Opset, int SinceVersion, IReadOnlyDictionary<string, OnnxTensor> Initializers)
{
    /// <summary>The constant value of input <paramref name="index"/> when it is an initializer, else null.</summary>
    public OnnxTensor? ConstantInput(int index) =>
        index < Node.Inputs.Count && Node.Inputs[index].Length > 0 && Initializers.TryGetValue(Node.Inputs[index], out var t) ? t : null;

    /// <summary>True when input <paramref name="index"/> is present (not omitted with an empty name).</summary>
    public bool HasInput(int index) => index < Node.Inputs.Count && Node.Inputs[index].Length > 0;
}

/// <summary>
/// A compiled node: runs the operator with torch ops. A kernel that holds tensors of its own
/// may also implement <see cref="IDisposable"/>; the module disposes it with itself.
/// </summary>
public interface IOpKernel
{
    /// <summary>
    /// Computes the node's outputs. <paramref name="inputs"/> has one entry per node input
    /// (null where an optional input is omitted). Returns one tensor per node output (null for
    /// an optional output not computed). <paramref name="training"/> selects training-mode
    /// semantics (BatchNormalization batch statistics, active Dropout).
    /// </summary>
    Tensor?[] Forward(Tensor?[] inputs, bool training);
}

/// <summary>
/// Turns one ONNX operator (all the versions it is registered for with
/// <see cref="OnnxOpAttribute"/>) into torch computations. One class per op family.
/// Implementations must be stateless: one instance serves every node and every model.
/// </summary>
public interface IOpConverter
{
    /// <summary>
    /// Every reason this node cannot be run (unsupported attribute values, unsupported input
    /// types); empty when it can. Called by the pre-flight pass, before anything is built.
    /// </summary>
    IEnumerable<string> Check(OpContext context) => [];

    /// <summary>What input <paramref name="index"/> is; decides whether a float initializer there is trained.</summary>
    InputRole RoleOf(int index, OpContext context) => InputRole.Data;

    /// <summary>Parses the attributes once and returns the kernel that runs the node.</summary>
    IOpKernel Compile(OpContext context);
}

/// <summary>A kernel from a lambda, for converters whose whole work is one expression.</summary>
public sealed class LambdaKernel(Func<Tensor?[], bool, Tensor?[]> forward) : IOpKernel
{
    /// <inheritdoc />
    public Tensor?[] Forward(Tensor?[] inputs, bool training) => forward(inputs, training);

    /// <summary>A kernel with one output computed from the inputs.</summary>
    public static LambdaKernel Single(Func<Tensor?[], Tensor> f) => new((inputs, _) => [f(inputs)]);

    /// <summary>A kernel with one output computed from the inputs and the training flag.</summary>
    public static LambdaKernel Single(Func<Tensor?[], bool, Tensor> f) => new((inputs, training) => [f(inputs, training)]);
}

/// <summary>Access to kernel inputs where trailing optional inputs may be left out of the node.</summary>
public static class KernelInputs
{
    /// <summary>Input <paramref name="index"/>, or null when the node lists fewer inputs or leaves it empty.</summary>
    public static Tensor? At(this Tensor?[] inputs, int index) => index < inputs.Length ? inputs[index] : null;
}
