using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// ScatterND: a copy of the data where each slice addressed by an innermost index vector is
/// replaced by (or, with a reduction, combined with) the matching slice of the updates.
/// </summary>
[OnnxOp("ScatterND", 11)]
[OnnxOp("ScatterND", 13)]
[OnnxOp("ScatterND", 16)]
[OnnxOp("ScatterND", 18)]
internal sealed class ScatterNDConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context)
    {
        foreach (var p in ShapeOps.UnsupportedInitializers(context)) yield return p;
        var accepted = context.SinceVersion >= 18 ? new[] { "none", "add", "mul", "max", "min" }
            : context.SinceVersion >= 16 ? new[] { "none", "add", "mul" } : new[] { "none" };
        foreach (var p in ShapeOps.RequireOneOf(context.Node, "reduction", "none", accepted)) yield return p;
    }

    public IOpKernel Compile(OpContext context)
    {
        var reduction = context.Node.GetString("reduction", "none");
        return LambdaKernel.Single(inputs =>
        {
            var data = inputs[0]!;
            var indices = inputs[1]!;
            var updates = inputs[2]!;
            var (linear, rowCount, sliceShape) = RowIndices(data.shape, indices, 0);
            var rowShape = new[] { rowCount }.Concat(sliceShape).ToArray();
            var rows = data.reshape(rowShape);
            var index = linear.reshape(-1);
            var source = updates.reshape(new[] { index.shape[0] }.Concat(sliceShape).ToArray());
            return ScatterRows(rows, index, source, reduction).reshape(data.shape);
        });
    }

    /// <summary>
    /// rows with rows[index[i]] replaced by source[i] ("none") or combined with it ("add", "mul",
    /// "max", "min"), built from differentiable index ops.
    /// </summary>
    internal static Tensor ScatterRows(Tensor rows, Tensor index, Tensor source, string reduction)
    {
        switch (reduction)
        {
            case "none": return rows.index_copy(0, index, source);
            case "add": return rows.index_add(0, index, source, 1);
        }
        // torch's index_reduce is not available here, so repeated targets are combined in rounds:
        // round r applies every r-th occurrence of each target row, and within a round no row repeats.
        var occurrences = new Dictionary<long, int>();
        var rounds = new List<List<long>>();
        var targets = TorchTensors.ToLongs(index);
        for (int i = 0; i < targets.Length; i++)
        {
            int round = occurrences.TryGetValue(targets[i], out var seen) ? seen : 0;
            occurrences[targets[i]] = round + 1;
            if (round == rounds.Count) rounds.Add(new List<long>());
            rounds[round].Add(i);
        }
        var result = rows;
        foreach (var positions in rounds)
        {
            var p = ShapeOps.LongTensor(positions.ToArray(), index);
            var at = index.index_select(0, p);
            var current = result.index_select(0, at);
            var update = source.index_select(0, p);
            var combined = reduction switch
            {
                "mul" => current * update,
                "max" => current.maximum(update),
                "min" => current.minimum(update),
                _ => throw new EngineException($"reduction '{reduction}' is not supported"),
            };
            result = result.index_copy(0, at, combined);
        }
        return result;
    }

    /// <summary>
    /// For data of shape [b..., d1..dk, s...] and indices of shape [b..., q..., k]: the row of each
    /// index vector in data reshaped to [rowCount, s...], with negative indices counted from the end.
    /// </summary>
    internal static (Tensor Rows, long RowCount, long[] SliceShape) RowIndices(long[] dataShape, Tensor indices, int batchDims)
    {
        var indexShape = indices.shape;
        if (indexShape.Length < 1) throw new EngineException("indices must have rank at least 1");
        int k = (int)indexShape[^1];
        if (batchDims + k > dataShape.Length) throw new EngineException($"index vectors of length {k} (after {batchDims} batch dims) exceed the data rank {dataShape.Length}");
        var addressed = dataShape[batchDims..(batchDims + k)];
        long batch = ShapeOps.Product(dataShape, 0, batchDims);
        long perBatch = ShapeOps.Product(addressed);
        var strides = new long[k];
        long stride = 1;
        for (int j = k - 1; j >= 0; j--)
        {
            strides[j] = stride;
            stride *= addressed[j];
        }
        long perBatchIndices = ShapeOps.Product(indexShape, batchDims, indexShape.Length - 1);
        var idx = indices.to_type(ScalarType.Int64).reshape(batch, perBatchIndices, k);
        var sizes = ShapeOps.LongTensor(addressed, idx);
        idx = where(idx.lt(0), idx + sizes, idx);
        var linear = (idx * ShapeOps.LongTensor(strides, idx)).sum(-1, type: ScalarType.Int64);
        linear = linear + arange(batch, dtype: ScalarType.Int64, device: idx.device).unsqueeze(1) * perBatch;
        return (linear.reshape(indexShape[..^1]), batch * perBatch, dataShape[(batchDims + k)..]);
    }
}
