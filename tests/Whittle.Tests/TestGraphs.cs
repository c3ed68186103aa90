using Whittle.Onnx;

namespace Whittle.Tests;

/// <summary>Small builders for graphs written by hand in tests.</summary>
internal static class TestGraphs
{
    /// <summary>A node with attributes given as (name, long | float | string | long[]) pairs.</summary>
    public static OnnxNode Node(string op, string[] inputs, string[] outputs, string? name, params (string Name, object Value)[] attributes)
    {
        var node = new OnnxNode(op, inputs, outputs, name);
        foreach (var (key, value) in attributes)
        {
            switch (value)
            {
                case long l: node.SetAttribute(key, l); break;
                case float f: node.SetAttribute(key, f); break;
                case string s: node.SetAttribute(key, s); break;
                case long[] ls: node.SetAttribute(key, ls); break;
                default: throw new ArgumentException($"attribute {key}: {value.GetType()}");
            }
        }
        return node;
    }

    /// <summary>A float value of a fixed shape.</summary>
    public static OnnxValueInfo Float(string name, params long[] shape) => new(name, OnnxDataType.Float, shape.Select(d => new OnnxDim(d, null)));
}
