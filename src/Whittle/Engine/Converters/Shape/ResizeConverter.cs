using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// Resize (and the older Upsample): scales a tensor's axes by sampling it with nearest,
/// (multi-)linear or cubic interpolation, in any of the ONNX coordinate transformations.
/// </summary>
/// <remarks>
/// Interpolation is separable, so each resized axis is handled on its own, like the ONNX
/// reference: for every output position the source coordinate gives a few neighbour indices
/// and weights, and the axis becomes index_select + weighted sum. That follows the reference
/// exactly for every mode (including antialiasing, exclude_outside and crop-and-resize
/// extrapolation), works for any rank, and keeps the gradient with respect to the input.
/// </remarks>
[OnnxOp("Upsample", 7)]
[OnnxOp("Upsample", 9)]
[OnnxOp("Resize", 10)]
[OnnxOp("Resize", 11)]
[OnnxOp("Resize", 13)]
[OnnxOp("Resize", 18)]
[OnnxOp("Resize", 19)]
internal sealed class ResizeConverter : IOpConverter
{
    private enum Mode { Nearest, Linear, Cubic }

    private sealed record Settings(
        Mode Mode,
        string Coordinates,
        string NearestMode,
        double CubicA,
        bool ExcludeOutside,
        double Extrapolation,
        bool Antialias,
        long[]? Axes,
        string AspectPolicy,
        float[]? ScalesAttribute,
        int RoiInput,
        int ScalesInput,
        int SizesInput);

    /// <summary>
    /// Resize-10 and Upsample predate the coordinate attributes: ONNX Runtime samples them
    /// asymmetrically and picks the nearest pixel by truncation (ceil when downsampling).
    /// </summary>
    private const string LegacyNearest = "legacy";

    public IEnumerable<string> Check(OpContext context)
    {
        foreach (var p in ShapeOps.UnsupportedInitializers(context)) yield return p;
        var node = context.Node;
        int v = context.SinceVersion;
        bool legacy = node.OpType == "Upsample" || v < 11;
        foreach (var p in ShapeOps.RequireOneOf(node, "mode", "nearest", legacy ? ["nearest", "linear"] : ["nearest", "linear", "cubic"])) yield return p;
        if (node.OpType == "Upsample" && v < 9 && !node.HasAttribute("scales")) yield return "required attribute 'scales' is missing";
        if (legacy) yield break;
        string[] coordinates = v >= 19
            ? ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize"]
            : v >= 18
                ? ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize"]
                : ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"];
        foreach (var p in ShapeOps.RequireOneOf(node, "coordinate_transformation_mode", "half_pixel", coordinates)) yield return p;
        foreach (var p in ShapeOps.RequireOneOf(node, "nearest_mode", "round_prefer_floor", "round_prefer_floor", "round_prefer_ceil", "floor", "ceil")) yield return p;
        if (v >= 18)
            foreach (var p in ShapeOps.RequireOneOf(node, "keep_aspect_ratio_policy", "stretch", "stretch", "not_larger", "not_smaller")) yield return p;
    }

