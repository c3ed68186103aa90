namespace Whittle.Engine;

/// <summary>The Engine cannot build or run a model; the message names the model, node and reason.</summary>
public class EngineException : WhittleException
{
    /// <summary>Creates the exception.</summary>
    public EngineException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public EngineException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// The model uses operators, opsets or attribute values the Engine does not support. Lists
/// every problem at once, so a user learns the whole gap in one run.
/// </summary>
public sealed class UnsupportedModelException : EngineException
{
    /// <summary>Creates the exception from the list of problems.</summary>
    public UnsupportedModelException(string label, IReadOnlyList<string> problems)
        : base($"{label}: the Engine cannot run this model ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}): {string.Join("; ", problems)}")
    {
        Problems = problems;
    }

    /// <summary>One line per problem, each naming the node.</summary>
    public IReadOnlyList<string> Problems { get; }
}
