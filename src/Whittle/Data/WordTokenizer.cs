using System.Globalization;
using System.Text;

namespace Whittle.Data;

/// <summary>
/// Splits text into words: runs of letters, digits and marks separated by white space, with
/// punctuation and symbols either dropped or kept as one-character tokens, optionally folded to
/// lower case (<see cref="TokenizerOptions"/>). Deterministic and culture-independent, so a text
/// tokenizes the same way at training and at evaluation on any machine.
/// </summary>
public static class WordTokenizer
{
    /// <summary>The tokens of <paramref name="text"/> in order.</summary>
    /// <param name="text">Any text.</param>
    /// <param name="options">Case folding and punctuation handling.</param>
    public static List<string> Tokenize(string text, TokenizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(options);
        var tokens = new List<string>();
        var word = new StringBuilder();
        foreach (char raw in text)
        {
            char c = options.Lowercase ? char.ToLowerInvariant(raw) : raw;
            var category = char.GetUnicodeCategory(c);
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                Flush();
            }
            else if (IsPunctuationOrSymbol(category))
            {
                Flush();
                if (!options.StripPunctuation) tokens.Add(c.ToString());
            }
            else
            {
                word.Append(c);
            }
        }
        Flush();
        return tokens;

        void Flush()
        {
            if (word.Length == 0) return;
            tokens.Add(word.ToString());
            word.Clear();
        }
    }

    private static bool IsPunctuationOrSymbol(UnicodeCategory category) => category is
        UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
        or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
        or UnicodeCategory.OtherPunctuation or UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol
        or UnicodeCategory.ModifierSymbol or UnicodeCategory.OtherSymbol;
}