    // roi, scales and sizes are settings: never trained.
    public InputRole RoleOf(int index, OpContext context) => index == 0 ? InputRole.Data : InputRole.Constant;

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        int v = context.SinceVersion;
        bool upsample = node.OpType == "Upsample";
        bool legacy = upsample || v < 11;
        var mode = node.GetString("mode", "nearest") switch
        {
            "linear" => Mode.Linear,
            "cubic" => Mode.Cubic,
            _ => Mode.Nearest,
        };
        var settings = new Settings(
            mode,
            legacy ? "asymmetric" : node.GetString("coordinate_transformation_mode", "half_pixel"),
            legacy ? LegacyNearest : node.GetString("nearest_mode", "round_prefer_floor"),
            node.GetFloat("cubic_coeff_a", -0.75f),
            node.GetInt("exclude_outside", 0) != 0,
            node.GetFloat("extrapolation_value", 0f),
            v >= 18 && !upsample && node.GetInt("antialias", 0) != 0,
            v >= 18 && !upsample ? node.GetInts("axes") : null,
            v >= 18 && !upsample ? node.GetString("keep_aspect_ratio_policy", "stretch") : "stretch",
            upsample && v < 9 ? node.GetFloats("scales") : null,
            RoiInput: legacy ? -1 : 1,
            ScalesInput: legacy ? (upsample && v < 9 ? -1 : 1) : 2,
            SizesInput: legacy ? -1 : 3);
        return LambdaKernel.Single(inputs => Forward(inputs, settings));
    }

    private static Tensor Forward(Tensor?[] inputs, Settings s)
    {
        var x = inputs[0]!;
        var inShape = x.shape;
        int rank = inShape.Length;
        var axes = s.Axes is null ? Enumerable.Range(0, rank).Select(i => (long)i).ToArray() : ShapeOps.Axes(s.Axes, rank);

        var sizes = s.SizesInput >= 0 ? ShapeOps.OptionalLongs(inputs, s.SizesInput) : null;
        float[]? scales = s.ScalesAttribute;
        if (scales is null && s.ScalesInput >= 0 && s.ScalesInput < inputs.Length && inputs[s.ScalesInput] is { } st)
            scales = TorchTensors.ToFloats(st);
        var roi = s.RoiInput >= 0 && s.Coordinates == "tf_crop_and_resize" && s.RoiInput < inputs.Length && inputs[s.RoiInput] is { } rt
            ? TorchTensors.ToFloats(rt) : null;

        // Output size and scale of every axis (axes left out keep their size, scale 1).
        var outShape = (long[])inShape.Clone();
        var scale = Enumerable.Repeat(1.0, rank).ToArray();
        if (sizes is { Length: > 0 })
        {
            if (sizes.Length != axes.Length) throw new EngineException($"{sizes.Length} sizes for {axes.Length} axes");
            for (int i = 0; i < axes.Length; i++) scale[axes[i]] = (double)sizes[i] / inShape[axes[i]];
            if (s.AspectPolicy != "stretch")
            {
                var chosen = axes.Select(a => scale[a]);
                double common = s.AspectPolicy == "not_larger" ? chosen.Min() : chosen.Max();
                foreach (var a in axes)
                {
                    scale[a] = common;
                    outShape[a] = (long)(common * inShape[a] + 0.5);
                }
            }
            else
            {
                for (int i = 0; i < axes.Length; i++) outShape[axes[i]] = sizes[i];
            }
        }
        else if (scales is { Length: > 0 })
        {
            if (scales.Length != axes.Length) throw new EngineException($"{scales.Length} scales for {axes.Length} axes");
            for (int i = 0; i < axes.Length; i++)
            {
                if (!(scales[i] > 0)) throw new EngineException($"scale {scales[i]} must be positive");
                scale[axes[i]] = scales[i];
                outShape[axes[i]] = (long)Math.Floor(scales[i] * (double)inShape[axes[i]]);
            }
        }
        else
        {
            throw new EngineException("Resize needs 'scales' or 'sizes'");
        }

        var result = x;
        bool integral = !is_floating_point(x.dtype);
        if (integral && s.Mode != Mode.Nearest) result = result.to_type(ScalarType.Float64);
        for (int i = 0; i < axes.Length; i++)
        {
            int a = (int)axes[i];
            double roiStart = 0, roiEnd = 1;
            if (roi is not null)
            {
                // roi lists all starts, then all ends, in the order of the axes (every axis by default).
                if (roi.Length != 2 * axes.Length) throw new EngineException($"roi has {roi.Length} values for {axes.Length} axes");
                roiStart = roi[i];
                roiEnd = roi[axes.Length + i];
            }
            bool identity = Math.Abs(scale[a] - 1) < 1e-12 && outShape[a] == inShape[a] && roiStart == 0 && roiEnd == 1;
            if (identity) continue;
            result = ResizeAxis(result, a, outShape[a], scale[a], roiStart, roiEnd, s);
        }
        if (integral && s.Mode != Mode.Nearest) result = result.round().to_type(x.dtype);
        return result;
    }

    /// <summary>Resizes one axis: the sampling plan of <see cref="Plan"/> applied with index_select and a weighted sum.</summary>
    private static Tensor ResizeAxis(Tensor x, int axis, long outSize, double scale, double roiStart, double roiEnd, Settings s)
    {
        long inSize = x.shape[axis];
        var (indices, weights, taps, outside) = Plan(inSize, outSize, scale, roiStart, roiEnd, s);
        var picked = x.index_select(axis, ShapeOps.LongTensor(indices, x));
        Tensor result;
        if (weights is null)
        {
            result = picked;
        }
        else
        {
            var shape = x.shape;
            var split = shape.Take(axis).Append(outSize).Append(taps).Concat(shape.Skip(axis + 1)).ToArray();
            var weightShape = new[] { outSize, taps }.Concat(Enumerable.Repeat(1L, shape.Length - axis - 1)).ToArray();
            var w = tensor(weights, dtype: ScalarType.Float64, device: x.device).to_type(x.dtype).reshape(weightShape);
            result = (picked.reshape(split) * w).sum(axis + 1);
        }
        if (outside is not null)
        {
            var maskShape = Enumerable.Repeat(1L, (int)x.dim()).ToArray();
            maskShape[axis] = outSize;
            var mask = tensor(outside, device: x.device).reshape(maskShape);
            result = where(mask, tensor(s.Extrapolation, dtype: ScalarType.Float64, device: x.device).to_type(result.dtype), result);
        }
        return result;
    }

    /// <summary>
    /// The sampling plan of one axis: for each output position, the input indices it reads
    /// (taps of them, edge-clamped) and their weights (null for nearest: one index, weight 1),
    /// plus, for tf_crop_and_resize, which positions fall outside the input.
    /// </summary>
    private static (long[] Indices, double[]? Weights, int Taps, bool[]? Outside) Plan(
        long inSize, long outSize, double scale, double roiStart, double roiEnd, Settings s)
    {
        bool[]? outside = s.Coordinates == "tf_crop_and_resize" ? new bool[outSize] : null;
        var origins = new double[outSize];
        double outWidth = scale * inSize;
        for (long y = 0; y < outSize; y++)
        {
            double xo = s.Coordinates switch
            {
                "align_corners" => outWidth == 1 ? 0 : y * (inSize - 1) / (outWidth - 1),
                "asymmetric" => y / scale,
                "tf_half_pixel_for_nn" => (y + 0.5) / scale,
                "pytorch_half_pixel" => outWidth == 1 ? -0.5 : (y + 0.5) / scale - 0.5,
                "half_pixel_symmetric" => inSize / 2.0 * (1 - outSize / outWidth) + (y + 0.5) / scale - 0.5,
                "tf_crop_and_resize" => (outWidth == 1
                    ? (roiEnd - roiStart) * (inSize - 1) / 2
                    : y * (roiEnd - roiStart) * (inSize - 1) / (outWidth - 1)) + roiStart * (inSize - 1),
                _ => (y + 0.5) / scale - 0.5,
            };
            if (outside is not null) outside[y] = xo < 0 || xo > inSize - 1;
            origins[y] = xo;
        }

        if (s.Mode == Mode.Nearest)
        {
            var nearest = new long[outSize];
            for (long y = 0; y < outSize; y++)
                nearest[y] = Math.Clamp(NearestIndex(origins[y], s.NearestMode, scale), 0, inSize - 1);
            return (nearest, null, 1, outside);
        }

        // Linear and cubic: n taps around the origin with the reference's coefficient functions.
        int taps = Coefficients(0.5, scale, s).Length;
        var indices = new long[outSize * taps];
        var weights = new double[outSize * taps];
        int pad = (taps + 1) / 2;
        for (long y = 0; y < outSize; y++)
        {
            double xo = origins[y];
            double floor = Math.Floor(xo);
            // The pixel to the left is preferred, so an exact integer origin has ratio 1, not 0.
            double ratio = xo == floor ? 1 : xo - floor;
            var c = Coefficients(ratio, scale, s);
            // The taps nearest to the origin, ties going to the lower index (reference get_neighbor).
            double padded = xo + pad;
            long p = (long)Math.Floor(padded);
            double frac = padded - p;
            long offset = taps % 2 == 0
                ? (frac == 0 ? -(taps / 2) : -(taps / 2) + 1)
                : (frac <= 0.5 ? -((taps - 1) / 2) : -((taps - 1) / 2) + 1);
            long first = p + offset - pad;
            if (s.ExcludeOutside)
            {
                double sum = 0;
                for (int j = 0; j < taps; j++)
                {
                    long idx = first + j;
                    if (idx < 0 || idx >= inSize) c[j] = 0;
                    sum += c[j];
                }
                if (sum != 0) for (int j = 0; j < taps; j++) c[j] /= sum;
            }
            for (int j = 0; j < taps; j++)
            {
                // Edge padding is the same as clamping the index.
                indices[y * taps + j] = Math.Clamp(first + j, 0, inSize - 1);
                weights[y * taps + j] = c[j];
            }
        }
        return (indices, weights, taps, outside);
    }

    private static long NearestIndex(double xo, string mode, double scale)
    {
        double floor = Math.Floor(xo);
        if (xo == floor) return (long)floor;
        double ratio = xo - floor;
        bool up = mode switch
        {
            "round_prefer_ceil" => ratio >= 0.5,
            "floor" => false,
            "ceil" => true,
            LegacyNearest => scale < 1,
            _ => ratio > 0.5,
        };
        return (long)floor + (up ? 1 : 0);
    }

    private static double[] Coefficients(double ratio, double scale, Settings s)
    {
        if (s.Mode == Mode.Linear)
        {
            if (!s.Antialias) return [1 - ratio, ratio];
            // Antialiasing stretches the triangle filter by 1/scale when downsampling.
            double sc = Math.Min(scale, 1);
            long start = (long)Math.Floor(-1 / sc) + 1;
            long footprint = 2 - 2 * start;
            var c = new double[footprint];
            for (long i = 0; i < footprint; i++) c[i] = Math.Clamp(1 - Math.Abs((start + i - ratio) * sc), 0, 1);
            return Normalize(c);
        }
        double a = s.CubicA;
        if (!s.Antialias)
        {
            double r1 = ratio + 1, q = 1 - ratio, q1 = q + 1;
            return
            [
                ((a * r1 - 5 * a) * r1 + 8 * a) * r1 - 4 * a,
                ((a + 2) * ratio - (a + 3)) * ratio * ratio + 1,
                ((a + 2) * q - (a + 3)) * q * q + 1,
                ((a * q1 - 5 * a) * q1 + 8 * a) * q1 - 4 * a,
            ];
        }
        {
            double sc = Math.Min(scale, 1);
            long start = (long)Math.Floor(-2 / sc) + 1, end = 2 - start;
            var c = new double[end - start];
            for (long i = start; i < end; i++) c[i - start] = CubicKernel(sc * (i - ratio), a);
            return Normalize(c);
        }
    }

    private static double CubicKernel(double x, double a)
    {
        x = Math.Abs(x);
        if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
        return 0;
    }

    private static double[] Normalize(double[] c)
    {
        double sum = c.Sum();
        for (int i = 0; i < c.Length; i++) c[i] /= sum;
        return c;
    }
}
