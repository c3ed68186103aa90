using TorchSharp;

namespace Whittle.Engine;

/// <summary>
/// Scalars that live as long as the process, for TorchSharp calls that would otherwise make a
/// temporary one. TorchSharp 0.107's <c>Tensor.add(Tensor)</c> and <c>add(Scalar)</c> pass a
/// <see cref="Scalar"/> made from the literal 1 as alpha (<c>add(target, 1)</c>): nothing keeps that
/// managed object alive once its handle is read, so a garbage collection on another thread can
/// finalize it, and free the native scalar, while libtorch is still reading it. A bench distillation
/// run died of exactly that after half an hour ("Expected false to be true" in <c>Scalar::toFloat</c>
/// under <c>THSTensor_add_scalar</c>; docs/engine.md). Per-batch code adds with an explicit alpha from here.
/// </summary>
public static class HeldScalars
{
    /// <summary>1, the alpha of a plain addition: <c>a.add(b, HeldScalars.One)</c>.</summary>
    public static Scalar One { get; } = 1.ToScalar();

    /// <summary><paramref name="a"/> + <paramref name="b"/> with a held alpha.</summary>
    public static torch.Tensor Add(torch.Tensor a, torch.Tensor b) => a.add(b, One);

    /// <summary><paramref name="a"/> + <paramref name="value"/>, the value's scalar held for the call and the alpha held.</summary>
    public static torch.Tensor Add(torch.Tensor a, double value)
    {
        using var scalar = value.ToScalar();
        return a.add(scalar, One);
    }
}
