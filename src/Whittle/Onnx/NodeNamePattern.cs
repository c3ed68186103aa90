using System.Text;
using System.Text.RegularExpressions;

namespace Whittle.Onnx;

/// <summary>
/// A node-name rule as users write it on the command line: an exact name, or a glob where
/// <c>*</c> matches any run of characters (dots and slashes included) and <c>?</c> one character,
/// e.g. <c>features.*.conv.2</c> for every MobileNetV2 projection conv or <c>/layer1/*</c> for
/// every node of a PyTorch export's first stage. The whole name must match (case-sensitive).
/// Shared by pruning's and quantization's exclusions so both read a pattern the same way.
/// </summary>
public sealed class NodeNamePattern
{
    private readonly Regex? _glob;

    /// <summary>Parses <paramref name="text"/>; blank text is an error.</summary>
    public NodeNamePattern(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException("a node-name pattern is blank", nameof(text));
        Text = text;
        if (text.IndexOfAny(['*', '?']) < 0) return;
        var regex = new StringBuilder("^");
        foreach (char c in text)
            regex.Append(c switch { '*' => ".*", '?' => ".", _ => Regex.Escape(c.ToString()) });
        _glob = new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline);
    }

    /// <summary>The pattern as given.</summary>
    public string Text { get; }

    /// <summary>True when the pattern has a wildcard (so it may match many nodes).</summary>
    public bool IsGlob => _glob is not null;

    /// <summary>True when <paramref name="name"/> is matched as a whole.</summary>
    public bool Matches(string? name) => name is not null && (_glob?.IsMatch(name) ?? string.Equals(name, Text, StringComparison.Ordinal));

    /// <inheritdoc />
    public override string ToString() => Text;
}
