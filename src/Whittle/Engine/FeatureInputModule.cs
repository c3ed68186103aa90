using TorchSharp;
using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Engine;

/// <summary>
/// Feeds a dataset's float32 feature batch to an <see cref="OnnxModule"/> whose inputs are not
/// one float tensor, so the <see cref="Whittle.Training.Trainer"/> (which hands a module one
/// float batch) can train text and recommender models:
/// <list type="bullet">
/// <item>one input of an integer type (token ids [batch, sequence]): the batch, cast to that type;</item>
/// <item>k inputs of shape [batch] (a recommender's <c>user</c> and <c>item</c>): column j of a [batch, k] batch, each cast to its input's type.</item>
/// </list>
/// The features hold ids exactly (float32 represents every integer below 2^24; the data loaders
/// refuse larger ids). A single float input passes through unchanged.
/// </summary>
public sealed class FeatureInputModule : nn.Module<Tensor, Tensor>
{
    private readonly ScalarType[] _types;

    /// <summary>Wraps <paramref name="model"/>, which becomes a submodule (its parameters are this module's).</summary>
    /// <param name="model">A model with one input, or with several rank-1 inputs, and one output.</param>
    /// <exception cref="EngineException">The inputs are neither of those forms, or an input type has no tensor form.</exception>
    public FeatureInputModule(OnnxModule model) : base("FeatureInputModule")
    {
        ArgumentNullException.ThrowIfNull(model);
        var inputs = model.Source.Graph.Inputs.ToArray();
        string label = model.Source.SourcePath ?? model.Source.Graph.Name;
        if (model.OutputNames.Count != 1)
            throw new EngineException($"{label}: a feature batch trains a model with one output; this one has {model.OutputNames.Count}");
        if (inputs.Length > 1 && inputs.Any(i => i.Shape is not { Length: 1 }))
            throw new EngineException($"{label}: with {inputs.Length} inputs, each must be a vector [batch] to take one feature column; got {string.Join(", ", inputs.Select(i => i.TypeDescription))}");
        _types = inputs.Select(i => i.ElementType switch
        {
            OnnxDataType.Float => ScalarType.Float32,
            OnnxDataType.Int64 => ScalarType.Int64,
            OnnxDataType.Int32 => ScalarType.Int32,
            _ => throw new EngineException($"{label}: input {i.TypeDescription} cannot be fed from float features"),
        }).ToArray();
        Model = model;
        register_module("model", model);
    }

    /// <summary>
    /// Registers <paramref name="module"/> as a submodule trained with the model but no part of its
    /// graph (the projections of a hint-layer distillation): the optimizer, checkpoints and the
    /// best-epoch weights include its parameters, <see cref="OnnxModule.ToOnnx"/> does not.
    /// </summary>
    /// <param name="name">A name unique among the auxiliary modules.</param>
    /// <param name="module">The module.</param>
    public void AddAuxiliary(string name, nn.Module module)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(module);
        register_module("aux_" + name, module);
    }

    /// <summary>The wrapped model (its <see cref="OnnxModule.ToOnnx"/> gives the trained graph).</summary>
    public OnnxModule Model { get; }

    /// <summary>Runs the model on a feature batch: [batch, ...] for one input, [batch, k] for k inputs.</summary>
    public override Tensor forward(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (_types.Length == 1)
            return Model.Run(_types[0] == features.dtype ? features : features.to(_types[0]))[0];
        if (features.Dimensions != 2 || features.shape[1] != _types.Length)
            throw new EngineException($"{Model.Source.Graph.Name}: {_types.Length} inputs take a [batch, {_types.Length}] feature batch; got [{string.Join(", ", features.shape)}]");
        var columns = new Tensor[_types.Length];
        for (int j = 0; j < columns.Length; j++) columns[j] = features.select(1, j).to(_types[j]);
        return Model.Run(columns)[0];
    }
}
