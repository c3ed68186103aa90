using Whittle.Onnx;

namespace Whittle.Quantization;

/// <summary>One convolution of a QDQ model given a form ONNX Runtime's fast integer kernel accepts.</summary>
/// <param name="Node">The Conv node.</param>
/// <param name="Form"><c>im2col</c> (a one-channel convolution rewritten as a 1×1 convolution over its k×k taps) or <c>channel pad</c>.</param>
/// <param name="InputChannels">Input channels before.</param>
/// <param name="AlignedChannels">Input channels after (the taps, or the padded channels).</param>
public sealed record AlignedConv(string Node, string Form, int InputChannels, int AlignedChannels);

/// <summary>
/// Gives the integer convolutions of a QDQ model input-channel counts that ONNX Runtime's fast symmetric
/// int8 kernel accepts. On x86, ORT runs a quantized Conv with its indirect "ConvSym" kernel (VNNI) only
/// when the input channels are a multiple of 4; otherwise it falls back to a generic path that is several
/// times slower, and the first convolution of an image model (1 or 3 input channels) is the one that
/// misses it. Measured at batch 64: the 1→32 3×3 first convolution of a 3-conv Fashion-MNIST CNN took
/// 2.46 ms in int8 against 0.50 ms in float; ImageNet ResNet18's 3→64 7×7 took 1.66 ms of the model's 9.6.
/// <list type="bullet">
/// <item><b>im2col</b> (one input channel, at most 16 kernel taps, static height and width): the quantized
/// input is padded with its zero point, each tap is a strided Slice, and the taps are concatenated into
/// channels (rounded up to 4, 8 or 16 with zero-weight copies); the convolution becomes 1×1. The 3×3
/// one-channel convolution above: 2.46 → 0.52 ms, plus 0.6 ms of padding, slicing and ORT's layout
/// transpose; the all-int8 model 0.74× → 0.53× float (bench quantize, docs/quantization.md).</item>
/// <item><b>channel pad</b> (any other input-channel count not a multiple of 4, group 1): the quantized input
/// gets zero-point channels and the weight zero columns up to the next multiple of 4 (ResNet18's first
/// convolution: 1.66 → 1.15 ms).</item>
/// </list>
/// The arithmetic is unchanged: every added input value is the zero point (it dequantizes to 0) or is
/// multiplied by a zero weight, so the integer accumulations are the same (outputs can differ by one
/// quantization step where ORT's two kernels round a tie differently; the tests allow that). Which model is faster is
/// still decided by timing it (<see cref="LatencyPlacement"/>); new nodes are named after their Conv so
/// that profiles attribute them to it.
/// </summary>
public static class IntegerConvAlignment
{
    /// <summary>The input-channel multiple ORT's symmetric int8 convolution kernel needs on x86 (its KernelInputChannelAlignment).</summary>
    public const int ChannelMultiple = 4;

    /// <summary>The largest kernel (taps, k_h × k_w) of a one-channel convolution rewritten as im2col.</summary>
    public const int MaxIm2ColTaps = 16;

    /// <summary>Name suffix of every node this pass adds (after the Conv's name), e.g. <c>conv1_aligned_tap3</c>.</summary>
    public const string NodeSuffix = "_aligned_";

    /// <summary>One line for reports: "conv1 im2col 1→16 channels, stem channel pad 3→4 channels".</summary>
    public static string Describe(IEnumerable<AlignedConv> aligned) =>
        string.Join(", ", aligned.Select(a => $"{a.Node} {a.Form} {a.InputChannels}→{a.AlignedChannels} channels"));

    /// <summary>Rewrites, in place, every integer Conv of <paramref name="qdq"/> whose input channels are not a multiple of 4.</summary>
    public static IReadOnlyList<AlignedConv> Apply(OnnxModel qdq)
    {
        var g = qdq.Graph;
        var done = new List<AlignedConv>();
        var replaced = new List<Parts>();
        foreach (var conv in g.Nodes.Where(n => n.OpType == "Conv" && n.Domain.Length == 0).ToList())
            if (Candidate(g, conv) is { } c)
            {
                done.Add(c.Channels == 1 && Im2ColShape(g, conv, c) is { } shape ? Im2Col(g, conv, c, shape) : PadChannels(g, conv, c));
                replaced.Add(c);
            }
        if (done.Count > 0)
        {
            RemoveUnread(g, replaced);
            g.SortTopologically();
        }
        return done;
    }

    private sealed record Parts(OnnxNode InputDq, OnnxNode WeightDq, OnnxTensor Weight, int Channels);

