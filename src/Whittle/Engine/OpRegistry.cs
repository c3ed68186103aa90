using System.Reflection;

namespace Whittle.Engine;

/// <summary>One registered operator version.</summary>
/// <param name="Domain">Operator domain (empty = ai.onnx).</param>
/// <param name="OpType">Operator type.</param>
/// <param name="SinceVersion">Opset version the registration starts at.</param>
/// <param name="Converter">The converter class.</param>
public sealed record OpRegistration(string Domain, string OpType, int SinceVersion, Type Converter);

/// <summary>
/// Converters keyed by (domain, op type, since-version), each key taken from the
/// <see cref="OnnxOpAttribute"/>s of the converter's class. <see cref="Default"/> holds Whittle's
/// own; a program that needs an operator Whittle lacks (a custom domain, a newer version) builds
/// <c>OpRegistry.Default.With(new MyConverter())</c> and passes it wherever a model is turned into
/// an <see cref="OnnxModule"/> (the module, the pre-flight, pruning fine-tuning). Two converters
/// claiming the same key fail when the registry is built, never at the first model that needs one.
/// </summary>
public sealed class OpRegistry
{
    private readonly Dictionary<(string Domain, string Op), List<(int Since, IOpConverter Converter)>> _map = new();
    private readonly List<OpRegistration> _registrations = new();
    private readonly List<IOpConverter> _converters = new();

    /// <summary>The registry of Whittle's own converters.</summary>
    public static OpRegistry Default { get; } = FromAssembly(typeof(OpRegistry).Assembly);

    /// <summary>A registry of exactly <paramref name="converters"/>, each under every <see cref="OnnxOpAttribute"/> of its class.</summary>
    /// <param name="converters">The converters; to keep Whittle's own as well, use <see cref="With(IOpConverter[])"/> on <see cref="Default"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="converters"/> or one of its entries is null.</exception>
    /// <exception cref="ArgumentException">
    /// A converter's class carries no <see cref="OnnxOpAttribute"/> or an invalid one, or two converters
    /// claim the same (domain, op type, since-version); the message names the key and both classes.
    /// </exception>
    public OpRegistry(IEnumerable<IOpConverter> converters)
    {
        ArgumentNullException.ThrowIfNull(converters);
        foreach (var converter in converters)
        {
            ArgumentNullException.ThrowIfNull(converter, nameof(converters));
            Add(converter);
        }
    }

    /// <summary>Builds a registry from the converter classes of an assembly.</summary>
    /// <exception cref="ArgumentException">A class with <see cref="OnnxOpAttribute"/> is not a concrete converter, or two converters register the same (domain, op, version).</exception>
    public static OpRegistry FromAssembly(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        return FromTypes(assembly.GetTypes());
    }

    /// <summary>
    /// Builds a registry from converter classes: every type carrying <see cref="OnnxOpAttribute"/> is
    /// created once with its parameterless constructor; other types are ignored.
    /// </summary>
    /// <exception cref="ArgumentException">A class with <see cref="OnnxOpAttribute"/> is not a concrete converter, or two converters register the same (domain, op, version).</exception>
    public static OpRegistry FromTypes(IEnumerable<Type> types)
    {
        ArgumentNullException.ThrowIfNull(types);
        var converters = new List<IOpConverter>();
        // Sorted so that a duplicate is reported the same way whatever order reflection returns.
        foreach (var type in types.OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            if (!type.GetCustomAttributes<OnnxOpAttribute>().Any()) continue;
            if (!typeof(IOpConverter).IsAssignableFrom(type) || type.IsAbstract)
                throw new ArgumentException($"{type.FullName} has [OnnxOp] but is not a concrete IOpConverter", nameof(types));
            converters.Add((IOpConverter)(Activator.CreateInstance(type, nonPublic: true)
                ?? throw new ArgumentException($"cannot create {type.FullName}", nameof(types))));
        }
        return new OpRegistry(converters);
    }

