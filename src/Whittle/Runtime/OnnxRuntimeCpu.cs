using System.Runtime.Intrinsics.X86;

namespace Whittle.Runtime;

/// <summary>
/// What ONNX Runtime's CPU kernels (MLAS) do on this machine that decides whether fewer channels
/// make a convolution faster.
/// </summary>
public static class OnnxRuntimeCpu
{
    /// <summary>
    /// The channel block of ORT's NCHWc convolution layout on this CPU: 16 with AVX-512F, 8 with
    /// AVX2 (MLAS <c>NchwcBlockSize</c>); null where it is not known (other instruction sets). ORT
    /// rewrites convolutions into this layout at its highest optimization level and pads their
    /// output channels up to a multiple of the block, so a convolution pruned from 16 to 8 output
    /// channels still computes 16 on an AVX-512 machine (measured in docs/pruning.md: the 8-channel
    /// stage of a pruned ResNet-8 ran with weights of shape [16, 8, 3, 3] and extra layout reorders).
    /// </summary>
    public static int? NchwcBlockSize { get; } = Avx512F.IsSupported ? 16 : Avx2.IsSupported ? 8 : null;
}
