using Whittle.Engine;
using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Pruning;

/// <summary>The sparsity one layer got, or why it was left dense.</summary>
/// <param name="NodeName">The node.</param>
/// <param name="Initializer">Its weight initializer.</param>
/// <param name="Weights">Elements of the weight.</param>
/// <param name="Zeros">Elements the mask zeroes (0 when left dense).</param>
/// <param name="SkipReason">Why the layer was left dense, or null.</param>
public sealed record LayerSparsity(string NodeName, string Initializer, long Weights, long Zeros, string? SkipReason)
{
    /// <summary>Zeros / weights.</summary>
    public double Sparsity => Weights == 0 ? 0 : (double)Zeros / Weights;
}

/// <summary>
/// Pruning masks by weight initializer name (true = kept), the plan of an unstructured or N:M
/// pruning: computed from a model, inspectable, then applied to an ONNX graph or kept on an
/// <see cref="OnnxModule"/>'s parameters during fine-tuning.
/// </summary>
public sealed class SparsityMasks
{
    private readonly Dictionary<string, bool[]> _masks;

    /// <summary>Stores masks and the per-layer report.</summary>
    /// <param name="masks">Per weight initializer, true where the weight is kept.</param>
    /// <param name="layers">Every prunable layer, pruned or not, in graph order.</param>
    public SparsityMasks(IReadOnlyDictionary<string, bool[]> masks, IReadOnlyList<LayerSparsity> layers)
    {
        ArgumentNullException.ThrowIfNull(masks);
        ArgumentNullException.ThrowIfNull(layers);
        _masks = new Dictionary<string, bool[]>(masks, StringComparer.Ordinal);
        Layers = layers;
    }

    /// <summary>Every prunable layer with its sparsity or skip reason, in graph order.</summary>
    public IReadOnlyList<LayerSparsity> Layers { get; }

    /// <summary>The masks by weight initializer name.</summary>
    public IReadOnlyDictionary<string, bool[]> Masks => _masks;

    /// <summary>Zeros over all prunable weights (left-dense layers included in the denominator).</summary>
    public double OverallSparsity
    {
        get
        {
            long total = Layers.Sum(l => l.Weights);
            return total == 0 ? 0 : (double)Layers.Sum(l => l.Zeros) / total;
        }
    }

    /// <summary>A copy of <paramref name="model"/> with every masked weight set to exactly zero.</summary>
    public OnnxModel Apply(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var result = model.Clone();
        foreach (var (name, mask) in _masks)
        {
            var init = result.Graph.FindInitializer(name)
                ?? throw new OnnxException($"{model.SourcePath ?? model.Graph.Name}: the mask's weight '{name}' is not an initializer of the model");
            var values = init.ToFloatArray();
            if (values.Length != mask.Length)
                throw new OnnxException($"weight '{name}' has {values.Length} elements, its mask {mask.Length}");
            for (int i = 0; i < values.Length; i++) if (!mask[i]) values[i] = 0f;
            var replacement = OnnxTensor.FromFloats(name, init.Dims, values);
            result.Graph.ReplaceInitializer(replacement);
        }
        return result;
    }

    /// <summary>Zeroes the masked weights of an Engine module's parameters in place (no gradient recorded).</summary>
    public void Apply(OnnxModule module)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var _ = no_grad();
        foreach (var (name, mask) in _masks)
        {
            if (!module.ParametersByInitializer.TryGetValue(name, out var p))
                throw new EngineException($"the mask's weight '{name}' is not a trainable parameter of the module");
            using var m = MaskTensor(mask, p);
            p.mul_(m);
        }
    }

    /// <summary>The mask as a float tensor of the parameter's shape, dtype and device.</summary>
    internal static Tensor MaskTensor(bool[] mask, Tensor like)
    {
        if (mask.Length != like.numel()) throw new EngineException($"a mask of {mask.Length} elements for a parameter of {like.numel()}");
        var values = new float[mask.Length];
        for (int i = 0; i < mask.Length; i++) values[i] = mask[i] ? 1f : 0f;
        using var t = tensor(values, like.shape);
        return t.to(like.dtype, like.device).DetachFromDisposeScope();
    }
}
