using System.Text;
using TorchSharp;
using TorchSharp.Modules;
using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Engine;

/// <summary>
/// A TorchSharp module that executes an ONNX graph node by node with torch ops, so autograd,
/// optimizers and <c>train()</c>/<c>eval()</c> work on any supported ONNX model.
/// <list type="bullet">
/// <item>Floating-point initializers that feed data inputs become named <see cref="Parameter"/>s
/// (names derived from the ONNX names: <c>features.0.weight</c> becomes <c>features_0_weight</c>),
/// and so do float tensors of more than one element held in Constant nodes (tf2onnx/Keras style).</item>
/// <item>BatchNormalization running statistics become buffers, updated in training mode.</item>
/// <item>Everything else (integer initializers, clip bounds, quantization scales) is a constant.</item>
/// </list>
/// After training, <see cref="ToOnnx"/> writes the trained values back into the same graph.
/// </summary>
public sealed class OnnxModule : nn.Module<Tensor, Tensor>
{
    /// <param name="Node">The ONNX node.</param>
    /// <param name="Kernel">Its compiled kernel.</param>
    /// <param name="Inputs">Input value names.</param>
    /// <param name="Outputs">Output value names.</param>
    private sealed record CompiledNode(OnnxNode Node, IOpKernel Kernel, string[] Inputs, string[] Outputs)
    {
        /// <summary>Values computed by the graph whose last reader is this node.</summary>
        public string[] LastUses { get; set; } = [];
    }

    private readonly OnnxModel _source;
    private readonly List<CompiledNode> _nodes = new();
    private readonly Dictionary<string, Tensor> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Parameter> _trainables = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _statistics = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _moduleNameOf = new(StringComparer.Ordinal);
    private readonly HashSet<string> _constantNodeWeights = new(StringComparer.Ordinal);
    private readonly string[] _inputs;
    private readonly string[] _outputs;
    private bool _disposed;

    /// <summary>Builds the module; runs the pre-flight first and reports every unsupported op at once.</summary>
    /// <exception cref="UnsupportedModelException">Some nodes cannot be converted.</exception>
    public OnnxModule(OnnxModel model, OpRegistry? registry = null) : base("OnnxModule")
    {
        registry ??= OpRegistry.Default;
        _source = model.Clone();
        model.Validate().ThrowIfInvalid(model.SourcePath ?? model.Graph.Name);
        EnginePreflight.EnsureSupported(_source, registry);

        var graph = _source.Graph;
        var initializers = graph.Initializers.ToDictionary(t => t.Name, StringComparer.Ordinal);
        _inputs = graph.Inputs.Select(i => i.Name).ToArray();
        _outputs = graph.Outputs.Select(o => o.Name).ToArray();

        // Weights that converters (tf2onnx, Keras) put in Constant nodes instead of initializers:
        // float tensors with more than one element. They are trained like initializers and
        // written back into the Constant node's value.
        var constantWeights = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            if (node.Domain.Length == 0 && node.OpType == "Constant" && node.Outputs.Count == 1 && node.HasAttribute("value")
                && node.GetAttributeType("value") == OnnxAttributeType.Tensor && node.GetTensor("value") is { } value
                && OnnxDataTypes.IsFloatingPoint(value.DataType) && TorchTensors.IsSupported(value.DataType) && value.ElementCount > 1
                && !initializers.ContainsKey(node.Outputs[0]))
                constantWeights[node.Outputs[0]] = value;
        }

