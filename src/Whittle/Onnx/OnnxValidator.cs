using Whittle.Onnx.Proto;

namespace Whittle.Onnx;

/// <summary>The problems found in a model: errors make it unusable, warnings are worth knowing.</summary>
/// <param name="Errors">One line per problem, naming the node or value.</param>
/// <param name="Warnings">One line per oddity that Whittle can work around.</param>
public sealed record OnnxValidationResult(IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings)
{
    /// <summary>True when there are no errors.</summary>
    public bool IsValid => Errors.Count == 0;

    /// <summary>Throws one <see cref="OnnxException"/> listing every error, if there are any.</summary>
    public void ThrowIfInvalid(string? label = null)
    {
        if (IsValid) return;
        var prefix = label is null ? "" : label + ": ";
        throw new OnnxException($"{prefix}invalid ONNX graph ({Errors.Count} error{(Errors.Count == 1 ? "" : "s")}): {string.Join("; ", Errors)}");
    }
}

/// <summary>
/// Structural checks of a graph with precise messages: dangling inputs, duplicate names,
/// cycles, outputs nobody produces, domains without an opset import.
/// </summary>
public static class OnnxValidator
{
    /// <summary>Validates a model's main graph.</summary>
    public static OnnxValidationResult Validate(OnnxModel model)
    {
        var errors = new List<string>();
        var warnings = new List<string>();
        var g = model.Graph.Proto;
        var opsets = model.Opsets;

        // Duplicate definitions.
        var defined = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var v in g.Input)
            if (!defined.TryAdd(v.Name, "graph input") )
                errors.Add($"duplicate graph input '{v.Name}'");
        var initNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in g.Initializer)
        {
            if (!initNames.Add(t.Name)) errors.Add($"duplicate initializer '{t.Name}'");
            defined.TryAdd(t.Name, "initializer");
        }
        var nodeNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in g.Node)
        {
            var node = new OnnxNode(n);
            if (n.Name.Length > 0 && !nodeNames.Add(n.Name)) warnings.Add($"duplicate node name '{n.Name}'");
            foreach (var o in n.Output)
            {
                if (o.Length == 0) continue;
                if (defined.TryGetValue(o, out var what))
                    errors.Add($"value '{o}' is produced by node '{node.DisplayName}' but is already defined by {what}");
                else defined[o] = $"node '{node.DisplayName}'";
            }
            var domain = n.Domain == "ai.onnx" ? "" : n.Domain;
            if (!opsets.ContainsKey(domain))
                errors.Add($"node '{node.DisplayName}' uses domain '{domain}' that the model does not import");
        }

        // Dangling inputs: values read that nothing defines.
        foreach (var n in g.Node)
        {
            var node = new OnnxNode(n);
            foreach (var i in OnnxGraph.NodeDependencies(n))
                if (!defined.ContainsKey(i))
                    errors.Add($"node '{node.DisplayName}' reads '{i}', which no node, input or initializer defines");
        }
        foreach (var o in g.Output)
            if (!defined.ContainsKey(o.Name))
                errors.Add($"graph output '{o.Name}' is not produced by any node, input or initializer");

        // Cycles and order.
        try
        {
            var order = model.Graph.TopologicalOrder();
            for (int i = 0; i < order.Count; i++)
            {
                if (!ReferenceEquals(order[i].Proto, g.Node[i]))
                {
                    warnings.Add("nodes are not stored in topological order (Whittle sorts them before use)");
                    break;
                }
            }
        }
        catch (OnnxException e)
        {
            errors.Add(e.Message);
        }

        if (model.IrVersion >= 3 && model.Proto.OpsetImport.Count == 0)
            errors.Add($"IR version {model.IrVersion} requires opset_import, but the model has none");
        foreach (var t in g.Initializer) CheckTensor(new OnnxTensor(t, model.BaseDirectory), errors);
        return new OnnxValidationResult(errors, warnings);
    }

    private static void CheckTensor(OnnxTensor t, List<string> errors)
    {
        if (t.Proto.Dims.Any(d => d < 0)) errors.Add($"initializer '{t.Name}' has a negative dimension");
        if (t.IsExternal || t.DataType is OnnxDataType.String or OnnxDataType.Undefined) return;
        if (!t.Proto.HasRawData) return;
        var expected = t.StorageBytes;
        if (t.Proto.RawData.Length != expected)
            errors.Add($"initializer '{t.Name}' has {t.Proto.RawData.Length} bytes of raw data, its shape [{string.Join(",", t.Dims)}] of {OnnxDataTypes.Name(t.DataType)} needs {expected}");
    }
}
