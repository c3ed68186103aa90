using Whittle.Onnx;
using Whittle.Pruning;

namespace Whittle.Tests.Pruning;

/// <summary>
/// Builds small ONNX graphs op by op with random weights (and random BatchNorm statistics, so
/// that nothing is trivially zero), for the dependency patterns the channel slicers handle.
/// </summary>
internal sealed class PruningGraphKit
{
    private readonly OnnxModel _model = OnnxModel.Create("kit", 17);
    private readonly Random _random;
    private int _counter;

    public PruningGraphKit(int seed, long[] inputShape)
    {
        _random = new Random(seed);
        _model.Graph.AddInput(new OnnxValueInfo("input", OnnxDataType.Float, inputShape.Select((d, i) => i == 0 ? new OnnxDim(null, "batch") : new OnnxDim(d, null))));
    }

    public string Conv(string x, string name, int inChannels, int outChannels, int kernel = 3, int group = 1, bool bias = true)
    {
        var inputs = new List<string> { x, Weight($"{name}.weight", [outChannels, inChannels / group, kernel, kernel]) };
        if (bias) inputs.Add(Weight($"{name}.bias", [outChannels]));
        var node = Node("Conv", name, inputs);
        node.SetAttribute("pads", [kernel / 2, kernel / 2, kernel / 2, kernel / 2]);
        node.SetAttribute("group", (long)group);
        return name;
    }

    public string BatchNorm(string x, string name, int channels)
    {
        Node("BatchNormalization", name, [x, Weight($"{name}.weight", [channels]), Weight($"{name}.bias", [channels]),
            Weight($"{name}.running_mean", [channels]), Positive($"{name}.running_var", channels)]);
        return name;
    }

    public string Relu(string x) => Unary("Relu", x);

    public string GlobalAveragePool(string x) => Unary("GlobalAveragePool", x);

    public string MaxPool(string x)
    {
        var name = Unary("MaxPool", x);
        _model.Graph.FindNode(name)!.SetAttribute("kernel_shape", [2L, 2L]);
        _model.Graph.FindNode(name)!.SetAttribute("strides", [2L, 2L]);
        return name;
    }

    public string Flatten(string x) => Unary("Flatten", x);

    public string Add(string a, string b) => Node("Add", $"add{_counter++}", [a, b]).Outputs[0];

    public string Concat(params string[] xs)
    {
        var node = Node("Concat", $"concat{_counter++}", xs);
        node.SetAttribute("axis", 1L);
        return node.Outputs[0];
    }

    public string[] Split(string x, long[] sizes)
    {
        var name = $"split{_counter++}";
        _model.Graph.AddInitializer(OnnxTensor.FromInt64s($"{name}.sizes", [sizes.Length], sizes));
        var outputs = sizes.Select((_, i) => $"{name}_{i}").ToArray();
        var node = new OnnxNode("Split", [x, $"{name}.sizes"], outputs, name);
        node.SetAttribute("axis", 1L);
        _model.Graph.AddNode(node);
        return outputs;
    }

    public string Reshape(string x, long[] shape)
    {
        var name = $"reshape{_counter++}";
        _model.Graph.AddInitializer(OnnxTensor.FromInt64s($"{name}.shape", [shape.Length], shape));
        return Node("Reshape", name, [x, $"{name}.shape"]).Outputs[0];
    }

    public string Gemm(string x, string name, int inFeatures, int outFeatures)
    {
        var node = Node("Gemm", name, [x, Weight($"{name}.weight", [outFeatures, inFeatures]), Weight($"{name}.bias", [outFeatures])]);
        node.SetAttribute("transB", 1L);
        return name;
    }

    public string MatMul(string x, string name, int inFeatures, int outFeatures) =>
        Node("MatMul", name, [x, Weight($"{name}.weight", [inFeatures, outFeatures])]).Outputs[0];

    public OnnxModel Build(string output, int classes)
    {
        _model.Graph.AddOutput(new OnnxValueInfo(output, OnnxDataType.Float, [new OnnxDim(null, "batch"), new OnnxDim(classes, null)]));
        _model.Validate().ThrowIfInvalid("kit");
        return _model;
    }

    private string Unary(string op, string x) => Node(op, $"{op.ToLowerInvariant()}{_counter++}", [x]).Outputs[0];

    private OnnxNode Node(string op, string name, IEnumerable<string> inputs) => _model.Graph.AddNode(new OnnxNode(op, inputs, [name], name));

