using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>ONNX <c>auto_pad</c>: how a sliding-window operator pads its input.</summary>
internal enum AutoPad
{
    /// <summary>Explicit <c>pads</c> (zeros when absent).</summary>
    NotSet,
    /// <summary>Output = ceil(input / stride); an odd total padding puts the extra element at the end.</summary>
    SameUpper,
    /// <summary>Output = ceil(input / stride); an odd total padding puts the extra element at the beginning.</summary>
    SameLower,
    /// <summary>No padding.</summary>
    Valid,
}

/// <summary>
/// The attributes Conv, ConvTranspose, MaxPool and AveragePool share (kernel_shape, strides,
/// dilations, pads, auto_pad), parsed once, and the padding arithmetic they share.
/// Arrays are null when the attribute is absent; their length is then decided by the input rank.
/// </summary>
internal sealed record SlidingWindow(long[]? KernelShape, long[]? Strides, long[]? Dilations, long[]? Pads, AutoPad AutoPad)
{
    /// <summary>Reads the window attributes of a node (call <see cref="Problems"/> first in Check).</summary>
    public static SlidingWindow Parse(OnnxNode node) => new(
        node.GetInts("kernel_shape"),
        node.GetInts("strides"),
        node.GetInts("dilations"),
        node.GetInts("pads"),
        ParseAutoPad(node.GetString("auto_pad", "NOTSET")) ?? AutoPad.NotSet);

    /// <summary>
    /// What is wrong with the window attributes: an unknown auto_pad, inconsistent lengths,
    /// non-positive strides/dilations, negative pads, or a spatial rank other than 1 to 3.
    /// <paramref name="spatialRank"/> is the rank when it is known at compile time (from a
    /// constant weight or kernel_shape), else null.
    /// </summary>
    public static IEnumerable<string> Problems(OnnxNode node, int? spatialRank)
    {
        var autoPad = node.GetString("auto_pad", "NOTSET");
        if (ParseAutoPad(autoPad) is null)
            yield return $"auto_pad '{autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID";
        var kernel = node.GetInts("kernel_shape");
        spatialRank ??= kernel?.Length;
        if (spatialRank is { } n)
        {
            if (n is < 1 or > 3)
                yield return $"{n}-D windows are not supported (1-D, 2-D and 3-D are)";
            foreach (var (name, factor) in new[] { ("kernel_shape", 1), ("strides", 1), ("dilations", 1), ("pads", 2) })
                if (node.GetInts(name) is { } v && v.Length != n * factor)
                    yield return $"{name} has {v.Length} values, expected {n * factor} for a {n}-D window";
        }
        if (node.GetInts("strides") is { } s && s.Any(v => v < 1)) yield return "strides must be positive";
        if (node.GetInts("dilations") is { } d && d.Any(v => v < 1)) yield return "dilations must be positive";
        if (kernel is not null && kernel.Any(v => v < 1)) yield return "kernel_shape must be positive";
        if (node.GetInts("pads") is { } p)
        {
            if (p.Any(v => v < 0)) yield return "negative pads are not supported";
            // ONNX forbids the combination and ONNX Runtime refuses it; zero pads are harmless.
            if (ParseAutoPad(autoPad) is AutoPad.SameUpper or AutoPad.SameLower or AutoPad.Valid && p.Any(v => v != 0))
                yield return $"pads cannot be combined with auto_pad {autoPad}";
        }
    }

    private static AutoPad? ParseAutoPad(string value) => value switch
    {
        "NOTSET" or "" => AutoPad.NotSet,
        "SAME_UPPER" => AutoPad.SameUpper,
        "SAME_LOWER" => AutoPad.SameLower,
        "VALID" => AutoPad.Valid,
        _ => null,
    };

    /// <summary>Strides for <paramref name="rank"/> spatial dimensions (default 1).</summary>
    public long[] StridesFor(int rank) => Sized(Strides, "strides", rank) ?? Ones(rank);