    /// <summary>An integer 2-D Conv (DequantizeLinear input with a constant zero point, int8 weight behind a DequantizeLinear, group 1) whose input channels miss the multiple.</summary>
    private static Parts? Candidate(OnnxGraph g, OnnxNode conv)
    {
        if (conv.Inputs.Count < 2 || conv.GetInt("group", 1) != 1 || conv.GetString("auto_pad", "NOTSET") != "NOTSET") return null;
        if (g.FindProducer(conv.Inputs[0]) is not { OpType: "DequantizeLinear" } xdq || xdq.Inputs.Count < 3) return null;
        if (g.FindInitializer(xdq.Inputs[2]) is not { ElementCount: 1 } zp || zp.DataType is not (OnnxDataType.UInt8 or OnnxDataType.Int8)) return null;
        if (g.FindInitializer(xdq.Inputs[1]) is not { ElementCount: 1 }) return null;
        if (g.FindProducer(conv.Inputs[1]) is not { OpType: "DequantizeLinear" } wdq) return null;
        if (g.FindInitializer(wdq.Inputs[0]) is not { DataType: OnnxDataType.Int8 } w || w.Dims.Length != 4) return null;
        int channels = checked((int)w.Dims[1]);
        return channels % ChannelMultiple == 0 ? null : new Parts(xdq, wdq, w, channels);
    }

    private sealed record Geometry(long[] Kernel, long[] Pads, long[] Strides, long[] Dilations, long OutH, long OutW);

    /// <summary>The geometry of a one-channel Conv when im2col applies: at most 16 taps and a static input height and width.</summary>
    private static Geometry? Im2ColShape(OnnxGraph g, OnnxNode conv, Parts c)
    {
        long[] kernel = [c.Weight.Dims[2], c.Weight.Dims[3]];
        if (kernel[0] * kernel[1] > MaxIm2ColTaps) return null;
        var floatInput = g.FindProducer(c.InputDq.Inputs[0]) is { OpType: "QuantizeLinear" } q ? q.Inputs[0] : null;
        var info = g.Inputs.Concat(g.ValueInfos).FirstOrDefault(v => v.Name == floatInput || v.Name == c.InputDq.Inputs[0]);
        if (info?.Shape is not { Length: 4 } shape || shape[2].Value is not { } h || shape[3].Value is not { } w) return null;
        var pads = conv.GetInts("pads") ?? [0, 0, 0, 0];
        var strides = conv.GetInts("strides") ?? [1, 1];
        var dilations = conv.GetInts("dilations") ?? [1, 1];
        if (pads.Length != 4 || strides.Length != 2 || dilations.Length != 2) return null;
        long outH = (h + pads[0] + pads[2] - dilations[0] * (kernel[0] - 1) - 1) / strides[0] + 1;
        long outW = (w + pads[1] + pads[3] - dilations[1] * (kernel[1] - 1) - 1) / strides[1] + 1;
        return outH < 1 || outW < 1 ? null : new Geometry(kernel, pads, strides, dilations, outH, outW);
    }

    /// <summary>Channels of the im2col input: the taps rounded up to 4, 8 or 16 (16 measured faster than 12 for 9 taps: ORT's uint8 layout transpose has a fast path for it).</summary>
    internal static int Im2ColChannels(int taps) => taps <= 4 ? 4 : taps <= 8 ? 8 : 16;

    private static AlignedConv Im2Col(OnnxGraph g, OnnxNode conv, Parts c, Geometry s)
    {
        string Ints(string what, params long[] values) => g.AddInitializer(OnnxTensor.FromInt64s(NewName(g, conv, what), [values.Length], values)).Name;
        var quantized = c.InputDq.Inputs[0];
        var zeroPoint = c.InputDq.Inputs[2];
        var source = quantized;
        if (s.Pads.Any(p => p != 0))
        {
            source = NewName(g, conv, "padded");
            g.AddNode(new OnnxNode("Pad", [quantized, Ints("pads", 0, 0, s.Pads[0], s.Pads[1], 0, 0, s.Pads[2], s.Pads[3]), zeroPoint], [source], NewName(g, conv, "pad")));
        }
        int taps = checked((int)(s.Kernel[0] * s.Kernel[1]));
        int channels = Im2ColChannels(taps);
        var tapValues = new List<string>();
        string axes = Ints("axes", 2, 3), steps = Ints("steps", s.Strides[0], s.Strides[1]);
        for (int t = 0; t < taps; t++)
        {
            long y = t / s.Kernel[1] * s.Dilations[0], x = t % s.Kernel[1] * s.Dilations[1];
            var output = NewName(g, conv, $"tap{t}");
            g.AddNode(new OnnxNode("Slice", [source, Ints($"tap{t}_starts", y, x), Ints($"tap{t}_ends", y + (s.OutH - 1) * s.Strides[0] + 1, x + (s.OutW - 1) * s.Strides[1] + 1),
                axes, steps], [output], output));
            tapValues.Add(output);
        }
        // The extra channels repeat tap 0; their weights are zero.
        var columns = NewName(g, conv, "columns");
        g.AddNode(new OnnxNode("Concat", tapValues.Concat(Enumerable.Repeat(tapValues[0], channels - taps)), [columns], NewName(g, conv, "concat"))).SetAttribute("axis", 1L);

        var w = ReadInt8(c.Weight);
        int outputs = checked((int)c.Weight.Dims[0]);
        var aligned = new sbyte[outputs * channels];
        for (int o = 0; o < outputs; o++)
            for (int t = 0; t < taps; t++) aligned[o * channels + t] = w[o * taps + t];
        RewireInputs(g, conv, c, columns, aligned, [outputs, channels, 1, 1]);
        foreach (var a in new[] { "pads", "strides", "dilations", "kernel_shape" }) conv.RemoveAttribute(a);
        conv.SetAttribute("kernel_shape", [1L, 1L]);
        return new AlignedConv(conv.DisplayName, "im2col", 1, channels);
    }

