using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// Split: cuts the input along an axis into parts of the given lengths, or into as many equal
/// parts as there are outputs (num_outputs from opset 18: the last part may be smaller).
/// </summary>
[OnnxOp("Split", 1)]
[OnnxOp("Split", 2)]
[OnnxOp("Split", 11)]
[OnnxOp("Split", 13)]
[OnnxOp("Split", 18)]
internal sealed class SplitConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        foreach (var p in ShapeOps.UnsupportedInitializers(context)) yield return p;
        var node = context.Node;
        if (context.SinceVersion >= 18 && node.HasAttribute("num_outputs") && node.GetInt("num_outputs") != node.Outputs.Count)
            yield return $"num_outputs {node.GetInt("num_outputs")} differs from the node's {node.Outputs.Count} outputs";
        if (context.SinceVersion < 13 && node.GetInts("split") is { } split && split.Length != node.Outputs.Count)
            yield return $"split has {split.Length} lengths for {node.Outputs.Count} outputs";
    }

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        long axis = node.GetInt("axis", 0);
        int outputs = node.Outputs.Count;
        // The lengths come from the 'split' attribute before 13 (Split-1 also accepts an input) and from the input from 13.
        var splitAttribute = context.SinceVersion < 13 ? node.GetInts("split") : null;
        bool splitFromInput = context.SinceVersion == 1 || context.SinceVersion >= 13;
        bool lastMayBeSmaller = context.SinceVersion >= 18 && node.HasAttribute("num_outputs");
        return new LambdaKernel((inputs, _) =>
        {
            var x = inputs[0]!;
            long a = ShapeOps.Axis(axis, x.dim());
            long dim = x.shape[a];
            var lengths = splitAttribute ?? (splitFromInput ? ShapeOps.OptionalLongs(inputs, 1) : null)
                ?? EqualParts(dim, outputs, lastMayBeSmaller);
            if (lengths.Length != outputs || lengths.Sum() != dim || lengths.Any(l => l < 0))
                throw new EngineException($"split [{string.Join(", ", lengths)}] does not cut a dimension of {dim} into {outputs} parts");
            return x.split(lengths, a);
        });
    }

    private static long[] EqualParts(long dim, int parts, bool lastMayBeSmaller)
    {
        long size = lastMayBeSmaller ? (dim + parts - 1) / parts : dim / parts;
        if (!lastMayBeSmaller && size * parts != dim)
            throw new EngineException($"a dimension of {dim} does not split into {parts} equal parts");
        var lengths = new long[parts];
        long left = dim;
        for (int i = 0; i < parts; i++)
        {
            lengths[i] = Math.Min(size, left);
            left -= lengths[i];
        }
        return lengths;
    }
}
