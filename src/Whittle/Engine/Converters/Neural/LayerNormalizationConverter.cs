using Whittle.Onnx;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Engine.Converters;

/// <summary>
/// LayerNormalization: (x - mean) / sqrt(var + epsilon) * scale + bias, statistics over the
/// dimensions from axis to the last, computed in stash_type; optional outputs Mean and InvStdDev.
/// </summary>
[OnnxOp("LayerNormalization", 17)]
internal sealed class LayerNormalizationConverter : IOpConverter
{
    private static readonly OnnxDataType[] StashTypes = [OnnxDataType.Float, OnnxDataType.Double, OnnxDataType.Float16, OnnxDataType.BFloat16];

    public IEnumerable<string> Check(OpContext context)
    {
        var stash = (OnnxDataType)context.Node.GetInt("stash_type", (long)OnnxDataType.Float);
        if (!StashTypes.Contains(stash)) yield return $"stash_type {OnnxDataTypes.Name(stash)} is not supported (float, double, float16, bfloat16 are)";
    }

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        long axis = node.GetInt("axis", -1);
        double epsilon = node.GetFloat("epsilon", 1e-5f);
        var stash = TorchTensors.ToScalarType((OnnxDataType)node.GetInt("stash_type", (long)OnnxDataType.Float));
        bool statisticsOutputs = node.Outputs.Skip(1).Any(o => o.Length > 0);
        return new LambdaKernel((inputs, _) =>
        {
            var (x, scale, bias) = (inputs[0]!, inputs[1]!, inputs.At(2));
            long rank = x.dim();
            long first = axis < 0 ? axis + rank : axis;
            if (first < 0 || first >= rank) throw new EngineException($"LayerNormalization: axis {axis} is out of range for rank {rank}");
            var normalizedShape = x.shape[(int)first..];

            // torch's fused kernel when nothing beyond Y is wanted and scale/bias have the normalized shape.
            if (!statisticsOutputs && x.dtype is ScalarType.Float32 or ScalarType.Float64
                && scale.shape.SequenceEqual(normalizedShape) && (bias is null || bias.shape.SequenceEqual(normalizedShape)))
                return [F.layer_norm(x, normalizedShape, scale, bias, epsilon)];

            var dims = Enumerable.Range((int)first, (int)(rank - first)).Select(d => (long)d).ToArray();
            var xs = x.dtype == stash ? x : x.to_type(stash);
            var mean = xs.mean(dims, keepdim: true);
            var centered = xs - mean;
            var inverseStd = HeldScalars.Add((centered * centered).mean(dims, keepdim: true), epsilon).rsqrt();
            var normalized = centered * inverseStd;
            if (normalized.dtype != x.dtype) normalized = normalized.to_type(x.dtype);
            var y = normalized * scale;
            if (bias is not null) y = HeldScalars.Add(y, bias);
            return [y, mean, inverseStd];
        });
    }
}
