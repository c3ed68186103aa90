using System.Globalization;
using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>
/// Builds an ONNX model layer by layer, the way a PyTorch <c>forward</c> reads:
/// <code>
/// var b = new OnnxGraphBuilder("lenet", seed: 1);
/// var x = b.Input("input", [-1, 1, 28, 28]);
/// x = b.Conv(x, outChannels: 16, kernel: 3, padding: 1, name: "conv1");
/// x = b.Relu(b.BatchNorm(x, name: "bn1"));
/// x = b.Flatten(b.MaxPool(x, 2));
/// b.Output(b.Linear(x, 10, name: "fc"), "logits");
/// OnnxModel model = b.Build();
/// </code>
/// Models use ONNX opset <see cref="Opset"/> and IR version <see cref="IrVersion"/>. Every layer
/// with weights stores them as initializers named <c>{layer}.weight</c>, <c>{layer}.bias</c>,
/// <c>{layer}.running_mean</c>, ... exactly like the PyTorch <c>state_dict</c> of the same module,
/// and initializes them as PyTorch's <c>reset_parameters</c> does, from a seeded generator: the same
/// seed gives byte-identical models.
/// </summary>
/// <remarks>
/// Naming: a layer named <c>conv1</c> inside <see cref="Scope"/>("layer1.0") is
/// <c>layer1.0.conv1</c>; its output value and the node that produces it carry that name, helper
/// nodes of multi-node layers add a suffix (<c>fc.matmul</c>). Unnamed layers are named after
/// their kind (<c>relu</c>, <c>relu_1</c>, ...). Scalars that operators take as inputs (Clip
/// bounds, the Dropout ratio, GELU's constants) are <c>Constant</c> nodes, not initializers, so
/// that tools which treat float initializers as trainable parameters, and parameter counts, see
/// only the real weights.
/// </remarks>
public sealed class OnnxGraphBuilder
{
    /// <summary>The default-domain opset of the models built.</summary>
    public const long Opset = 17;

    /// <summary>The ONNX IR version of the models built (IR 8 goes with opset 17).</summary>
    public const long IrVersion = 8;

    /// <summary>The seed used when none is given.</summary>
    public const long DefaultSeed = 0;

    private readonly OnnxModel _model;
    private readonly HashSet<string> _valueNames = new(StringComparer.Ordinal);
    private readonly HashSet<string> _layerNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _renamedValues = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _scalarConstants = [];
    private readonly List<string> _scopes = [];
    private bool _built;

