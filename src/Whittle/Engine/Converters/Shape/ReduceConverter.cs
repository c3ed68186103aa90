using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// The Reduce* operators: sum, mean, max, min, product, L1/L2 norm, log-sum, log-sum-exp and
/// sum of squares over the given axes (all axes when none are given, none with
/// noop_with_empty_axes), keeping the reduced axes as size 1 when keepdims is set.
/// </summary>
[OnnxOp("ReduceSum", 1), OnnxOp("ReduceSum", 11), OnnxOp("ReduceSum", 13)]
[OnnxOp("ReduceMean", 1), OnnxOp("ReduceMean", 11), OnnxOp("ReduceMean", 13), OnnxOp("ReduceMean", 18)]
[OnnxOp("ReduceMax", 1), OnnxOp("ReduceMax", 11), OnnxOp("ReduceMax", 12), OnnxOp("ReduceMax", 13), OnnxOp("ReduceMax", 18), OnnxOp("ReduceMax", 20)]
[OnnxOp("ReduceMin", 1), OnnxOp("ReduceMin", 11), OnnxOp("ReduceMin", 12), OnnxOp("ReduceMin", 13), OnnxOp("ReduceMin", 18), OnnxOp("ReduceMin", 20)]
[OnnxOp("ReduceProd", 1), OnnxOp("ReduceProd", 11), OnnxOp("ReduceProd", 13), OnnxOp("ReduceProd", 18)]
[OnnxOp("ReduceL1", 1), OnnxOp("ReduceL1", 11), OnnxOp("ReduceL1", 13), OnnxOp("ReduceL1", 18)]
[OnnxOp("ReduceL2", 1), OnnxOp("ReduceL2", 11), OnnxOp("ReduceL2", 13), OnnxOp("ReduceL2", 18)]
[OnnxOp("ReduceLogSum", 1), OnnxOp("ReduceLogSum", 11), OnnxOp("ReduceLogSum", 13), OnnxOp("ReduceLogSum", 18)]
[OnnxOp("ReduceLogSumExp", 1), OnnxOp("ReduceLogSumExp", 11), OnnxOp("ReduceLogSumExp", 13), OnnxOp("ReduceLogSumExp", 18)]
[OnnxOp("ReduceSumSquare", 1), OnnxOp("ReduceSumSquare", 11), OnnxOp("ReduceSumSquare", 13), OnnxOp("ReduceSumSquare", 18)]
internal sealed class ReduceConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context)
    {
        var node = context.Node;
        var op = node.OpType;
        // The axes moved from an attribute to an input: ReduceSum at opset 13, the others at 18.
        bool axesFromInput = context.SinceVersion >= (op == "ReduceSum" ? 13 : 18);
        var axesAttribute = axesFromInput ? null : node.GetInts("axes");
        bool keepDims = node.GetInt("keepdims", 1) != 0;
        bool noopWithEmptyAxes = node.GetInt("noop_with_empty_axes", 0) != 0;
        return LambdaKernel.Single(inputs =>
        {
            var x = inputs[0]!;
            var axes = axesFromInput ? ShapeOps.OptionalLongs(inputs, 1) : axesAttribute;
            long rank = x.dim();
            if (axes is null || axes.Length == 0)
            {
                // Reducing over no axes leaves only the elementwise part of the composite reductions.
                if (noopWithEmptyAxes) return Elementwise(op, x);
                axes = Enumerable.Range(0, (int)rank).Select(i => (long)i).ToArray();
            }
            return Reduce(op, x, ShapeOps.Axes(axes, rank), keepDims);
        });
    }

    private static Tensor Elementwise(string op, Tensor x) => op switch
    {
        "ReduceL1" or "ReduceL2" => x.abs(),
        "ReduceLogSum" => x.log(),
        "ReduceSumSquare" => x.mul(x),
        _ => x,
    };

    private static Tensor Reduce(string op, Tensor x, long[] axes, bool keepDims)
    {
        var shape = x.shape;
        var kept = shape.Select((d, i) => axes.Contains((long)i) ? (keepDims ? 1 : -1) : d).Where(d => d >= 0).ToArray();
        var type = x.dtype;
        bool floating = is_floating_point(type);
        switch (op)
        {
            case "ReduceSum":
                return x.sum(axes, keepDims, type);
            case "ReduceSumSquare":
                return x.mul(x).sum(axes, keepDims, type);
            case "ReduceL1":
                return x.abs().sum(axes, keepDims, type);
            case "ReduceMax":
            case "ReduceMin":
            {
                bool max = op == "ReduceMax";
                // amax/amin reject empty reductions; ONNX defines them as -inf / +inf (or the type's extreme).
                if (axes.Any(a => shape[a] == 0)) return full(kept, Extreme(type, max), type, x.device);
                // Booleans compare as False < True; torch reduces them as bytes.
                var v = type == ScalarType.Bool ? x.to_type(ScalarType.Byte) : x;
                var r = max ? v.amax(axes, keepDims) : v.amin(axes, keepDims);
                return type == ScalarType.Bool ? r.to_type(ScalarType.Bool) : r;
            }
        }
        // The rest reduce in floating point; integer inputs are computed in double and cast back (numpy's astype).
        var f = floating ? x : x.to_type(ScalarType.Float64);
        var result = op switch
        {
            "ReduceMean" => f.mean(axes, keepDims),
            "ReduceLogSum" => f.sum(axes, keepDims).log(),
            "ReduceProd" => Flattened(f, axes).prod(-1).reshape(kept),
            // norm has a zero subgradient at 0 where sqrt(sum(x^2)) would give NaN.
            "ReduceL2" => Flattened(f, axes).norm(-1).reshape(kept),
            "ReduceLogSumExp" => Flattened(f, axes).logsumexp(-1).reshape(kept),
            _ => throw new EngineException($"unknown reduction {op}"),
        };
        return floating ? result : result.to_type(type);
    }

    /// <summary>The tensor with the reduced axes moved last and merged into one, for torch reductions over a single dim.</summary>
    private static Tensor Flattened(Tensor x, long[] axes)
    {
        var shape = x.shape;
        var others = Enumerable.Range(0, shape.Length).Select(i => (long)i).Where(i => !axes.Contains(i)).ToArray();
        var moved = x.permute(others.Concat(axes.Order()).ToArray());
        return moved.reshape(others.Select(i => shape[i]).Append(axes.Aggregate(1L, (p, a) => p * shape[a])).ToArray());
    }

    private static TorchSharp.Scalar Extreme(ScalarType type, bool max) => type switch
    {
        ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16 => max ? double.NegativeInfinity : double.PositiveInfinity,
        ScalarType.Int64 => max ? long.MinValue : long.MaxValue,
        ScalarType.Int32 => max ? int.MinValue : int.MaxValue,
        ScalarType.Int16 => (long)(max ? short.MinValue : short.MaxValue),
        ScalarType.Int8 => (long)(max ? sbyte.MinValue : sbyte.MaxValue),
        ScalarType.Byte => (long)(max ? byte.MinValue : byte.MaxValue),
        ScalarType.Bool => !max,
        _ => throw new EngineException($"ReduceMax/ReduceMin of {type} is not supported"),
    };
}
