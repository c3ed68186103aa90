using static TorchSharp.torch;

namespace Whittle.Engine.Converters;

/// <summary>
/// GatherND: each innermost index vector of length k selects a slice data[b..., i1, ..., ik]
/// (after batch_dims leading batch dimensions shared by data and indices).
/// </summary>
[OnnxOp("GatherND", 11)]
[OnnxOp("GatherND", 12)]
[OnnxOp("GatherND", 13)]
internal sealed class GatherNDConverter : IOpConverter
{
    public IEnumerable<string> Check(OpContext context) => ShapeOps.UnsupportedInitializers(context);

    public IOpKernel Compile(OpContext context)
    {
        int batchDims = (int)context.Node.GetInt("batch_dims", 0);
        return LambdaKernel.Single(inputs =>
        {
            var data = inputs[0]!;
            var indices = inputs[1]!;
            var (linear, rowCount, sliceShape) = ScatterNDConverter.RowIndices(data.shape, indices, batchDims);
            // Rows of the reshaped data are the addressed slices; each index vector becomes one row number.
            var rows = data.reshape(new[] { rowCount }.Concat(sliceShape).ToArray());
            var outShape = indices.shape[..^1].Concat(sliceShape).ToArray();
            return rows.index_select(0, linear.reshape(-1)).reshape(outShape);
        });
    }
}
