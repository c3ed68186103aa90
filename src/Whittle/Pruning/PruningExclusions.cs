using Whittle.Onnx;

namespace Whittle.Pruning;

/// <summary>
/// Layers left dense: the first and/or last prunable layer (they hold few weights and much of the
/// accuracy), layers by node name, and layers by operator type. Every named node and operator
/// type must match at least one prunable layer when applied: a rule that matches nothing is an
/// error (a typo would otherwise prune what the user meant to protect).
/// </summary>
public sealed class PruningExclusions
{
    /// <summary>Nothing excluded.</summary>
    public static PruningExclusions None { get; } = new();

    /// <summary>Validates and stores the rules.</summary>
    /// <param name="firstLayer">Leave the first prunable layer (in graph order) dense.</param>
    /// <param name="lastLayer">Leave the last prunable layer (usually the classifier) dense.</param>
    /// <param name="nodeNames">Node names to leave dense: exact names or globs (<c>*</c>, <c>?</c>; see <see cref="NodeNamePattern"/>).</param>
    /// <param name="opTypes">Operator types to leave dense (Conv, ConvTranspose, Gemm, MatMul).</param>
    public PruningExclusions(bool firstLayer = false, bool lastLayer = false, IEnumerable<string>? nodeNames = null, IEnumerable<string>? opTypes = null)
    {
        NodeNames = (nodeNames ?? []).ToArray();
        OpTypes = (opTypes ?? []).ToArray();
        if (NodeNames.FirstOrDefault(string.IsNullOrWhiteSpace) is { } name)
            throw new InvalidOptionException(nameof(NodeNames), $"NodeNames must not hold a blank name, got '{name}'");
        if (OpTypes.FirstOrDefault(string.IsNullOrWhiteSpace) is { } op)
            throw new InvalidOptionException(nameof(OpTypes), $"OpTypes must not hold a blank operator type, got '{op}'");
        FirstLayer = firstLayer;
        LastLayer = lastLayer;
    }

    /// <summary>True when the first prunable layer stays dense.</summary>
    public bool FirstLayer { get; }

    /// <summary>True when the last prunable layer stays dense.</summary>
    public bool LastLayer { get; }

    /// <summary>Node names that stay dense.</summary>
    public IReadOnlyList<string> NodeNames { get; }

    /// <summary>Operator types that stay dense.</summary>
    public IReadOnlyList<string> OpTypes { get; }

    /// <summary>
    /// The layers of <paramref name="layers"/> (in graph order) that these rules exclude, with the rule that excluded them.
    /// </summary>
    /// <exception cref="InvalidOptionException">A node name or operator type matches none of the layers; the message lists the layers.</exception>
    public IReadOnlyDictionary<string, string> Apply(IReadOnlyList<(string NodeName, string OpType)> layers, string modelLabel)
    {
        var excluded = new Dictionary<string, string>(StringComparer.Ordinal);
        var unmatched = new List<string>();
        string? option = null;
        foreach (var name in NodeNames)
        {
            var pattern = new NodeNamePattern(name);
            var hits = layers.Where(l => pattern.Matches(l.NodeName)).ToList();
            if (hits.Count == 0)
            {
                unmatched.Add($"node '{name}'");
                option ??= nameof(NodeNames);
            }
            foreach (var h in hits) excluded.TryAdd(h.NodeName, pattern.IsGlob ? $"excluded by name ({name})" : "excluded by name");
        }
        foreach (var op in OpTypes)
        {
            var hits = layers.Where(l => string.Equals(l.OpType, op, StringComparison.Ordinal)).ToList();
            if (hits.Count == 0)
            {
                unmatched.Add($"operator type '{op}'");
                option ??= nameof(OpTypes);
            }
            foreach (var h in hits) excluded.TryAdd(h.NodeName, $"excluded op type {op}");
        }
        if (unmatched.Count > 0)
            throw new InvalidOptionException(option!, $"{modelLabel}: exclusion {string.Join(", ", unmatched)} matches no prunable layer; prunable layers: {string.Join(", ", layers.Select(l => $"{l.NodeName} ({l.OpType})"))}");
        if (FirstLayer && layers.Count > 0) excluded.TryAdd(layers[0].NodeName, "first layer");
        if (LastLayer && layers.Count > 0) excluded.TryAdd(layers[^1].NodeName, "last layer");
        return excluded;
    }
}
