using Whittle.Data;
using Whittle.Engine;
using Whittle.Onnx;

namespace Whittle.Training;

/// <summary>
/// An ONNX model made ready to be trained by the Engine and turned back into a model of the same
/// form afterwards: optionally with its folded BatchNorms re-inserted
/// (<see cref="BatchNormReinsertion"/>), built into an <see cref="OnnxModule"/>, and, by
/// <see cref="Finish"/>, written back with the re-inserted nodes folded again. Fine-tuning after
/// pruning, recovery training, distillation and training all go through it, so a model leaves
/// training with the operators it came with.
/// </summary>
public sealed class TrainableGraph : IDisposable
{
    private readonly ReinsertedModel _reinserted;
    private FeatureInputModule? _wrapper;

    /// <summary>Prepares <paramref name="model"/> (not modified) for training.</summary>
    /// <param name="model">The model to train.</param>
    /// <param name="reinsertBatchNorm">Re-insert BatchNorms after the Conv and Gemm layers that have none (<see cref="BatchNormReinsertion.Candidates"/>).</param>
    /// <param name="calibration">Samples the re-inserted BatchNorms take their initial statistics from; required with <paramref name="reinsertBatchNorm"/>.</param>
    /// <param name="registry">The Engine's converters, or null for the default ones.</param>
    /// <param name="targets">Per layer, the output statistics the re-inserted BatchNorms start at (<see cref="BatchNormReinsertion.Insert"/>); null to start as the identity.</param>
    public TrainableGraph(OnnxModel model, bool reinsertBatchNorm, TensorDataset? calibration, OpRegistry? registry = null,
        IReadOnlyDictionary<string, (float[] Mean, float[] Variance)>? targets = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (reinsertBatchNorm && calibration is null) throw new ArgumentException("BatchNorm re-insertion needs calibration samples", nameof(calibration));
        _reinserted = reinsertBatchNorm
            ? BatchNormReinsertion.Insert(model, calibration!, registry: registry, init: BatchNormInit.Identity, targets: targets)
            : new ReinsertedModel(model, []);
        Module = new OnnxModule(_reinserted.Model, registry);
    }

    /// <summary>The module to train.</summary>
    public OnnxModule Module { get; }

    /// <summary>
    /// What a trainer should train: <see cref="Module"/> itself, or, with <paramref name="setup"/>,
    /// <see cref="Module"/> wrapped in a <see cref="FeatureInputModule"/> that <paramref name="setup"/>
    /// gives auxiliary modules (the projections of hint layers), trained with the model and never
    /// written by <see cref="Finish"/>.
    /// </summary>
    /// <param name="setup">Prepares the wrapper (registers auxiliaries, sets captured values); null for the bare module.</param>
    public TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> TrainingModule(Action<FeatureInputModule>? setup)
    {
        if (setup is null) return Module;
        if (_wrapper is not null) throw new InvalidOperationException("the training module of this graph was already set up");
        _wrapper = new FeatureInputModule(Module);
        setup(_wrapper);
        return _wrapper;
    }

    /// <summary>The BatchNormalization nodes that were re-inserted (empty when none were).</summary>
    public IReadOnlyList<string> InsertedBatchNorms => _reinserted.InsertedNodes;

    /// <summary>The trained model in the input's form: the module's values written back (eval mode), re-inserted BatchNorms folded into their layers.</summary>
    public OnnxModel Finish()
    {
        Module.eval();
        return _reinserted.FoldBack(Module.ToOnnx());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _wrapper?.Dispose();
        Module.Dispose();
    }
}