    private string Weight(string name, long[] dims)
    {
        var values = new float[dims.Aggregate(1L, (a, b) => a * b)];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(_random.NextDouble() * 2 - 1) * 0.5f;
        _model.Graph.AddInitializer(OnnxTensor.FromFloats(name, dims, values));
        return name;
    }

    private string Positive(string name, int n)
    {
        var values = Enumerable.Range(0, n).Select(_ => (float)(0.5 + _random.NextDouble())).ToArray();
        _model.Graph.AddInitializer(OnnxTensor.FromFloats(name, [n], values));
        return name;
    }

    /// <summary>
    /// Random BatchNorm parameters and statistics (a freshly initialized zoo model has γ = 1, β = 0,
    /// mean 0, var 1, whose outputs hardly depend on some channels, which would make an equivalence
    /// test weak).
    /// </summary>
    public static OnnxModel RandomizeBatchNorms(OnnxModel model, int seed)
    {
        var random = new Random(seed);
        var result = model.Clone();
        foreach (var node in result.Graph.Nodes.Where(n => n.OpType == "BatchNormalization"))
        {
            for (int i = 1; i <= 4; i++)
            {
                var init = result.Graph.FindInitializer(node.Inputs[i])!;
                var values = init.ToFloatArray().Select(_ => (float)(i is 1 or 4 ? 0.5 + random.NextDouble() : random.NextDouble() - 0.5)).ToArray();
                result.Graph.ReplaceInitializer(OnnxTensor.FromFloats(init.Name, init.Dims, values));
            }
        }
        return result;
    }

    /// <summary>
    /// Makes the chosen channels of every prunable group truly dead: the producing weights (and
    /// depthwise filters), biases, per-channel added constants and BatchNorm γ and β of those
    /// channels are zeroed, so the channel is 0 after every node and contributes nothing downstream.
    /// Channels chosen per group: the ones a per-layer <paramref name="ratio"/> removes, picked at random.
    /// </summary>
    public static (OnnxModel Model, Dictionary<int, int[]> Killed) KillChannels(OnnxModel model, double ratio, int seed)
    {
        var graph = ChannelDependencyGraph.Build(model);
        var random = new Random(seed);
        var killed = new Dictionary<int, int[]>();
        var result = model.Clone();
        var groups = graph.Groups();
        for (int g = 0; g < groups.Count; g++)
        {
            var members = groups[g];
            if (members.Any(s => graph.Spaces[s].Unprunable.Count > 0)) continue;
            int size = graph.Spaces[members[0]].Size;
            int count = size - Sparsity.KeptChannels(size, ratio);
            var channels = Enumerable.Range(0, size).OrderBy(_ => random.Next()).Take(count).Order().ToArray();
            killed[g] = channels;
            foreach (var slice in graph.Slices.Where(s => s.Axis >= 0 && s.Layout.Spaces.Any(members.Contains)))
            {
                var node = result.Graph.FindNode(slice.Node)!;
                int inputIndex = node.Inputs.IndexOf(slice.Initializer);
                bool dead = node.OpType switch
                {
                    "BatchNormalization" => inputIndex is 1 or 2,
                    "Conv" or "Gemm" or "ConvTranspose" => slice.Role == SliceRole.ProducerWeight || inputIndex == 2,
                    "MatMul" => slice.Role == SliceRole.ProducerWeight,
                    "Add" => true,
                    _ => false,
                };
                if (!dead) continue;
                var init = result.Graph.FindInitializer(slice.Initializer)!;
                var values = init.ToFloatArray();
                long inner = init.Dims.Skip(slice.Axis + 1).Aggregate(1L, (a, b) => a * b);
                long length = init.Dims[slice.Axis];
                var positions = new HashSet<long>();
                long offset = 0;
                foreach (var s in slice.Layout.Spaces)
                {
                    if (members.Contains(s))
                        foreach (var c in channels)
                            for (long b = 0; b < slice.Layout.Block; b++) positions.Add((offset + c) * slice.Layout.Block + b);
                    offset += graph.Spaces[s].Size;
                }
                for (long i = 0; i < values.Length; i++)
                    if (positions.Contains(i / inner % length)) values[i] = 0f;
                result.Graph.ReplaceInitializer(OnnxTensor.FromFloats(init.Name, init.Dims, values));
            }
        }
        return (result, killed);
    }
}
