namespace Whittle.Quantization;

/// <summary>
/// The per-op quantizers static quantization marks with, one per op type (default domain).
/// <see cref="Default"/> holds Whittle's own; a program adds a quantizer for an op type Whittle
/// leaves in float with <c>OpQuantizerRegistry.Default.With(new MyQuantizer())</c> and passes the
/// registry in <see cref="StaticQuantizationOptions.OpQuantizers"/>. To replace a built-in
/// quantizer, build a registry from <see cref="Quantizers"/> without it. Quantizers only mark;
/// <see cref="QdqRewriter"/> turns the marks into QuantizeLinear/DequantizeLinear pairs.
/// </summary>
public sealed class OpQuantizerRegistry
{
    private readonly Dictionary<string, IOpQuantizer> _byOpType = new(StringComparer.Ordinal);
    private readonly List<IOpQuantizer> _quantizers = new();

    /// <summary>Whittle's quantizers: Conv/ConvTranspose, Gemm, MatMul, elementwise ops, data movement, Gather.</summary>
    public static OpQuantizerRegistry Default { get; } = new(
        [new ConvQuantizer(), new GemmQuantizer(), new MatMulQuantizer(), new ElementwiseQuantizer(), new DataMovementQuantizer(), new GatherQuantizer()]);

    /// <summary>A registry of exactly <paramref name="quantizers"/>.</summary>
    /// <param name="quantizers">The quantizers; to keep Whittle's own as well, use <see cref="With"/> on <see cref="Default"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="quantizers"/> or one of its entries is null.</exception>
    /// <exception cref="ArgumentException">
    /// A quantizer lists no op type or a blank one, or two quantizers claim the same op type; the
    /// message names the op type and both classes.
    /// </exception>
    public OpQuantizerRegistry(IEnumerable<IOpQuantizer> quantizers)
    {
        ArgumentNullException.ThrowIfNull(quantizers);
        foreach (var quantizer in quantizers)
        {
            ArgumentNullException.ThrowIfNull(quantizer, nameof(quantizers));
            var opTypes = quantizer.OpTypes ?? [];
            if (opTypes.Count == 0 || opTypes.Any(string.IsNullOrWhiteSpace))
                throw new ArgumentException($"{quantizer.GetType().FullName} must list the op types it quantizes, none blank", nameof(quantizers));
            foreach (var opType in opTypes)
            {
                if (_byOpType.TryGetValue(opType, out var clash))
                    throw new ArgumentException($"duplicate quantizer for {opType}: {clash.GetType().FullName} and {quantizer.GetType().FullName}", nameof(quantizers));
                _byOpType[opType] = quantizer;
            }
            _quantizers.Add(quantizer);
        }
    }

    /// <summary>A new registry with this one's quantizers and <paramref name="quantizers"/> (this one is unchanged).</summary>
    /// <exception cref="ArgumentException">A new quantizer claims an op type already handled here (or by another new one).</exception>
    public OpQuantizerRegistry With(params IOpQuantizer[] quantizers)
    {
        ArgumentNullException.ThrowIfNull(quantizers);
        return new OpQuantizerRegistry(_quantizers.Concat(quantizers));
    }

    /// <summary>The quantizers, in registration order.</summary>
    public IReadOnlyList<IOpQuantizer> Quantizers => _quantizers;

    /// <summary>Every op type some quantizer handles.</summary>
    public IReadOnlySet<string> OpTypes => _byOpType.Keys.ToHashSet(StringComparer.Ordinal);

    /// <summary>The quantizer for a default-domain op type, or null when the op stays in float.</summary>
    public IOpQuantizer? Find(string opType) => _byOpType.GetValueOrDefault(opType);
}