    /// <summary>A new registry with this one's converters and <paramref name="converters"/> (this one is unchanged).</summary>
    /// <exception cref="ArgumentException">A new converter claims a key already registered here (or by another new one), or carries no <see cref="OnnxOpAttribute"/>.</exception>
    public OpRegistry With(params IOpConverter[] converters)
    {
        ArgumentNullException.ThrowIfNull(converters);
        return new OpRegistry(_converters.Concat(converters));
    }

    /// <summary>A new registry with the converters of this one and of <paramref name="other"/> (e.g. <c>OpRegistry.FromAssembly(myAssembly)</c>).</summary>
    /// <exception cref="ArgumentException">Both registries claim the same key.</exception>
    public OpRegistry With(OpRegistry other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new OpRegistry(_converters.Concat(other._converters));
    }

    /// <summary>The converter instances, in registration order (one entry per converter, however many versions it claims).</summary>
    public IReadOnlyList<IOpConverter> Converters => _converters;

    /// <summary>All registrations, ordered by domain, op type and version.</summary>
    public IReadOnlyList<OpRegistration> Registrations =>
        _registrations.OrderBy(r => r.Domain, StringComparer.Ordinal).ThenBy(r => r.OpType, StringComparer.Ordinal).ThenBy(r => r.SinceVersion).ToList();

    /// <summary>
    /// The converter for an operator at a model opset: the registration with the greatest
    /// since-version not above <paramref name="opset"/>; null when there is none.
    /// </summary>
    public (IOpConverter Converter, int SinceVersion)? Resolve(string domain, string opType, long opset)
    {
        if (!_map.TryGetValue((Normalize(domain), opType), out var list)) return null;
        for (int i = list.Count - 1; i >= 0; i--)
            if (list[i].Since <= opset) return (list[i].Converter, list[i].Since);
        return null;
    }

    /// <summary>Whether any version of the operator is registered.</summary>
    public bool Knows(string domain, string opType) => _map.ContainsKey((Normalize(domain), opType));

    /// <summary>The registered since-versions of an operator, ascending.</summary>
    public IReadOnlyList<int> Versions(string domain, string opType) =>
        _map.TryGetValue((Normalize(domain), opType), out var list) ? list.Select(e => e.Since).ToList() : [];

    private static string Normalize(string domain) => domain == "ai.onnx" ? "" : domain;

    private void Add(IOpConverter converter)
    {
        var type = converter.GetType();
        var attributes = type.GetCustomAttributes<OnnxOpAttribute>().ToList();
        if (attributes.Count == 0)
            throw new ArgumentException($"{type.FullName} has no [OnnxOp] attribute: a converter says which (domain, op type, since-version) it implements with [OnnxOp(...)]", "converters");
        foreach (var a in attributes)
        {
            if (string.IsNullOrWhiteSpace(a.OpType) || a.SinceVersion < 1)
                throw new ArgumentException($"{type.FullName}: [OnnxOp(\"{a.Domain}\", \"{a.OpType}\", {a.SinceVersion})] needs an op type and a since-version of at least 1", "converters");
            var key = (a.Domain, a.OpType);
            if (!_map.TryGetValue(key, out var list)) _map[key] = list = new();
            var clash = list.FirstOrDefault(e => e.Since == a.SinceVersion);
            if (clash.Converter is not null)
                throw new ArgumentException(
                    $"duplicate converter for {(a.Domain.Length > 0 ? a.Domain + "." : "")}{a.OpType} since opset {a.SinceVersion}: {clash.Converter.GetType().FullName} and {type.FullName}", "converters");
            list.Add((a.SinceVersion, converter));
            list.Sort((x, y) => x.Since.CompareTo(y.Since));
            _registrations.Add(new OpRegistration(a.Domain, a.OpType, a.SinceVersion, type));
        }
        _converters.Add(converter);
    }
}
