using Whittle.Onnx;

namespace Whittle.Quantization;

/// <summary>
/// Exclusion rules shared by the weight quantizers: a rule names a node (exactly or by a glob,
/// see <see cref="NodeNamePattern"/>) or an op type, and a
/// rule that matches nothing is an error (a typo must not silently quantize the node the user
/// meant to keep in float).
/// </summary>
internal static class ExclusionRules
{
    /// <summary>Maps each excluded node (by display name) to the first rule that matches it.</summary>
    /// <exception cref="InvalidOptionException">Some rule matches no node name or op type; all such rules are listed.</exception>
    public static Dictionary<string, string> Resolve(OnnxGraph graph, IReadOnlyList<string> rules, string optionName)
    {
        var nodes = graph.Nodes;
        var patterns = rules.Select(r => new NodeNamePattern(r)).ToList();
        bool Matches(NodeNamePattern rule, OnnxNode n) => rule.Matches(n.Name) || n.OpType == rule.Text;
        var unmatched = patterns.Where(r => !nodes.Any(n => Matches(r, n))).Select(r => r.Text).ToList();
        if (unmatched.Count > 0)
            throw new InvalidOptionException(optionName,
                $"{optionName}: {string.Join(", ", unmatched.Select(r => $"'{r}'"))} match{(unmatched.Count == 1 ? "es" : "")} no node name or op type in graph '{graph.Name}'");
        var excluded = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var n in nodes)
        {
            var rule = patterns.FirstOrDefault(r => Matches(r, n));
            if (rule is not null) excluded.TryAdd(n.DisplayName, rule.Text);
        }
        return excluded;
    }

    /// <summary>Checks rules given to an options constructor: non-empty, no duplicates.</summary>
    /// <exception cref="InvalidOptionException">A rule is blank or given twice.</exception>
    public static IReadOnlyList<string> Validate(IEnumerable<string>? rules, string optionName)
    {
        var list = (rules ?? []).ToList();
        var blank = list.FirstOrDefault(string.IsNullOrWhiteSpace);
        if (blank is not null) throw new InvalidOptionException(optionName, $"{optionName}: a rule is blank ('{blank}')");
        var duplicate = list.GroupBy(r => r, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new InvalidOptionException(optionName, $"{optionName}: rule '{duplicate.Key}' is given twice");
        return list;
    }
}