    /// <summary>Starts an empty model.</summary>
    /// <param name="graphName">The ONNX graph name.</param>
    /// <param name="seed">Seeds the initial weights; the same seed gives byte-identical models.</param>
    public OnnxGraphBuilder(string graphName = "model", long seed = DefaultSeed)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(graphName);
        _model = OnnxModel.Create(graphName, Opset, IrVersion);
        Seed = seed;
    }

    /// <summary>The seed of the initial weights.</summary>
    public long Seed { get; }

    // ---- graph boundary ----------------------------------------------------------------

    /// <summary>
    /// Declares a graph input. A -1 dimension is dynamic: the first is named <c>batch</c>, others
    /// <c>{name}_dim{axis}</c>.
    /// </summary>
    /// <param name="name">The input name callers feed.</param>
    /// <param name="shape">The shape, e.g. <c>[-1, 1, 28, 28]</c>.</param>
    /// <param name="elementType">Float for images and features, Int64 for token or item ids.</param>
    public GraphValue Input(string name, long[] shape, OnnxDataType elementType = OnnxDataType.Float)
    {
        EnsureBuilding();
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Any(d => d < GraphValue.DynamicDimension || d == 0))
            throw new ArgumentException($"input '{name}': every dimension must be positive or -1 (dynamic); got {GraphValue.FormatShape(shape)}", nameof(shape));
        if (elementType is not (OnnxDataType.Float or OnnxDataType.Int64 or OnnxDataType.Int32))
            throw new ArgumentException($"input '{name}': element type must be float32, int64 or int32; got {OnnxDataTypes.Name(elementType)}", nameof(elementType));
        ClaimValue(name);
        var dims = shape.Select((d, axis) => d >= 0 ? new OnnxDim(d, null)
            : new OnnxDim(null, axis == 0 ? "batch" : $"{name}_dim{axis}")).ToArray();
        _model.Graph.AddInput(new OnnxValueInfo(name, elementType, dims));
        return new GraphValue(this, name, elementType, (long[])shape.Clone());
    }

    /// <summary>
    /// Declares <paramref name="value"/> a graph output, renamed to <paramref name="name"/> when
    /// given: the producing node then writes that name directly, and handles to the old name keep
    /// working. Only a graph input or a value that is already an output gets an Identity copy.
    /// </summary>
    /// <returns>The output value (under its new name).</returns>
    public GraphValue Output(GraphValue value, string? name = null)
    {
        EnsureBuilding();
        var current = NameOf(value);
        var outputName = name ?? current;
        ArgumentException.ThrowIfNullOrWhiteSpace(outputName, nameof(name));
        bool isGraphInput = _model.Graph.AllInputs.Any(i => i.Name == current);
        bool isOutput = _model.Graph.Outputs.Any(o => o.Name == current);
        if (outputName != current)
        {
            if (isGraphInput || isOutput)
            {
                // A graph input or an existing output keeps its name; a copy gets the new one.
                ClaimValue(outputName);
                AddNode("Identity", outputName, outputName, [current]);
            }
            else
            {
                ClaimValue(outputName);
                _model.Graph.RenameValue(current, outputName);
                _renamedValues[current] = outputName;
            }
        }
        else if (isOutput)
        {
            throw new ArgumentException($"'{outputName}' is already a graph output", nameof(value));
        }
        var dims = value.Shape.Select((d, axis) => d >= 0 ? new OnnxDim(d, null) : new OnnxDim(null, axis == 0 ? "batch" : null));
        _model.Graph.AddOutput(new OnnxValueInfo(outputName, value.ElementType, dims));
        return new GraphValue(this, outputName, value.ElementType, [.. value.Shape]);
    }

    /// <summary>
    /// Finishes the model: checks it has an output and passes <see cref="OnnxModel.Validate"/>.
    /// The builder cannot be used afterwards.
    /// </summary>
    /// <exception cref="InvalidOperationException">No output was declared, or the builder already built.</exception>
    public OnnxModel Build()
    {
        EnsureBuilding();
        if (_model.Graph.Outputs.Count == 0)
            throw new InvalidOperationException($"graph '{_model.Graph.Name}' has no output; call Output(...) before Build()");
        if (_scopes.Count > 0)
            throw new InvalidOperationException($"scope '{string.Join(".", _scopes)}' is still open; dispose it before Build()");
        _built = true;
        _model.Validate().ThrowIfInvalid($"graph '{_model.Graph.Name}'");
        return _model;
    }

    /// <summary>
    /// Prefixes the names of the layers created until the returned handle is disposed, like a
    /// PyTorch submodule: inside <c>Scope("layer1.0")</c> a layer named <c>conv1</c> becomes
    /// <c>layer1.0.conv1</c>. Scopes nest.
    /// </summary>
    public IDisposable Scope(string name)
    {
        EnsureBuilding();
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _scopes.Add(name);
        return new ScopeHandle(this, _scopes.Count);
    }

    // ---- layers with weights -----------------------------------------------------------

    /// <summary>
    /// A 1-D ([N,C,L] input) or 2-D ([N,C,H,W] input) convolution with a square kernel, as
    /// <c>nn.Conv1d</c>/<c>nn.Conv2d</c>: weight [out, in/groups, k(, k)] and bias [out], both from
    /// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in/groups * k^d.
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernel">Kernel size along every spatial axis.</param>
    /// <param name="stride">Stride along every spatial axis.</param>
    /// <param name="padding">Zero padding at both ends of every spatial axis.</param>
    /// <param name="dilation">Dilation along every spatial axis.</param>
    /// <param name="groups">Channel groups; equal to the input channels for a depthwise convolution.</param>
    /// <param name="bias">Whether the layer has a bias (off before a BatchNorm).</param>
    /// <param name="name">The layer name; <c>conv</c>, <c>conv_1</c>, ... when null.</param>
    public GraphValue Conv(GraphValue x, int outChannels, int kernel, int stride = 1, int padding = 0, int dilation = 1,
        int groups = 1, bool bias = true, string? name = null)
    {
        var layer = BeginLayer(name, "conv");
        var input = NameOf(x);
        RequireFloat(x, layer, "Conv");
        RequireRank(x, layer, "Conv", "[N,C,L] or [N,C,H,W]", 3, 4);
        long inChannels = RequireKnown(x, 1, layer, "Conv", "channel");
        RequirePositive(layer, (nameof(outChannels), outChannels), (nameof(kernel), kernel), (nameof(stride), stride),
            (nameof(dilation), dilation), (nameof(groups), groups));
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, $"{layer}: padding must not be negative");
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"{layer}: groups ({groups}) must divide the input channels ({inChannels}) and the output channels ({outChannels})", nameof(groups));

        var outShape = new long[x.Rank];
        outShape[0] = x.Shape[0];
        outShape[1] = outChannels;
        for (int axis = 2; axis < x.Rank; axis++)
            outShape[axis] = SlidingWindowOutput(x.Shape[axis], kernel, stride, padding, dilation, layer, "Conv", x);

        int spatial = x.Rank - 2;
        long[] weightDims = [outChannels, inChannels / groups, .. Enumerable.Repeat((long)kernel, spatial)];
        long fanIn = inChannels / groups * (long)Math.Pow(kernel, spatial);
        double bound = 1.0 / Math.Sqrt(fanIn);
        var inputs = new List<string> { input, UniformInitializer($"{layer}.weight", weightDims, bound) };
        if (bias) inputs.Add(UniformInitializer($"{layer}.bias", [outChannels], bound));
        var node = AddNode("Conv", layer, layer, inputs);
        node.SetAttribute("kernel_shape", Enumerable.Repeat((long)kernel, spatial));
        node.SetAttribute("strides", Enumerable.Repeat((long)stride, spatial));
        node.SetAttribute("pads", Enumerable.Repeat((long)padding, 2 * spatial));
        node.SetAttribute("dilations", Enumerable.Repeat((long)dilation, spatial));
        node.SetAttribute("group", (long)groups);
        return Value(layer, OnnxDataType.Float, outShape);
    }

    /// <summary>
    /// Batch normalization over the channel axis 1 of [N,C], [N,C,L] or [N,C,H,W] (<c>nn.BatchNorm1d</c>/<c>2d</c>)
    /// in inference form: weight 1, bias 0, running_mean 0, running_var 1.
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="epsilon">Added to the variance, PyTorch's default.</param>
    /// <param name="momentum">
    /// In ONNX's convention, the weight of the old running statistic:
    /// running = running * momentum + batch * (1 - momentum). PyTorch's momentum 0.1 is ONNX's 0.9.
    /// </param>
    /// <param name="name">The layer name; <c>bn</c>, <c>bn_1</c>, ... when null.</param>
    public GraphValue BatchNorm(GraphValue x, float epsilon = 1e-5f, float momentum = 0.9f, string? name = null)
    {
        var layer = BeginLayer(name, "bn");
        var input = NameOf(x);
        RequireFloat(x, layer, "BatchNormalization");
        RequireRank(x, layer, "BatchNormalization", "[N,C], [N,C,L] or [N,C,H,W]", 2, 3, 4);
        long channels = RequireKnown(x, 1, layer, "BatchNormalization", "channel");
        if (!(epsilon > 0) || !float.IsFinite(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"{layer}: epsilon must be positive");
        if (!(momentum >= 0 && momentum <= 1))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, $"{layer}: momentum must be in [0, 1] (ONNX convention: 0.9 = PyTorch's 0.1)");
        var node = AddNode("BatchNormalization", layer, layer,
        [
            input,
            FilledInitializer($"{layer}.weight", [channels], 1f),
            FilledInitializer($"{layer}.bias", [channels], 0f),
            FilledInitializer($"{layer}.running_mean", [channels], 0f),
            FilledInitializer($"{layer}.running_var", [channels], 1f),
        ]);
        node.SetAttribute("epsilon", epsilon);
        node.SetAttribute("momentum", momentum);
        return Value(layer, OnnxDataType.Float, [.. x.Shape]);
    }

    /// <summary>
    /// A fully connected layer over the last axis, as <c>nn.Linear</c>: weight and bias from
    /// U(-1/sqrt(in), 1/sqrt(in)). A 2-D input [N,in] becomes <c>Gemm</c> (transB=1, weight
    /// [out,in] as in PyTorch); a 3-D or higher input [..., in] becomes <c>MatMul</c> with the
    /// weight stored transposed, [in,out] (as PyTorch's exporter does), plus <c>Add</c> for the bias.
    /// Both forms draw the same weights for the same seed and name.
    /// </summary>
    /// <param name="x">The input, [N,in] or [..., in].</param>
    /// <param name="outFeatures">Output features.</param>
    /// <param name="bias">Whether the layer has a bias.</param>
    /// <param name="name">The layer name; <c>linear</c>, <c>linear_1</c>, ... when null.</param>
    public GraphValue Linear(GraphValue x, int outFeatures, bool bias = true, string? name = null)
    {
        var layer = BeginLayer(name, "linear");
        var input = NameOf(x);
        RequireFloat(x, layer, "Linear");
        if (x.Rank < 2)
            throw new ArgumentException($"{layer}: Linear expects [N,features] or [...,features]; got {x} (Flatten first?)", nameof(x));
        long inFeatures = RequireKnown(x, x.Rank - 1, layer, "Linear", "feature");
        RequirePositive(layer, (nameof(outFeatures), outFeatures));
        double bound = 1.0 / Math.Sqrt(inFeatures);
        long[] outShape = [.. x.Shape.Take(x.Rank - 1), outFeatures];

        // Values are drawn in PyTorch's [out,in] order in both forms, so they do not depend on the input rank.
        var weight = new float[checked(outFeatures * (int)inFeatures)];
        ParameterRandom.FillUniform(weight, bound, Seed, $"{layer}.weight");
        if (x.Rank == 2)
        {
            var inputs = new List<string> { input, Initializer($"{layer}.weight", [outFeatures, inFeatures], weight) };
            if (bias) inputs.Add(UniformInitializer($"{layer}.bias", [outFeatures], bound));
            var gemm = AddNode("Gemm", layer, layer, inputs);
            gemm.SetAttribute("transB", 1L);
            return Value(layer, OnnxDataType.Float, outShape);
        }
        var transposed = new float[weight.Length];
        for (int o = 0; o < outFeatures; o++)
            for (int i = 0; i < inFeatures; i++)
                transposed[i * outFeatures + o] = weight[o * inFeatures + i];
        var weightName = Initializer($"{layer}.weight", [inFeatures, outFeatures], transposed);
        if (!bias)
        {
            AddNode("MatMul", layer, layer, [input, weightName]);
            return Value(layer, OnnxDataType.Float, outShape);
        }
        var product = $"{layer}.matmul";
        ClaimValue(product);
        AddNode("MatMul", product, product, [input, weightName]);
        AddNode("Add", layer, layer, [product, UniformInitializer($"{layer}.bias", [outFeatures], bound)]);
        return Value(layer, OnnxDataType.Float, outShape);
    }

    /// <summary>
    /// A lookup table, as <c>nn.Embedding</c>: weight [numEmbeddings, embeddingDim] from N(0, 1),
    /// read with <c>Gather</c> on integer ids. Output shape: ids shape + [embeddingDim].
    /// </summary>
    /// <param name="ids">Int64 (or int32) ids in [0, numEmbeddings).</param>
    /// <param name="numEmbeddings">Rows of the table (vocabulary size, number of users or items).</param>
    /// <param name="embeddingDim">Width of each row.</param>
    /// <param name="name">The layer name; <c>embedding</c>, <c>embedding_1</c>, ... when null.</param>
    /// <param name="std">
    /// The standard deviation of the initial rows: 1 as in PyTorch; recommenders start from small
    /// rows (NCF uses 0.01) so that initial dot products are near zero.
    /// </param>
    public GraphValue Embedding(GraphValue ids, int numEmbeddings, int embeddingDim, string? name = null, float std = 1f)
    {
        var layer = BeginLayer(name, "embedding");
        var input = NameOf(ids);
        if (ids.ElementType is not (OnnxDataType.Int64 or OnnxDataType.Int32))
            throw new ArgumentException($"{layer}: Embedding reads int64 or int32 ids; got {ids}", nameof(ids));
        RequirePositive(layer, (nameof(numEmbeddings), numEmbeddings), (nameof(embeddingDim), embeddingDim));
        if (!(std > 0) || !float.IsFinite(std)) throw new ArgumentOutOfRangeException(nameof(std), std, $"{layer}: the initial standard deviation must be positive");
        var table = new float[checked(numEmbeddings * embeddingDim)];
        ParameterRandom.FillStandardNormal(table, Seed, $"{layer}.weight");
        if (std != 1f) for (int i = 0; i < table.Length; i++) table[i] *= std;
        var weight = Initializer($"{layer}.weight", [numEmbeddings, embeddingDim], table);
        AddNode("Gather", layer, layer, [weight, input]).SetAttribute("axis", 0L);
        return Value(layer, OnnxDataType.Float, [.. ids.Shape, embeddingDim]);
    }

    /// <summary>
    /// Layer normalization over the last axis (<c>LayerNormalization</c>, opset 17), as
    /// <c>nn.LayerNorm(features)</c>: weight 1, bias 0.
    /// </summary>
    /// <param name="x">The input, [..., features].</param>
    /// <param name="epsilon">Added to the variance, PyTorch's default.</param>
    /// <param name="name">The layer name; <c>ln</c>, <c>ln_1</c>, ... when null.</param>
    public GraphValue LayerNorm(GraphValue x, float epsilon = 1e-5f, string? name = null)
    {
        var layer = BeginLayer(name, "ln");
        var input = NameOf(x);
        RequireFloat(x, layer, "LayerNormalization");
        if (x.Rank < 1) throw new ArgumentException($"{layer}: LayerNormalization needs at least one axis; got {x}", nameof(x));
        long features = RequireKnown(x, x.Rank - 1, layer, "LayerNormalization", "feature");
        if (!(epsilon > 0) || !float.IsFinite(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"{layer}: epsilon must be positive");
        var node = AddNode("LayerNormalization", layer, layer,
            [input, FilledInitializer($"{layer}.weight", [features], 1f), FilledInitializer($"{layer}.bias", [features], 0f)]);
        node.SetAttribute("axis", -1L);
        node.SetAttribute("epsilon", epsilon);
        return Value(layer, OnnxDataType.Float, [.. x.Shape]);
    }

    // ---- activations -------------------------------------------------------------------

    /// <summary>max(x, 0).</summary>
    /// <param name="x">The input.</param>
    /// <param name="name">The layer name; <c>relu</c>, <c>relu_1</c>, ... when null.</param>
    public GraphValue Relu(GraphValue x, string? name = null) => Elementwise("Relu", "relu", x, name);

    /// <summary>min(max(x, 0), 6), as <c>nn.ReLU6</c>: <c>Clip</c> with the bounds as inputs (opset 11+).</summary>
    /// <param name="x">The input.</param>
    /// <param name="name">The layer name; <c>relu6</c>, <c>relu6_1</c>, ... when null.</param>
    public GraphValue Relu6(GraphValue x, string? name = null)
    {
        var layer = BeginLayer(name, "relu6");
        var input = NameOf(x);
        RequireFloat(x, layer, "Clip");
        AddNode("Clip", layer, layer, [input, ScalarConstant(0f), ScalarConstant(6f)]);
        return Value(layer, x.ElementType, [.. x.Shape]);
    }

    /// <summary>
    /// The exact (erf) GELU, as <c>nn.GELU()</c>: x * 0.5 * (1 + erf(x / sqrt 2)). ONNX has a
    /// <c>Gelu</c> operator only from opset 20, so this is Div, Erf, Add, Mul, Mul, as PyTorch
    /// exports it at opset 17.
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="name">The layer name; <c>gelu</c>, <c>gelu_1</c>, ... when null.</param>
    public GraphValue Gelu(GraphValue x, string? name = null)
    {
        var layer = BeginLayer(name, "gelu");
        var input = NameOf(x);
        RequireFloat(x, layer, "Gelu");
        var scaled = AddHelper(layer, "div", "Div", [input, ScalarConstant(MathF.Sqrt(2f))]);
        var erf = AddHelper(layer, "erf", "Erf", [scaled]);
        var onePlus = AddHelper(layer, "add", "Add", [erf, ScalarConstant(1f)]);
        var product = AddHelper(layer, "mul", "Mul", [input, onePlus]);
        AddNode("Mul", layer, layer, [product, ScalarConstant(0.5f)]);
        return Value(layer, x.ElementType, [.. x.Shape]);
    }

    /// <summary>1 / (1 + exp(-x)).</summary>
    /// <param name="x">The input.</param>
    /// <param name="name">The layer name; <c>sigmoid</c>, <c>sigmoid_1</c>, ... when null.</param>
    public GraphValue Sigmoid(GraphValue x, string? name = null) => Elementwise("Sigmoid", "sigmoid", x, name);

    /// <summary>tanh(x).</summary>
    /// <param name="x">The input.</param>
    /// <param name="name">The layer name; <c>tanh</c>, <c>tanh_1</c>, ... when null.</param>
    public GraphValue Tanh(GraphValue x, string? name = null) => Elementwise("Tanh", "tanh", x, name);

    /// <summary>Softmax along <paramref name="axis"/> (opset 13+ semantics: that axis alone).</summary>
    /// <param name="x">The input.</param>
    /// <param name="axis">The axis the probabilities sum to 1 along; negative counts from the end.</param>
    /// <param name="name">The layer name; <c>softmax</c>, <c>softmax_1</c>, ... when null.</param>
    public GraphValue Softmax(GraphValue x, int axis = -1, string? name = null)
    {
        var layer = BeginLayer(name, "softmax");
        var input = NameOf(x);
        RequireFloat(x, layer, "Softmax");
        int normalized = NormalizeAxis(axis, x, layer);
        AddNode("Softmax", layer, layer, [input]).SetAttribute("axis", (long)normalized);
        return Value(layer, x.ElementType, [.. x.Shape]);
    }

    /// <summary>
    /// Dropout with probability <paramref name="ratio"/> (a <c>Dropout</c> node, opset 12+ form
    /// with the ratio as an input). An identity at inference; a trainer applies it.
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="ratio">Probability of zeroing an element, in [0, 1).</param>
    /// <param name="name">The layer name; <c>dropout</c>, <c>dropout_1</c>, ... when null.</param>
    public GraphValue Dropout(GraphValue x, float ratio = 0.5f, string? name = null)
    {
        var layer = BeginLayer(name, "dropout");
        var input = NameOf(x);
        RequireFloat(x, layer, "Dropout");
        if (!(ratio >= 0f && ratio < 1f))
            throw new ArgumentOutOfRangeException(nameof(ratio), ratio, $"{layer}: the dropout ratio must be in [0, 1)");
        AddNode("Dropout", layer, layer, [input, ScalarConstant(ratio)]);
        return Value(layer, x.ElementType, [.. x.Shape]);
    }

    // ---- pooling and shape -------------------------------------------------------------

    /// <summary>Max pooling over [N,C,L] or [N,C,H,W] with a square window, as <c>nn.MaxPool1d/2d</c>.</summary>
    /// <param name="x">The input.</param>
    /// <param name="kernel">Window size along every spatial axis.</param>
    /// <param name="stride">Step; the window size when null (PyTorch's default).</param>
    /// <param name="padding">Padding at both ends, at most half the window.</param>
    /// <param name="name">The layer name; <c>maxpool</c>, <c>maxpool_1</c>, ... when null.</param>
    public GraphValue MaxPool(GraphValue x, int kernel, int? stride = null, int padding = 0, string? name = null) =>
        Pool("MaxPool", "maxpool", x, kernel, stride, padding, name);

    /// <summary>
    /// Average pooling over [N,C,L] or [N,C,H,W] with a square window, as <c>nn.AvgPool1d/2d</c>
    /// (padding counts in the average, PyTorch's <c>count_include_pad=True</c>).
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="kernel">Window size along every spatial axis.</param>
    /// <param name="stride">Step; the window size when null (PyTorch's default).</param>
    /// <param name="padding">Padding at both ends, at most half the window.</param>
    /// <param name="name">The layer name; <c>avgpool</c>, <c>avgpool_1</c>, ... when null.</param>
    public GraphValue AveragePool(GraphValue x, int kernel, int? stride = null, int padding = 0, string? name = null) =>
        Pool("AveragePool", "avgpool", x, kernel, stride, padding, name);

    /// <summary>The mean over every spatial axis: [N,C,H,W] to [N,C,1,1] (<c>nn.AdaptiveAvgPool2d(1)</c>).</summary>
    /// <param name="x">The input, rank 3 or more.</param>
    /// <param name="name">The layer name; <c>avgpool</c>, <c>avgpool_1</c>, ... when null.</param>
    public GraphValue GlobalAveragePool(GraphValue x, string? name = null)
    {
        var layer = BeginLayer(name, "avgpool");
        var input = NameOf(x);
        RequireFloat(x, layer, "GlobalAveragePool");
        if (x.Rank < 3) throw new ArgumentException($"{layer}: GlobalAveragePool expects [N,C,spatial...]; got {x}", nameof(x));
        AddNode("GlobalAveragePool", layer, layer, [input]);
        return Value(layer, x.ElementType, [x.Shape[0], x.Shape[1], .. Enumerable.Repeat(1L, x.Rank - 2)]);
    }

    /// <summary>Flattens to 2-D: the axes before <paramref name="axis"/> into the first, the rest into the second.</summary>
    /// <param name="x">The input.</param>
    /// <param name="axis">Where the second output axis starts; 1 keeps the batch axis, as <c>nn.Flatten</c>.</param>
    /// <param name="name">The layer name; <c>flatten</c>, <c>flatten_1</c>, ... when null.</param>
    public GraphValue Flatten(GraphValue x, int axis = 1, string? name = null)
    {
        var layer = BeginLayer(name, "flatten");
        var input = NameOf(x);
        if (axis < 0) axis += x.Rank;
        if (axis < 0 || axis > x.Rank)
            throw new ArgumentOutOfRangeException(nameof(axis), axis, $"{layer}: axis is outside [0, {x.Rank}] for {x}");
        AddNode("Flatten", layer, layer, [input]).SetAttribute("axis", (long)axis);
        return Value(layer, x.ElementType, [Product(x.Shape.Take(axis)), Product(x.Shape.Skip(axis))]);
    }

    /// <summary>
    /// Reshapes (ONNX <c>Reshape</c>, shape stored as an int64 initializer <c>{layer}.shape</c>):
    /// 0 copies the input's dimension at that position, one -1 is inferred.
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="shape">The target shape, e.g. <c>[0, 0, 4, 16]</c> to split heads.</param>
    /// <param name="name">The layer name; <c>reshape</c>, <c>reshape_1</c>, ... when null.</param>
    public GraphValue Reshape(GraphValue x, long[] shape, string? name = null)
    {
        var layer = BeginLayer(name, "reshape");
        var input = NameOf(x);
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Count(d => d == -1) > 1 || shape.Any(d => d < -1))
            throw new ArgumentException($"{layer}: at most one -1 and no other negative size allowed; got {GraphValue.FormatShape(shape)}", nameof(shape));
        var outShape = new long[shape.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 0 && i >= x.Rank)
                throw new ArgumentException($"{layer}: 0 at position {i} copies a dimension {x} does not have", nameof(shape));
            outShape[i] = shape[i] == 0 ? x.Shape[i] : shape[i];
        }
        int inferred = Array.IndexOf(shape, -1L);
        long inputSize = Product(x.Shape);
        if (inferred >= 0 && inputSize >= 0)
        {
            long known = Product(outShape.Where((_, i) => i != inferred));
            if (known > 0)
            {
                if (inputSize % known != 0)
                    throw new ArgumentException($"{layer}: {x} cannot be reshaped to {GraphValue.FormatShape(shape)}", nameof(shape));
                outShape[inferred] = inputSize / known;
            }
        }
        else if (inferred < 0 && inputSize >= 0 && Product(outShape) >= 0 && inputSize != Product(outShape))
        {
            throw new ArgumentException($"{layer}: {x} has {inputSize} elements, shape {GraphValue.FormatShape(shape)} holds {Product(outShape)}", nameof(shape));
        }
        var shapeName = $"{layer}.shape";
        ClaimValue(shapeName);
        _model.Graph.AddInitializer(OnnxTensor.FromInt64s(shapeName, [shape.Length], shape));
        AddNode("Reshape", layer, layer, [input, shapeName]);
        return Value(layer, x.ElementType, outShape);
    }

    /// <summary>Permutes the axes: output axis i is input axis <paramref name="permutation"/>[i].</summary>
    /// <param name="x">The input.</param>
    /// <param name="permutation">A permutation of 0 .. rank - 1.</param>
    /// <param name="name">The layer name; <c>transpose</c>, <c>transpose_1</c>, ... when null.</param>
    public GraphValue Transpose(GraphValue x, int[] permutation, string? name = null)
    {
        var layer = BeginLayer(name, "transpose");
        var input = NameOf(x);
        ArgumentNullException.ThrowIfNull(permutation);
        if (permutation.Length != x.Rank || permutation.Order().Where((p, i) => p != i).Any())
            throw new ArgumentException($"{layer}: [{string.Join(",", permutation)}] is not a permutation of the {x.Rank} axes of {x}", nameof(permutation));
        AddNode("Transpose", layer, layer, [input]).SetAttribute("perm", permutation.Select(p => (long)p));
        return Value(layer, x.ElementType, permutation.Select(p => x.Shape[p]).ToArray());
    }

    /// <summary>The mean over <paramref name="axes"/> (opset 17: axes as an attribute), e.g. mean pooling over a sequence.</summary>
    /// <param name="x">The input.</param>
    /// <param name="axes">The axes to average; negative count from the end.</param>
    /// <param name="keepDims">Whether the averaged axes stay as size 1.</param>
    /// <param name="name">The layer name; <c>mean</c>, <c>mean_1</c>, ... when null.</param>
    public GraphValue ReduceMean(GraphValue x, int[] axes, bool keepDims = false, string? name = null)
    {
        var layer = BeginLayer(name, "mean");
        var input = NameOf(x);
        RequireFloat(x, layer, "ReduceMean");
        ArgumentNullException.ThrowIfNull(axes);
        if (axes.Length == 0) throw new ArgumentException($"{layer}: name at least one axis to average", nameof(axes));
        var normalized = axes.Select(a => NormalizeAxis(a, x, layer)).ToHashSet();
        if (normalized.Count != axes.Length) throw new ArgumentException($"{layer}: repeated axis in [{string.Join(",", axes)}]", nameof(axes));
        var node = AddNode("ReduceMean", layer, layer, [input]);
        node.SetAttribute("axes", normalized.Order().Select(a => (long)a));
        node.SetAttribute("keepdims", keepDims ? 1L : 0L);
        var outShape = keepDims
            ? x.Shape.Select((d, i) => normalized.Contains(i) ? 1 : d).ToArray()
            : x.Shape.Where((_, i) => !normalized.Contains(i)).ToArray();
        return Value(layer, x.ElementType, outShape);
    }

    /// <summary>The maximum over <paramref name="axes"/> (opset 17: axes as an attribute), e.g. max-over-time pooling.</summary>
    /// <param name="x">The input.</param>
    /// <param name="axes">The axes to reduce; negative count from the end.</param>
    /// <param name="keepDims">Whether the reduced axes stay as size 1.</param>
    /// <param name="name">The layer name; <c>max</c>, <c>max_1</c>, ... when null.</param>
    public GraphValue ReduceMax(GraphValue x, int[] axes, bool keepDims = false, string? name = null)
    {
        var layer = BeginLayer(name, "max");
        var input = NameOf(x);
        RequireFloat(x, layer, "ReduceMax");
        var normalized = ReductionAxes(x, axes, layer);
        var node = AddNode("ReduceMax", layer, layer, [input]);
        node.SetAttribute("axes", normalized.Select(a => (long)a));
        node.SetAttribute("keepdims", keepDims ? 1L : 0L);
        return Value(layer, x.ElementType, ReducedShape(x, normalized, keepDims));
    }

    /// <summary>The sum over <paramref name="axes"/> (opset 13+: axes as an int64 input <c>{layer}.axes</c>).</summary>
    /// <param name="x">The input.</param>
    /// <param name="axes">The axes to sum; negative count from the end.</param>
    /// <param name="keepDims">Whether the summed axes stay as size 1.</param>
    /// <param name="name">The layer name; <c>sum</c>, <c>sum_1</c>, ... when null.</param>
    public GraphValue ReduceSum(GraphValue x, int[] axes, bool keepDims = false, string? name = null)
    {
        var layer = BeginLayer(name, "sum");
        var input = NameOf(x);
        RequireFloat(x, layer, "ReduceSum");
        var normalized = ReductionAxes(x, axes, layer);
        var axesName = Int64Initializer($"{layer}.axes", normalized.Select(a => (long)a).ToArray());
        AddNode("ReduceSum", layer, layer, [input, axesName]).SetAttribute("keepdims", keepDims ? 1L : 0L);
        return Value(layer, x.ElementType, ReducedShape(x, normalized, keepDims));
    }

    /// <summary>Inserts size-1 axes (opset 13+: axes as an int64 input <c>{layer}.axes</c>), e.g. [B,S] to [B,S,1].</summary>
    /// <param name="x">The input.</param>
    /// <param name="axes">Positions of the new axes in the output, non-negative.</param>
    /// <param name="name">The layer name; <c>unsqueeze</c>, <c>unsqueeze_1</c>, ... when null.</param>
    public GraphValue Unsqueeze(GraphValue x, int[] axes, string? name = null)
    {
        var layer = BeginLayer(name, "unsqueeze");
        var input = NameOf(x);
        ArgumentNullException.ThrowIfNull(axes);
        int rank = x.Rank + axes.Length;
        if (axes.Length == 0 || axes.Any(a => a < 0 || a >= rank) || axes.Distinct().Count() != axes.Length)
            throw new ArgumentException($"{layer}: [{string.Join(",", axes)}] are not distinct output axes of a rank-{rank} result", nameof(axes));
        var shape = new List<long>(x.Shape);
        foreach (int a in axes.Order()) shape.Insert(a, 1);
        AddNode("Unsqueeze", layer, layer, [input, Int64Initializer($"{layer}.axes", axes.Select(a => (long)a).ToArray())]);
        return Value(layer, x.ElementType, shape.ToArray());
    }

    /// <summary>
    /// A constant int64 vector stored as an initializer (integer initializers are never trained),
    /// e.g. the position ids 0 .. S − 1 that a position embedding looks up.
    /// </summary>
    /// <param name="name">The initializer name (scoped like a layer).</param>
    /// <param name="values">The values.</param>
    public GraphValue Int64Constant(string name, long[] values)
    {
        var layer = BeginLayer(name, "const");
        ArgumentNullException.ThrowIfNull(values);
        _model.Graph.AddInitializer(OnnxTensor.FromInt64s(layer, [values.Length], values));
        return Value(layer, OnnxDataType.Int64, [values.Length]);
    }

    /// <summary>
    /// 1 where an id is not <paramref name="padId"/>, 0 where it is, as float32 of the ids' shape:
    /// Equal, Not, Cast. Masked pooling and attention use it so padding does not dilute a text.
    /// </summary>
    /// <param name="ids">Int64 token ids.</param>
    /// <param name="padId">The padding id.</param>
    /// <param name="name">The layer name; <c>mask</c>, <c>mask_1</c>, ... when null.</param>
    public GraphValue PaddingMask(GraphValue ids, long padId = 0, string? name = null)
    {
        var layer = BeginLayer(name, "mask");
        var input = NameOf(ids);
        if (ids.ElementType != OnnxDataType.Int64)
            throw new ArgumentException($"{layer}: PaddingMask reads int64 ids; got {ids}", nameof(ids));
        var padName = Int64Initializer($"{layer}.pad_id", [padId], scalar: true);
        var isPad = AddHelper(layer, "equal", "Equal", [input, padName]);
        var isToken = AddHelper(layer, "not", "Not", [isPad]);
        AddNode("Cast", layer, layer, [isToken]).SetAttribute("to", (long)OnnxDataType.Float);
        return Value(layer, OnnxDataType.Float, [.. ids.Shape]);
    }

    /// <summary>
    /// The mean of <paramref name="x"/> [B,S,D] over the positions where <paramref name="mask"/>
    /// [B,S] is 1: sum(x·mask) / max(sum(mask), 1), so an all-padding row gives zeros, not NaN.
    /// </summary>
    /// <param name="x">Per-position features [B,S,D].</param>
    /// <param name="mask">1 for real positions, 0 for padding, [B,S].</param>
    /// <param name="name">The layer name; <c>masked_mean</c>, <c>masked_mean_1</c>, ... when null.</param>
    public GraphValue MaskedMean(GraphValue x, GraphValue mask, string? name = null)
    {
        var layer = BeginLayer(name, "masked_mean");
        var input = NameOf(x);
        var maskName = NameOf(mask);
        RequireFloat(x, layer, "MaskedMean");
        RequireFloat(mask, layer, "MaskedMean");
        if (x.Rank != 3 || mask.Rank != 2)
            throw new ArgumentException($"{layer}: MaskedMean takes features [B,S,D] and a mask [B,S]; got {x} and {mask}");
        var expanded = AddHelper(layer, "unsqueeze", "Unsqueeze", [maskName, Int64Initializer($"{layer}.unsqueeze_axes", [2])]);
        var masked = AddHelper(layer, "mul", "Mul", [input, expanded]);
        var axis = Int64Initializer($"{layer}.axes", [1]);
        var sum = AddHelper(layer, "sum", "ReduceSum", [masked, axis]);
        _model.Graph.FindProducer(sum)!.SetAttribute("keepdims", 0L);
        var count = AddHelper(layer, "count", "ReduceSum", [maskName, axis]);
        _model.Graph.FindProducer(count)!.SetAttribute("keepdims", 1L);
        var atLeastOne = AddHelper(layer, "clamp", "Max", [count, ScalarConstant(1f)]);
        AddNode("Div", layer, layer, [sum, atLeastOne]);
        return Value(layer, OnnxDataType.Float, [x.Shape[0], x.Shape[2]]);
    }

    /// <summary>
    /// The additive attention bias of a padding mask [B,S]: 0 for real keys and −10,000 for
    /// padding, shaped [B,1,1,S] to broadcast over heads and queries, so softmax gives padded keys
    /// no weight (−10,000 rather than −∞ keeps an all-padding row finite).
    /// </summary>
    /// <param name="mask">1 for real positions, 0 for padding, [B,S].</param>
    /// <param name="name">The layer name; <c>attention_bias</c>, ... when null.</param>
    public GraphValue AttentionMaskBias(GraphValue mask, string? name = null)
    {
        var layer = BeginLayer(name, "attention_bias");
        var maskName = NameOf(mask);
        RequireFloat(mask, layer, "AttentionMaskBias");
        if (mask.Rank != 2) throw new ArgumentException($"{layer}: the mask must be [B,S]; got {mask}", nameof(mask));
        var shifted = AddHelper(layer, "sub", "Sub", [maskName, ScalarConstant(1f)]);
        var scaled = AddHelper(layer, "mul", "Mul", [shifted, ScalarConstant(10_000f)]);
        AddNode("Unsqueeze", layer, layer, [scaled, Int64Initializer($"{layer}.axes", [1, 2])]);
        return Value(layer, OnnxDataType.Float, [mask.Shape[0], 1, 1, mask.Shape[1]]);
    }

    // ---- combining values --------------------------------------------------------------

    /// <summary>Element-wise sum with broadcasting, e.g. a residual connection.</summary>
    /// <param name="a">The first operand.</param>
    /// <param name="b">The second operand.</param>
    /// <param name="name">The layer name; <c>add</c>, <c>add_1</c>, ... when null.</param>
    public GraphValue Add(GraphValue a, GraphValue b, string? name = null) => Binary("Add", "add", a, b, name);

    /// <summary>Element-wise product with broadcasting (e.g. gating, NCF's generalized matrix factorization).</summary>
    /// <param name="a">The first operand.</param>
    /// <param name="b">The second operand.</param>
    /// <param name="name">The layer name; <c>mul</c>, <c>mul_1</c>, ... when null.</param>
    public GraphValue Mul(GraphValue a, GraphValue b, string? name = null) => Binary("Mul", "mul", a, b, name);

    /// <summary>Adds a trained bias <c>{layer}.bias</c> over the last axis, initialized to 0 (e.g. a recommender's global bias).</summary>
    /// <param name="x">The input, [..., features].</param>
    /// <param name="name">The layer name; <c>bias</c>, <c>bias_1</c>, ... when null.</param>
    public GraphValue AddBias(GraphValue x, string? name = null)
    {
        var layer = BeginLayer(name, "bias");
        var input = NameOf(x);
        RequireFloat(x, layer, "Add");
        long features = RequireKnown(x, x.Rank - 1, layer, "Add", "feature");
        AddNode("Add", layer, layer, [input, FilledInitializer($"{layer}.bias", [features], 0f)]);
        return Value(layer, x.ElementType, [.. x.Shape]);
    }

    /// <summary>Multiplies by a constant, e.g. attention scores by 1/sqrt(head size).</summary>
    /// <param name="x">The input.</param>
    /// <param name="factor">The constant factor.</param>
    /// <param name="name">The layer name; <c>scale</c>, <c>scale_1</c>, ... when null.</param>
    public GraphValue Scale(GraphValue x, float factor, string? name = null)
    {
        var layer = BeginLayer(name, "scale");
        var input = NameOf(x);
        RequireFloat(x, layer, "Mul");
        if (!float.IsFinite(factor)) throw new ArgumentOutOfRangeException(nameof(factor), factor, $"{layer}: the factor must be finite");
        AddNode("Mul", layer, layer, [input, ScalarConstant(factor)]);
        return Value(layer, x.ElementType, [.. x.Shape]);
    }

    /// <summary>Matrix product with NumPy semantics (batched over leading axes), e.g. attention scores.</summary>
    /// <param name="a">[..., n, k].</param>
    /// <param name="b">[..., k, m].</param>
    /// <param name="name">The layer name; <c>matmul</c>, <c>matmul_1</c>, ... when null.</param>
    public GraphValue MatMul(GraphValue a, GraphValue b, string? name = null)
    {
        var layer = BeginLayer(name, "matmul");
        var left = NameOf(a);
        var right = NameOf(b);
        RequireFloat(a, layer, "MatMul");
        RequireFloat(b, layer, "MatMul");
        if (a.Rank < 2 || b.Rank < 2)
            throw new ArgumentException($"{layer}: MatMul here needs operands of rank 2 or more; got {a} and {b}");
        long k1 = a.Shape[^1], k2 = b.Shape[^2];
        if (k1 >= 0 && k2 >= 0 && k1 != k2)
            throw new ArgumentException($"{layer}: inner dimensions differ: {a} times {b}");
        var batch = BroadcastShape(a.Shape.Take(a.Rank - 2).ToArray(), b.Shape.Take(b.Rank - 2).ToArray(), layer, a, b);
        AddNode("MatMul", layer, layer, [left, right]);
        return Value(layer, a.ElementType, [.. batch, a.Shape[^2], b.Shape[^1]]);
    }

    /// <summary>Joins values along <paramref name="axis"/>; the other dimensions must agree.</summary>
    /// <param name="values">Two or more values of the same rank and element type.</param>
    /// <param name="axis">The joining axis; negative counts from the end.</param>
    /// <param name="name">The layer name; <c>concat</c>, <c>concat_1</c>, ... when null.</param>
    public GraphValue Concat(IReadOnlyList<GraphValue> values, int axis, string? name = null)
    {
        var layer = BeginLayer(name, "concat");
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count < 2) throw new ArgumentException($"{layer}: Concat needs at least two values", nameof(values));
        var inputs = values.Select(NameOf).ToList();
        var first = values[0];
        int normalized = NormalizeAxis(axis, first, layer);
        if (values.Any(v => v.Rank != first.Rank || v.ElementType != first.ElementType))
            throw new ArgumentException($"{layer}: Concat needs values of one rank and element type; got {string.Join(", ", values)}", nameof(values));
        var outShape = new long[first.Rank];
        for (int i = 0; i < first.Rank; i++)
        {
            if (i == normalized)
            {
                outShape[i] = values.Any(v => v.Shape[i] < 0) ? GraphValue.DynamicDimension : values.Sum(v => v.Shape[i]);
                continue;
            }
            var known = values.Select(v => v.Shape[i]).Where(d => d >= 0).Distinct().ToList();
            if (known.Count > 1)
                throw new ArgumentException($"{layer}: Concat along axis {normalized}, but axis {i} differs: {string.Join(", ", values)}", nameof(values));
            outShape[i] = known.Count == 1 ? known[0] : GraphValue.DynamicDimension;
        }
        AddNode("Concat", layer, layer, inputs).SetAttribute("axis", (long)normalized);
        return Value(layer, first.ElementType, outShape);
    }

    // ---- internals ---------------------------------------------------------------------

    private GraphValue Elementwise(string opType, string kind, GraphValue x, string? name)
    {
        var layer = BeginLayer(name, kind);
        var input = NameOf(x);
        RequireFloat(x, layer, opType);
        AddNode(opType, layer, layer, [input]);
        return Value(layer, x.ElementType, [.. x.Shape]);
    }

    private GraphValue Binary(string opType, string kind, GraphValue a, GraphValue b, string? name)
    {
        var layer = BeginLayer(name, kind);
        var left = NameOf(a);
        var right = NameOf(b);
        if (a.ElementType != b.ElementType)
            throw new ArgumentException($"{layer}: {opType} needs one element type; got {a} and {b}");
        var shape = BroadcastShape([.. a.Shape], [.. b.Shape], layer, a, b);
        AddNode(opType, layer, layer, [left, right]);
        return Value(layer, a.ElementType, shape);
    }

    private GraphValue Pool(string opType, string kind, GraphValue x, int kernel, int? stride, int padding, string? name)
    {
        var layer = BeginLayer(name, kind);
        var input = NameOf(x);
        RequireFloat(x, layer, opType);
        RequireRank(x, layer, opType, "[N,C,L] or [N,C,H,W]", 3, 4);
        int step = stride ?? kernel;
        RequirePositive(layer, (nameof(kernel), kernel), (nameof(stride), step));
        if (padding < 0 || padding > kernel / 2)
            throw new ArgumentOutOfRangeException(nameof(padding), padding, $"{layer}: padding must be between 0 and half the window ({kernel / 2}), as in PyTorch");
        int spatial = x.Rank - 2;
        var outShape = new long[x.Rank];
        outShape[0] = x.Shape[0];
        outShape[1] = x.Shape[1];
        for (int axis = 2; axis < x.Rank; axis++)
            outShape[axis] = SlidingWindowOutput(x.Shape[axis], kernel, step, padding, 1, layer, opType, x);
        var node = AddNode(opType, layer, layer, [input]);
        node.SetAttribute("kernel_shape", Enumerable.Repeat((long)kernel, spatial));
        node.SetAttribute("strides", Enumerable.Repeat((long)step, spatial));
        node.SetAttribute("pads", Enumerable.Repeat((long)padding, 2 * spatial));
        if (opType == "AveragePool" && padding > 0) node.SetAttribute("count_include_pad", 1L);
        return Value(layer, x.ElementType, outShape);
    }

    private string AddHelper(string layer, string step, string opType, IReadOnlyList<string> inputs)
    {
        var output = $"{layer}.{step}";
        ClaimValue(output);
        AddNode(opType, output, output, inputs);
        return output;
    }

    private OnnxNode AddNode(string opType, string nodeName, string output, IEnumerable<string> inputs) =>
        _model.Graph.AddNode(new OnnxNode(opType, inputs, [output], nodeName));

    private GraphValue Value(string name, OnnxDataType type, long[] shape) => new(this, name, type, shape);

    /// <summary>A scalar float <c>Constant</c> node shared by every layer that needs the same value.</summary>
    private string ScalarConstant(float value)
    {
        int bits = BitConverter.SingleToInt32Bits(value);
        if (_scalarConstants.TryGetValue(bits, out var existing)) return existing;
        var name = "const_" + value.ToString("R", CultureInfo.InvariantCulture);
        ClaimValue(name);
        AddNode("Constant", name, name, []).SetAttribute("value", OnnxTensor.FromFloats(name, [], [value]));
        _scalarConstants[bits] = name;
        return name;
    }

    private string Int64Initializer(string name, long[] values, bool scalar = false)
    {
        ClaimValue(name);
        _model.Graph.AddInitializer(OnnxTensor.FromInt64s(name, scalar ? [] : [values.Length], values));
        return name;
    }

    private static int[] ReductionAxes(GraphValue x, int[] axes, string layer)
    {
        ArgumentNullException.ThrowIfNull(axes);
        if (axes.Length == 0) throw new ArgumentException($"{layer}: name at least one axis to reduce", nameof(axes));
        var normalized = axes.Select(a => NormalizeAxis(a, x, layer)).ToArray();
        if (normalized.Distinct().Count() != normalized.Length) throw new ArgumentException($"{layer}: repeated axis in [{string.Join(",", axes)}]", nameof(axes));
        return normalized.Order().ToArray();
    }

    private static long[] ReducedShape(GraphValue x, int[] axes, bool keepDims) => keepDims
        ? x.Shape.Select((d, i) => axes.Contains(i) ? 1 : d).ToArray()
        : x.Shape.Where((_, i) => !axes.Contains(i)).ToArray();

    private string UniformInitializer(string name, long[] dims, double bound)
    {
        var values = new float[checked((int)Product(dims))];
        ParameterRandom.FillUniform(values, bound, Seed, name);
        return Initializer(name, dims, values);
    }

    private string FilledInitializer(string name, long[] dims, float value)
    {
        var values = new float[checked((int)Product(dims))];
        Array.Fill(values, value);
        return Initializer(name, dims, values);
    }

    private string Initializer(string name, long[] dims, float[] values)
    {
        ClaimValue(name);
        _model.Graph.AddInitializer(OnnxTensor.FromFloats(name, dims, values));
        return name;
    }

    private string BeginLayer(string? name, string kind)
    {
        EnsureBuilding();
        var prefix = _scopes.Count == 0 ? "" : string.Join(".", _scopes) + ".";
        string layer;
        if (name is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name);
            layer = prefix + name;
            if (_layerNames.Contains(layer) || _valueNames.Contains(layer))
                throw new ArgumentException($"layer name '{layer}' is already used in this graph", nameof(name));
        }
        else
        {
            layer = prefix + kind;
            for (int i = 1; _layerNames.Contains(layer) || _valueNames.Contains(layer); i++) layer = $"{prefix}{kind}_{i}";
        }
        _layerNames.Add(layer);
        ClaimValue(layer);
        return layer;
    }

    private void ClaimValue(string name)
    {
        if (!_valueNames.Add(name))
            throw new ArgumentException($"the name '{name}' is already used by another value in this graph");
    }

    private string NameOf(GraphValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!ReferenceEquals(value.Owner, this))
            throw new ArgumentException($"'{value.Name}' belongs to another graph builder", nameof(value));
        var name = value.Name;
        while (_renamedValues.TryGetValue(name, out var renamed)) name = renamed;
        return name;
    }

    private void EnsureBuilding()
    {
        if (_built) throw new InvalidOperationException("this builder has already built its model; start a new OnnxGraphBuilder");
    }

    private void CloseScope(int depth)
    {
        if (_scopes.Count != depth)
            throw new InvalidOperationException($"scopes must close innermost first; '{string.Join(".", _scopes)}' is open");
        _scopes.RemoveAt(_scopes.Count - 1);
    }

    private static void RequireFloat(GraphValue x, string layer, string op)
    {
        if (x.ElementType != OnnxDataType.Float)
            throw new ArgumentException($"{layer}: {op} expects float32; got {x}", nameof(x));
    }

    private static void RequireRank(GraphValue x, string layer, string op, string expected, params int[] ranks)
    {
        if (!ranks.Contains(x.Rank))
            throw new ArgumentException($"{layer}: {op} expects {expected}; got {x}", nameof(x));
    }

    private static long RequireKnown(GraphValue x, int axis, string layer, string op, string what)
    {
        long size = x.Shape[axis];
        if (size < 0)
            throw new ArgumentException($"{layer}: {op} needs the {what} count (axis {axis}) to size its weights, but it is dynamic in {x}", nameof(x));
        return size;
    }

    private static void RequirePositive(string layer, params (string Name, int Value)[] arguments)
    {
        foreach (var (argument, value) in arguments)
            if (value <= 0) throw new ArgumentOutOfRangeException(argument, value, $"{layer}: {argument} must be positive");
    }

    private static int NormalizeAxis(int axis, GraphValue x, string layer)
    {
        int normalized = axis < 0 ? axis + x.Rank : axis;
        if (normalized < 0 || normalized >= x.Rank)
            throw new ArgumentOutOfRangeException(nameof(axis), axis, $"{layer}: axis {axis} is outside {x}");
        return normalized;
    }

    private static long SlidingWindowOutput(long size, int kernel, int stride, int padding, int dilation, string layer, string op, GraphValue x)
    {
        if (size < 0) return GraphValue.DynamicDimension;
        long span = (long)dilation * (kernel - 1) + 1;
        long padded = size + 2L * padding;
        if (padded < span)
            throw new ArgumentException($"{layer}: the {op} window ({span} wide after dilation) is larger than the padded input ({padded}) of {x}");
        return (padded - span) / stride + 1;
    }

    /// <summary>The product of the dimensions, or -1 when any is dynamic.</summary>
    private static long Product(IEnumerable<long> dims)
    {
        long product = 1;
        foreach (var d in dims)
        {
            if (d < 0) return GraphValue.DynamicDimension;
            product = checked(product * d);
        }
        return product;
    }

    private static long[] BroadcastShape(long[] a, long[] b, string layer, GraphValue left, GraphValue right)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            long db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da == 1) result[i] = db;
            else if (db == 1) result[i] = da;
            else if (da < 0) result[i] = db;
            else if (db < 0 || da == db) result[i] = da;
            else throw new ArgumentException($"{layer}: shapes do not broadcast: {left} and {right}");
        }
        return result;
    }

    private sealed class ScopeHandle(OnnxGraphBuilder builder, int depth) : IDisposable
    {
        private bool _closed;

        public void Dispose()
        {
            if (_closed) return;
            builder.CloseScope(depth);
            _closed = true;
        }
    }
}
