using System.Reflection;

namespace Whittle.Engine;

/// <summary>One registered operator version.</summary>
/// <param name="Domain">Operator domain (empty = ai.onnx).</param>
/// <param name="OpType">Operator type.</param>
/// <param name="SinceVersion">Opset version the registration starts at.</param>
/// <param name="Converter">The converter class.</param>
public sealed record OpRegistration(string Domain, string OpType, int SinceVersion, Type Converter);

/// <summary>
/// Every <see cref="IOpConverter"/> in the assembly, keyed by (domain, op type, since-version).
/// Built once by reflection; two converters claiming the same key fail at start-up.
/// </summary>
public sealed class OpRegistry
{
    private readonly Dictionary<(string Domain, string Op), List<(int Since, IOpConverter Converter)>> _map = new();
    private readonly List<OpRegistration> _registrations = new();

    /// <summary>The registry of Whittle's own converters.</summary>
    public static OpRegistry Default { get; } = FromAssembly(typeof(OpRegistry).Assembly);

    /// <summary>Builds a registry from the converter classes of an assembly.</summary>
    /// <exception cref="InvalidOperationException">Two converters register the same (domain, op, version).</exception>
    public static OpRegistry FromAssembly(Assembly assembly) => FromTypes(assembly.GetTypes());

    /// <summary>Builds a registry from converter classes.</summary>
    public static OpRegistry FromTypes(IEnumerable<Type> types)
    {
        var registry = new OpRegistry();
        foreach (var type in types.OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            var attributes = type.GetCustomAttributes<OnnxOpAttribute>().ToList();
            if (attributes.Count == 0) continue;
            if (!typeof(IOpConverter).IsAssignableFrom(type) || type.IsAbstract)
                throw new InvalidOperationException($"{type.FullName} has [OnnxOp] but is not a concrete IOpConverter");
            var converter = (IOpConverter)(Activator.CreateInstance(type)
                ?? throw new InvalidOperationException($"cannot create {type.FullName}"));
            foreach (var a in attributes)
            {
                var key = (a.Domain, a.OpType);
                if (!registry._map.TryGetValue(key, out var list)) registry._map[key] = list = new();
                var clash = list.FirstOrDefault(e => e.Since == a.SinceVersion);
                if (clash.Converter is not null)
                    throw new InvalidOperationException(
                        $"duplicate converter for {(a.Domain.Length > 0 ? a.Domain + "." : "")}{a.OpType} since opset {a.SinceVersion}: {clash.Converter.GetType().FullName} and {type.FullName}");
                list.Add((a.SinceVersion, converter));
                list.Sort((x, y) => x.Since.CompareTo(y.Since));
                registry._registrations.Add(new OpRegistration(a.Domain, a.OpType, a.SinceVersion, type));
            }
        }
        return registry;
    }

    /// <summary>All registrations, ordered by domain, op type and version.</summary>
    public IReadOnlyList<OpRegistration> Registrations =>
        _registrations.OrderBy(r => r.Domain, StringComparer.Ordinal).ThenBy(r => r.OpType, StringComparer.Ordinal).ThenBy(r => r.SinceVersion).ToList();

    /// <summary>
    /// The converter for an operator at a model opset: the registration with the greatest
    /// since-version not above <paramref name="opset"/>; null when there is none.
    /// </summary>
    public (IOpConverter Converter, int SinceVersion)? Resolve(string domain, string opType, long opset)
    {
        if (!_map.TryGetValue((domain == "ai.onnx" ? "" : domain, opType), out var list)) return null;
        for (int i = list.Count - 1; i >= 0; i--)
            if (list[i].Since <= opset) return (list[i].Converter, list[i].Since);
        return null;
    }

    /// <summary>Whether any version of the operator is registered.</summary>
    public bool Knows(string domain, string opType) => _map.ContainsKey((domain == "ai.onnx" ? "" : domain, opType));

    /// <summary>The registered since-versions of an operator, ascending.</summary>
    public IReadOnlyList<int> Versions(string domain, string opType) =>
        _map.TryGetValue((domain == "ai.onnx" ? "" : domain, opType), out var list) ? list.Select(e => e.Since).ToList() : [];
}