    private static AlignedConv PadChannels(OnnxGraph g, OnnxNode conv, Parts c)
    {
        int channels = (c.Channels + ChannelMultiple - 1) / ChannelMultiple * ChannelMultiple;
        int rank = c.Weight.Dims.Length;
        var pads = new long[2 * rank];
        pads[rank + 1] = channels - c.Channels;
        var padsName = g.AddInitializer(OnnxTensor.FromInt64s(NewName(g, conv, "pads"), [pads.Length], pads)).Name;
        var padded = NewName(g, conv, "padded");
        g.AddNode(new OnnxNode("Pad", [c.InputDq.Inputs[0], padsName, c.InputDq.Inputs[2]], [padded], NewName(g, conv, "pad")));

        var w = ReadInt8(c.Weight);
        var dims = c.Weight.Dims;
        int outputs = checked((int)dims[0]), inner = checked((int)(dims[2] * dims[3]));
        var aligned = new sbyte[outputs * channels * inner];
        for (int o = 0; o < outputs; o++)
            Array.Copy(w, o * c.Channels * inner, aligned, o * channels * inner, c.Channels * inner);
        RewireInputs(g, conv, c, padded, aligned, [dims[0], channels, dims[2], dims[3]]);
        return new AlignedConv(conv.DisplayName, "channel pad", c.Channels, channels);
    }

    /// <summary>Points the Conv at its own DequantizeLinear of the aligned input and of the aligned weight (the originals may have other readers).</summary>
    private static void RewireInputs(OnnxGraph g, OnnxNode conv, Parts c, string alignedInput, sbyte[] weight, long[] weightDims)
    {
        var xdq = new OnnxNode("DequantizeLinear", [alignedInput, c.InputDq.Inputs[1], c.InputDq.Inputs[2]], [NewName(g, conv, "input_dequantized")], NewName(g, conv, "input_dequantize"));
        g.AddNode(xdq);
        var wName = g.AddInitializer(OnnxTensor.FromBytes(NewName(g, conv, "weight_quantized"), OnnxDataType.Int8, weightDims, Array.ConvertAll(weight, v => unchecked((byte)v)))).Name;
        var wdq = new OnnxNode("DequantizeLinear", [wName, .. c.WeightDq.Inputs.Skip(1)], [NewName(g, conv, "weight_dequantized")], NewName(g, conv, "weight_dequantize"));
        if (c.WeightDq.HasAttribute("axis")) wdq.SetAttribute("axis", c.WeightDq.GetInt("axis"));
        g.AddNode(wdq);
        conv.Inputs[0] = xdq.Outputs[0];
        conv.Inputs[1] = wdq.Outputs[0];
    }

    /// <summary>A node or value name not yet in the graph, after the Conv: "CONV_aligned_WHAT" (profiles attribute it to the Conv).</summary>
    private static string NewName(OnnxGraph g, OnnxNode conv, string what) => g.UniqueName(conv.DisplayName + NodeSuffix + what);

    private static sbyte[] ReadInt8(OnnxTensor t) => Array.ConvertAll(t.ToRawBytes(), b => unchecked((sbyte)b));

    /// <summary>Drops the replaced DequantizeLinear nodes nothing reads any more, and the weights only they read.</summary>
    private static void RemoveUnread(OnnxGraph g, IEnumerable<Parts> replaced)
    {
        var outputs = g.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var c in replaced)
            foreach (var dq in new[] { c.InputDq, c.WeightDq })
                if (!outputs.Contains(dq.Outputs[0]) && g.FindConsumers(dq.Outputs[0]).Count == 0 && g.FindNode(dq.Name) is not null)
                    g.RemoveNode(dq);
        var read = g.Nodes.SelectMany(n => n.Inputs).ToHashSet(StringComparer.Ordinal);
        foreach (var c in replaced)
            if (!read.Contains(c.Weight.Name)) g.RemoveInitializer(c.Weight.Name);
    }
}
