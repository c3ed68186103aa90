using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Engine.Converters;

/// <summary>
/// ConvTranspose: 1-D, 2-D or 3-D transposed convolution (the gradient of Conv with respect to
/// its input) with groups, strides, dilations, pads, output_padding, output_shape and auto_pad.
/// </summary>
[OnnxOp("ConvTranspose", 1)]
[OnnxOp("ConvTranspose", 11)]
[OnnxOp("ConvTranspose", 22)]
internal sealed class ConvTransposeConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        var node = context.Node;
        var weight = context.ConstantInput(1);
        int? rank = weight is null ? null : weight.Dims.Length - 2;
        foreach (var p in SlidingWindow.Problems(node, rank)) yield return p;
        if (node.GetInt("group", 1) < 1) yield return "group must be positive";
        if (node.GetInts("output_padding") is { } op)
        {
            if (op.Any(v => v < 0)) yield return "output_padding must not be negative";
            if ((rank ?? node.GetInts("kernel_shape")?.Length) is { } n && op.Length != n)
                yield return $"output_padding has {op.Length} values, expected {n}";
        }
        if (node.GetInts("output_shape") is { } os)
        {
            if (os.Any(v => v < 1)) yield return "output_shape must be positive";
            if ((rank ?? node.GetInts("kernel_shape")?.Length) is { } n && os.Length != n && os.Length != n + 2)
                yield return $"output_shape has {os.Length} values, expected {n}";
        }
    }

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        var attributes = new Attributes(
            SlidingWindow.Parse(node),
            node.GetInt("group", 1),
            node.GetInts("output_padding"),
            node.GetInts("output_shape"));
        return LambdaKernel.Single(inputs => Forward(inputs[0]!, inputs[1]!, inputs.At(2), attributes));
    }

    private sealed record Attributes(SlidingWindow Window, long Groups, long[]? OutputPadding, long[]? OutputShape);

    private static Tensor Forward(Tensor x, Tensor w, Tensor? bias, Attributes a)
    {
        int n = (int)w.dim() - 2;
        if (x.dim() != n + 2)
            throw new EngineException($"ConvTranspose: input has rank {x.dim()}, the {n}-D weight needs rank {n + 2}");
        var input = SlidingWindow.SpatialShape(x);
        var kernel = SlidingWindow.SpatialShape(w);
        var strides = a.Window.StridesFor(n);
        var dilations = a.Window.DilationsFor(n);
        var outputPadding = a.OutputPadding ?? new long[n];
        if (outputPadding.Length != n)
            throw new EngineException($"ConvTranspose: output_padding has {outputPadding.Length} values, the input has {n} spatial dimension(s)");
        var (begin, end) = Crop(a, input, kernel, strides, dilations, outputPadding);

        // torch takes symmetric, non-negative padding and output_padding smaller than stride or dilation.
        bool torchCanPad = begin.SequenceEqual(end) && begin.All(p => p >= 0)
            && outputPadding.Select((p, i) => p < Math.Max(strides[i], dilations[i])).All(ok => ok);
        if (torchCanPad) return Transpose(x, w, bias, n, strides, begin, outputPadding, dilations, a.Groups);

        // Otherwise: the full transposed convolution, then crop (or zero-extend) each side to the
        // ONNX output window; output_padding extends the end.
        var full = Transpose(x, w, null, n, strides, new long[n], new long[n], dilations, a.Groups);
        var endPad = end.Select((e, i) => outputPadding[i] - e).ToArray();
        var y = F.pad(full, SlidingWindow.TorchPad(begin.Select(b => -b).ToArray(), endPad));
        if (bias is not null) y = HeldScalars.Add(y, bias.reshape([-1, .. SlidingWindow.Ones(n)]));
        return y;
    }

    /// <summary>
    /// How much of the full output (length stride*(in-1) + extent) is removed at each side; with
    /// output_shape or SAME_* auto_pad it follows from the requested output length (ONNX's
    /// total_padding formula), otherwise it is the explicit pads.
    /// </summary>
    private static (long[] Begin, long[] End) Crop(Attributes a, long[] input, long[] kernel, long[] strides, long[] dilations, long[] outputPadding)
    {
        int n = input.Length;
        long[]? target = null;
        if (a.OutputShape is { } os)
        {
            if (os.Length < n) throw new EngineException($"ConvTranspose: output_shape has {os.Length} values, the input has {n} spatial dimension(s)");
            target = os[^n..]; // some exporters write N and C as well
        }
        else if (a.Window.AutoPad is AutoPad.SameUpper or AutoPad.SameLower) target = input.Select((v, i) => v * strides[i]).ToArray();
        var begin = new long[n];
        var end = new long[n];
        for (int i = 0; i < n; i++)
        {
            if (target is not null)
            {
                long total = strides[i] * (input[i] - 1) + outputPadding[i] + SlidingWindow.Extent(kernel[i], dilations[i]) - target[i];
                long half = SlidingWindow.FloorDiv(total, 2);
                (begin[i], end[i]) = a.Window.AutoPad == AutoPad.SameUpper ? (half, total - half) : (total - half, half);
            }
            else if (a.Window.AutoPad == AutoPad.NotSet && a.Window.Pads is { } pads)
            {
                begin[i] = pads[i];
                end[i] = pads[i + n];
            }
        }
        return (begin, end);
    }

    private static Tensor Transpose(Tensor x, Tensor w, Tensor? bias, int n, long[] strides, long[] padding, long[] outputPadding, long[] dilations, long groups) => n switch
    {
        1 => F.conv_transpose1d(x, w, bias, strides[0], padding[0], outputPadding[0], dilations[0], groups),
        2 => F.conv_transpose2d(x, w, bias, strides, padding, outputPadding, dilations, groups),
        3 => F.conv_transpose3d(x, w, bias, strides, padding, outputPadding, dilations, groups),
        _ => throw new EngineException($"ConvTranspose: {n}-D transposed convolution is not supported (1-D to 3-D are)"),
    };
}
