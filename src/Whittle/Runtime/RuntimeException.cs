namespace Whittle.Runtime;

/// <summary>ONNX Runtime refused a model or an inference: the message says which model and why.</summary>
public class RuntimeException : WhittleException
{
    /// <summary>Creates the exception.</summary>
    public RuntimeException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public RuntimeException(string message, Exception inner) : base(message, inner) { }
}
