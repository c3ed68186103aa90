using Whittle.Data;
using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Training;
using static TorchSharp.torch;

namespace Whittle.Pruning;

/// <summary>
/// Gradients for first-order Taylor importance: the loss's gradient with respect to every
/// trainable initializer, summed over a few batches, computed by the Engine (<see cref="OnnxModule"/>).
/// The module runs in eval mode, so BatchNorm uses (and does not update) its running statistics.
/// </summary>
public static class TaylorGradients
{
    /// <summary>Σ over batches of ∂loss/∂w, by initializer name.</summary>
    /// <param name="model">The model (not modified).</param>
    /// <param name="data">Labeled samples; the first <paramref name="batches"/> batches are used.</param>
    /// <param name="batches">Batches to accumulate; positive.</param>
    /// <param name="batchSize">Samples per batch; positive.</param>
    /// <param name="loss">The loss; null for cross-entropy.</param>
    /// <param name="registry">The converters the Engine builds the module with; null for <see cref="OpRegistry.Default"/>.</param>
    public static IReadOnlyDictionary<string, float[]> Accumulate(OnnxModel model, TensorDataset data, int batches = 8, int batchSize = 64, TrainingLoss? loss = null,
        OpRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batches);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (!data.HasLabels) throw new ArgumentException("Taylor importance needs labeled data", nameof(data));
        loss ??= new CrossEntropy();
        using var module = new OnnxModule(model, registry);
        module.eval();
        int done = 0;
        foreach (var batch in data.Batches(batchSize))
        {
            if (done++ == batches) break;
            using var scope = NewDisposeScope();
            var input = tensor(batch.Features, batch.ShapeAsInt64);
            var labels = tensor(batch.LabelsAsInt64);
            loss.Compute(input, module.call(input), labels).backward();
        }
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (name, p) in module.ParametersByInitializer)
            result[name] = p.grad is { } g ? TorchTensors.ToFloats(g) : new float[p.numel()];
        return result;
    }
}