        // Learn, from the converters, what each initializer (and Constant-node weight) is.
        var order = graph.TopologicalOrder();
        var roles = new Dictionary<string, InputRole>(StringComparer.Ordinal);
        var contexts = new List<(OnnxNode Node, IOpConverter Converter, OpContext Context)>();
        foreach (var node in order)
        {
            var opset = _source.GetOpset(node.Domain)!.Value;
            var (converter, since) = registry.Resolve(node.Domain, node.OpType, opset)!.Value;
            var context = new OpContext(node, opset, since, initializers);
            contexts.Add((node, converter, context));
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                var name = node.Inputs[i];
                if (name.Length == 0 || !(initializers.ContainsKey(name) || constantWeights.ContainsKey(name))) continue;
                var role = converter.RoleOf(i, context);
                // The strongest claim wins: a running statistic anywhere is a buffer; a constant anywhere is not trained.
                if (!roles.TryGetValue(name, out var previous) || role > previous) roles[name] = role;
            }
        }
        foreach (var name in constantWeights.Keys.ToList())
            if (roles.GetValueOrDefault(name, InputRole.Data) != InputRole.Data || _outputs.Contains(name)) constantWeights.Remove(name);

        foreach (var (node, converter, context) in contexts)
        {
            // A Constant node holding a trained weight is replaced by the parameter itself.
            if (node.OpType == "Constant" && node.Domain.Length == 0 && constantWeights.ContainsKey(node.Outputs[0])) continue;
            IOpKernel kernel;
            try
            {
                kernel = converter.Compile(context);
            }
            catch (Exception e) when (e is not EngineException)
            {
                throw new EngineException($"node '{node.DisplayName}' ({node.OpType}): {e.Message}", e);
            }
            _nodes.Add(new CompiledNode(node, kernel, node.Inputs.ToArray(), node.Outputs.ToArray()));
        }
        // Where each computed value is read for the last time, so Run can release it there.
        var lastReader = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _nodes.Count; i++)
            foreach (var input in _nodes[i].Inputs)
                if (input.Length > 0) lastReader[input] = i;
        var produced = _nodes.SelectMany(n => n.Outputs).Where(o => o.Length > 0).ToHashSet(StringComparer.Ordinal);
        foreach (var group in lastReader.Where(kv => produced.Contains(kv.Key) && !_outputs.Contains(kv.Key)).GroupBy(kv => kv.Value))
            _nodes[group.Key].LastUses = group.Select(kv => kv.Key).ToArray();

        foreach (var (name, value) in constantWeights)
        {
            _constantNodeWeights.Add(name);
            initializers[name] = value;
        }

        var usedNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, init) in initializers)
        {
            var role = roles.GetValueOrDefault(name, InputRole.Data);
            var value = OwnedCopy(TorchTensors.FromOnnx(init));
            bool floating = OnnxDataTypes.IsFloatingPoint(init.DataType);
            if (floating && role == InputRole.Data)
            {
                var moduleName = UniqueModuleName(name, usedNames);
                var p = new Parameter(value, requires_grad: true);
                register_parameter(moduleName, p);
                _trainables[name] = p;
                _moduleNameOf[name] = moduleName;
            }
            else if (floating && role == InputRole.RunningStatistic)
            {
                var moduleName = UniqueModuleName(name, usedNames);
                register_buffer(moduleName, value);
                _statistics[name] = value;
                _moduleNameOf[name] = moduleName;
            }
            else
            {
                _constants[name] = value;
            }
        }
    }

    /// <summary>
    /// A copy in memory libtorch allocated itself. A tensor made from a managed array can keep
    /// using that array's memory, which is not aligned the way libtorch's vectorized kernels
    /// expect; parameters there made backward and optimizer steps up to 2x slower.
    /// </summary>
    private static Tensor OwnedCopy(Tensor fromManaged)
    {
        using (fromManaged)
            return fromManaged.clone().DetachFromDisposeScope();
    }

    /// <summary>Names of the inputs <see cref="Run(Tensor[])"/> takes, in order.</summary>
    public IReadOnlyList<string> InputNames => _inputs;

    /// <summary>Names of the outputs <see cref="Run(Tensor[])"/> returns, in order.</summary>
    public IReadOnlyList<string> OutputNames => _outputs;

    /// <summary>The model this module was built from (a private copy).</summary>
    public OnnxModel Source => _source;

    /// <summary>ONNX initializer name to the module's parameter/buffer name, for every trained or updated tensor.</summary>
    public IReadOnlyDictionary<string, string> ModuleNames => _moduleNameOf;

    /// <summary>The trainable parameters by ONNX initializer name.</summary>
    public IReadOnlyDictionary<string, Parameter> ParametersByInitializer => _trainables;

    /// <summary>The running-statistic buffers by ONNX initializer name.</summary>
    public IReadOnlyDictionary<string, Tensor> BuffersByInitializer => _statistics;

    /// <summary>
    /// Runs a model with one input and one output. A float batch given to an integer input (token
    /// ids, as the <see cref="Whittle.Training.Trainer"/> hands every model one float batch) is cast
    /// to the input's type, so fine-tuning and gradients work on text models as on images.
    /// </summary>
    public override Tensor forward(Tensor input)
    {
        if (_inputs.Length != 1 || _outputs.Length != 1)
            throw new EngineException($"{Label}: forward(x) needs one input and one output; the model has {_inputs.Length} input(s) ({string.Join(", ", _inputs)}) and {_outputs.Length} output(s); use Run");
        if (input.is_floating_point() && Source.Graph.Inputs[0].ElementType is OnnxDataType.Int64 or OnnxDataType.Int32)
        {
            using var ids = input.to_type(Source.Graph.Inputs[0].ElementType == OnnxDataType.Int64 ? ScalarType.Int64 : ScalarType.Int32);
            return Run(ids)[0];
        }
        return Run(input)[0];
    }

    /// <summary>Runs the graph; inputs in <see cref="InputNames"/> order, outputs in <see cref="OutputNames"/> order.</summary>
    /// <remarks>In training mode, the values of <see cref="CapturedValueNames"/> are kept in <see cref="Captured"/> from the same pass.</remarks>
    public Tensor[] Run(params Tensor[] inputs)
    {
        if (_captureNames.Length == 0 || !training) return Run(inputs, _outputs);
        var all = Run(inputs, [.. _outputs, .. _captureNames]);
        Captured = all[_outputs.Length..];
        return all[.._outputs.Length];
    }

    private string[] _captureNames = [];

    /// <summary>
    /// Intermediate values that every training-mode pass through <see cref="Run(Tensor[])"/> (and so
    /// <see cref="forward"/>) also returns in <see cref="Captured"/>, with their gradients: the
    /// student features of a hint-layer distillation loss. Empty (the default) for none.
    /// </summary>
    public IReadOnlyList<string> CapturedValueNames
    {
        get => _captureNames;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _captureNames = value.ToArray();
            Captured = [];
        }
    }

    /// <summary>The <see cref="CapturedValueNames"/> of the last training-mode pass, in that order (owned by the caller's dispose scope).</summary>
    public Tensor[] Captured { get; private set; } = [];

    /// <summary>
    /// Runs the graph and returns the values named in <paramref name="valueNames"/> — graph outputs
    /// or any intermediate value (the features a distillation loss or a calibrator needs).
    /// </summary>
    public Tensor[] Run(Tensor[] inputs, IReadOnlyList<string> valueNames)
    {
        if (inputs.Length != _inputs.Length)
            throw new EngineException($"{Label}: expected {_inputs.Length} input(s) ({string.Join(", ", _inputs)}), got {inputs.Length}");
        var values = new Dictionary<string, Tensor>(_constants.Count + _nodes.Count * 2, StringComparer.Ordinal);
        foreach (var (k, v) in _constants) values[k] = v;
        foreach (var (k, v) in _trainables) values[k] = v;
        foreach (var (k, v) in _statistics) values[k] = v;
        for (int i = 0; i < inputs.Length; i++) values[_inputs[i]] = inputs[i];

        // Handles of intermediate values are released after their last reader, as a hand-written
        // forward lets them go out of scope: autograd keeps its own references to what backward
        // needs, and everything else returns to libtorch's allocator for the next node instead of
        // staying alive to the end of the step (fresh allocations are slow on small VMs).
        var requested = new HashSet<string>(valueNames, StringComparer.Ordinal);
        var owners = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        foreach (var v in values.Values) owners[v] = int.MaxValue / 2; // never released here

        bool isTraining = training;
        foreach (var n in _nodes)
        {
            var args = new Tensor?[n.Inputs.Length];
            for (int i = 0; i < args.Length; i++)
            {
                var name = n.Inputs[i];
                if (name.Length == 0) continue;
                args[i] = values.TryGetValue(name, out var t) ? t
                    : throw new EngineException($"{Label}: node '{n.Node.DisplayName}' needs '{name}', which has not been computed");
            }
            Tensor?[] results;
            try
            {
                results = n.Kernel.Forward(args, isTraining);
            }
            catch (Exception e) when (e is not EngineException)
            {
                throw new EngineException($"{Label}: node '{n.Node.DisplayName}' ({n.Node.OpType}) failed: {FirstLine(e.Message)}", e);
            }
            for (int o = 0; o < n.Outputs.Length && o < results.Length; o++)
            {
                if (n.Outputs[o].Length > 0 && results[o] is { } r)
                {
                    values[n.Outputs[o]] = r;
                    owners[r] = owners.GetValueOrDefault(r) + 1;
                }
            }
            foreach (var name in n.LastUses)
            {
                if (requested.Contains(name) || !values.Remove(name, out var t)) continue;
                // A kernel may return one of its inputs itself; release only the last name of a tensor.
                if (--owners[t] == 0) t.Dispose();
            }
        }
        var outputs = new Tensor[valueNames.Count];
        for (int i = 0; i < outputs.Length; i++)
        {
            var t = values.TryGetValue(valueNames[i], out var v) ? v
                : throw new EngineException($"{Label}: value '{valueNames[i]}' is not produced by the graph");
            // A graph output that is a parameter, constant or input is returned as an alias, so a
            // caller disposing its outputs cannot free the module's own tensors.
            outputs[i] = IsOwnedElsewhere(valueNames[i], inputs, t) ? t.alias() : t;
        }
        return outputs;
    }

    private bool IsOwnedElsewhere(string name, Tensor[] inputs, Tensor t) =>
        // Reference comparison: Tensor.Equals compares values element by element.
        _constants.ContainsKey(name) || _trainables.ContainsKey(name) || _statistics.ContainsKey(name) || inputs.Any(i => ReferenceEquals(i, t));

    /// <summary>
    /// A new ONNX model: the source graph with every parameter and running statistic replaced by
    /// the module's current values (in each initializer's original element type). Nothing else changes.
    /// </summary>
    public OnnxModel ToOnnx()
    {
        var model = _source.Clone();
        using var _ = no_grad();
        foreach (var (name, p) in _trainables) WriteBack(model, name, p);
        foreach (var (name, b) in _statistics) WriteBack(model, name, b);
        return model;
    }

    private void WriteBack(OnnxModel model, string name, Tensor value)
    {
        if (_constantNodeWeights.Contains(name))
        {
            var node = model.Graph.FindProducer(name)!;
            var old = node.GetTensor("value")!;
            node.SetAttribute("value", TorchTensors.ToOnnx(old.Name, value, old.DataType));
            return;
        }
        var init = model.Graph.FindInitializer(name)!;
        model.Graph.ReplaceInitializer(TorchTensors.ToOnnx(name, value, init.DataType));
    }

    private string Label => _source.SourcePath ?? _source.Graph.Name;

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (!_disposed && disposing)
        {
            foreach (var c in _constants.Values) c.Dispose();
            _constants.Clear();
            // Kernels that hold tensors of their own (Constant values, fill values) release them here.
            foreach (var n in _nodes) (n.Kernel as IDisposable)?.Dispose();
            _disposed = true;
        }
        base.Dispose(disposing);
    }

    /// <summary>An identifier torch accepts (no dots), derived from the ONNX name, unique in this module.</summary>
    internal static string UniqueModuleName(string onnxName, HashSet<string> used)
    {
        var sb = new StringBuilder(onnxName.Length + 2);
        foreach (var c in onnxName) sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        if (sb.Length == 0 || char.IsAsciiDigit(sb[0])) sb.Insert(0, "p_");
        var baseName = sb.ToString();
        var name = baseName;
        for (int i = 1; !used.Add(name); i++) name = $"{baseName}_{i}";
        return name;
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n')[0].Trim();
        return line.Length > 300 ? line[..300] + "..." : line;
    }
}