    /// <summary>Dilations for <paramref name="rank"/> spatial dimensions (default 1).</summary>
    public long[] DilationsFor(int rank) => Sized(Dilations, "dilations", rank) ?? Ones(rank);

    // Check() validates lengths when the rank is known up front; otherwise it is only known here.
    private static long[]? Sized(long[]? values, string name, int expected) =>
        values is null || values.Length == expected ? values
        : throw new EngineException($"{name} has {values.Length} values, the input has {expected} spatial dimension(s)");

    /// <summary>
    /// Padding before and after each spatial dimension of a forward window (Conv, pools):
    /// explicit pads for NOTSET, none for VALID, and for SAME_* the total that makes the output
    /// ceil(input / stride) long.
    /// </summary>
    public (long[] Begin, long[] End) ForwardPads(long[] input, long[] kernel, long[] strides, long[] dilations)
    {
        int n = input.Length;
        Sized(Pads, "pads", 2 * n);
        var begin = new long[n];
        var end = new long[n];
        for (int i = 0; i < n; i++)
        {
            switch (AutoPad)
            {
                case AutoPad.NotSet when Pads is not null:
                    begin[i] = Pads[i];
                    end[i] = Pads[i + n];
                    break;
                case AutoPad.SameUpper or AutoPad.SameLower:
                    long output = CeilDiv(input[i], strides[i]);
                    long total = Math.Max(0, (output - 1) * strides[i] + Extent(kernel[i], dilations[i]) - input[i]);
                    long small = total / 2;
                    (begin[i], end[i]) = AutoPad == AutoPad.SameUpper ? (small, total - small) : (total - small, small);
                    break;
            }
        }
        return (begin, end);
    }

    /// <summary>The span a dilated kernel covers: (k - 1) * d + 1.</summary>
    public static long Extent(long kernel, long dilation) => (kernel - 1) * dilation + 1;

    /// <summary>
    /// Output length of a pooling window (ONNX and torch agree): floor or ceil of
    /// (input + pads - extent) / stride + 1, where in ceil mode a last window that would start in
    /// the end padding is dropped.
    /// </summary>
    public static long PoolOutputLength(long input, long begin, long end, long kernel, long stride, long dilation, bool ceilMode)
    {
        long span = input + begin + end - Extent(kernel, dilation);
        if (span < 0) throw new EngineException($"pooling window of extent {Extent(kernel, dilation)} is larger than the padded input ({input + begin + end})");
        if (!ceilMode) return span / stride + 1;
        long output = CeilDiv(span, stride) + 1;
        if ((output - 1) * stride >= input + begin) output--;
        return output;
    }

    /// <summary>
    /// F.pad's argument for per-dimension (begin, end) pads of the trailing spatial dims:
    /// pairs from the last dimension backwards. Negative values crop.
    /// </summary>
    public static long[] TorchPad(long[] begin, long[] end)
    {
        int n = begin.Length;
        var pad = new long[2 * n];
        for (int i = 0; i < n; i++)
        {
            pad[2 * i] = begin[n - 1 - i];
            pad[2 * i + 1] = end[n - 1 - i];
        }
        return pad;
    }

    /// <summary>The trailing (spatial) dimensions of an N, C, D1... tensor.</summary>
    public static long[] SpatialShape(Tensor t) => t.shape[2..];

    /// <summary>n ones.</summary>
    public static long[] Ones(int n) => Enumerable.Repeat(1L, n).ToArray();

    /// <summary>ceil(a / b) for a >= 0, b > 0.</summary>
    public static long CeilDiv(long a, long b) => (a + b - 1) / b;

    /// <summary>Python's floor division (ONNX's reference formulas use it for possibly negative totals).</summary>
    public static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    /// <summary>Whether every value is zero.</summary>
    public static bool AllZero(long[] values) => values.All(v => v == 0);
}
