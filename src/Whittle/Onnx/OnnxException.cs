namespace Whittle.Onnx;

/// <summary>
/// The single exception type the ONNX layer throws for bad input: a corrupt, truncated or
/// invalid model, or an edit that would break the graph. The message names the file (when
/// there is one) and the problem in one line.
/// </summary>
public class OnnxException : WhittleException
{
    /// <summary>Creates the exception with a one-line message.</summary>
    public OnnxException(string message) : base(message) { }

    /// <summary>Creates the exception with a one-line message and the underlying cause.</summary>
    public OnnxException(string message, Exception inner) : base(message, inner) { }
}
