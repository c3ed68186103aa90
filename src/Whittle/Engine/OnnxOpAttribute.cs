namespace Whittle.Engine;

/// <summary>
/// Registers an <see cref="IOpConverter"/> for one ONNX operator version: (domain, op type,
/// since-version). A converter class carries one attribute per version it implements; a
/// model's opset resolves to the greatest registered since-version not above it.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class OnnxOpAttribute : Attribute
{
    /// <summary>Registers the converter for <paramref name="opType"/> in the default ONNX domain.</summary>
    public OnnxOpAttribute(string opType, int sinceVersion)
        : this("", opType, sinceVersion) { }

    /// <summary>Registers the converter for <paramref name="opType"/> in <paramref name="domain"/>.</summary>
    public OnnxOpAttribute(string domain, string opType, int sinceVersion)
    {
        Domain = domain == "ai.onnx" ? "" : domain;
        OpType = opType;
        SinceVersion = sinceVersion;
    }

    /// <summary>The operator domain; empty for the default ONNX domain.</summary>
    public string Domain { get; }

    /// <summary>The operator type.</summary>
    public string OpType { get; }

    /// <summary>The opset version in which this form of the operator was introduced.</summary>
    public int SinceVersion { get; }
}
