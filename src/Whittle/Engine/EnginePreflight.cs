using Whittle.Onnx;

namespace Whittle.Engine;

/// <summary>
/// Decides, before anything is built, whether the Engine can run a model: every node must
/// resolve to a converter at the model's opset, and every converter must accept the node's
/// attributes. All problems are collected and reported together.
/// </summary>
public static class EnginePreflight
{
    /// <summary>Every problem found (empty when the model is supported).</summary>
    public static IReadOnlyList<string> FindProblems(OnnxModel model, OpRegistry? registry = null)
    {
        registry ??= OpRegistry.Default;
        var problems = new List<string>();
        var initializers = model.Graph.Initializers.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var input in model.Graph.Inputs)
        {
            if (!input.IsTensor)
                problems.Add($"graph input '{input.Name}' is not a tensor ({input.TypeDescription})");
            else if (!TorchTensors.IsSupported(input.ElementType))
                problems.Add($"graph input '{input.Name}' has element type {OnnxDataTypes.Name(input.ElementType)}, which the Engine does not support");
        }
        foreach (var init in initializers.Values)
        {
            if (!TorchTensors.IsLoadable(init.DataType))
                problems.Add($"initializer '{init.Name}' has element type {OnnxDataTypes.Name(init.DataType)}, which the Engine does not support");
        }
        foreach (var node in model.Graph.Nodes)
        {
            var domain = node.Domain;
            var opset = model.GetOpset(domain);
            var label = $"node '{node.DisplayName}' ({(domain.Length > 0 ? domain + "." : "")}{node.OpType}, opset {opset?.ToString() ?? "not imported"})";
            if (opset is null)
            {
                problems.Add($"{label}: the model does not import domain '{domain}'");
                continue;
            }
            var resolved = registry.Resolve(domain, node.OpType, opset.Value);
            if (resolved is null)
            {
                var versions = registry.Versions(domain, node.OpType);
                problems.Add(versions.Count == 0
                    ? $"{label}: operator not supported"
                    : $"{label}: supported only from opset {versions[0]}");
                continue;
            }
            var (converter, since) = resolved.Value;
            var context = new OpContext(node, opset.Value, since, initializers);
            try
            {
                foreach (var p in converter.Check(context)) problems.Add($"{label}: {p}");
            }
            catch (OnnxException e)
            {
                problems.Add($"{label}: {e.Message}");
            }
        }
        return problems;
    }

    /// <summary>Throws <see cref="UnsupportedModelException"/> listing every problem, if any.</summary>
    public static void EnsureSupported(OnnxModel model, OpRegistry? registry = null)
    {
        var problems = FindProblems(model, registry);
        if (problems.Count > 0) throw new UnsupportedModelException(model.SourcePath ?? model.Graph.Name, problems);
    }
}
