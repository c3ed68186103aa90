namespace Whittle.Evaluation;

/// <summary>How closely one output of a candidate follows the same output of a reference.</summary>
/// <param name="Output">The output's name.</param>
/// <param name="Shape">The shape of the last batch compared (batch first).</param>
/// <param name="Values">Values compared.</param>
/// <param name="MaxAbsDifference">Largest |reference − candidate|; infinite where exactly one of a pair is NaN or infinite.</param>
/// <param name="MaxRelativeDifference">Largest |reference − candidate| / max(|reference|, 1e-12).</param>
/// <param name="SqnrDb">Signal-to-noise ratio 10·log10(Σx² / Σ(x − x̂)²) in dB over the finite pairs; infinite when identical.</param>
/// <param name="Cosine">Cosine similarity of reference and candidate, sample by sample (rows of the batch), averaged.</param>
/// <param name="MinCosine">The lowest cosine of any one sample.</param>
/// <param name="Top1Agreement">For [batch, classes] outputs: the share of samples whose arg-max agrees; otherwise null.</param>
/// <param name="NonFiniteMismatches">Values where exactly one side is NaN or infinite, or both are but differ (NaN against ±∞).</param>
public sealed record OutputDifference(string Output, long[] Shape, long Values, double MaxAbsDifference, double MaxRelativeDifference,
    double SqnrDb, double Cosine, double MinCosine, double? Top1Agreement, long NonFiniteMismatches)
{
    /// <summary>The shape as text, e.g. <c>[8,10]</c>.</summary>
    public string ShapeText => $"[{string.Join(",", Shape)}]";
}

/// <summary>
/// Streams pairs of output values (reference, candidate) and accumulates every agreement measure
/// Whittle reports: max absolute and relative difference, SQNR, per-sample cosine, arg-max
/// agreement, NaN/∞ mismatches. NaN-aware: two NaNs (or two equal infinities) at the same place
/// agree; one alone is an infinite difference. The one comparison behind fold-bn, pruning,
/// training write-back, <c>check</c> and quantization verification.
/// </summary>
public sealed class OutputComparer
{
    private double _signal, _noise, _cosineSum, _minCosine = 1;
    private long _rows, _sameTop1, _values, _nonFinite;
    private bool _classScores = true;
    private double _maxAbs, _maxRel;
    private long[] _shape = [];

    /// <summary>Starts an empty comparison of the output <paramref name="output"/>.</summary>
    public OutputComparer(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        Output = output;
    }

    /// <summary>The output's name.</summary>
    public string Output { get; }

    /// <summary>Values compared so far.</summary>
    public long Values => _values;

    /// <summary>Adds one batch of the output from both sides.</summary>
    /// <param name="reference">The reference values.</param>
    /// <param name="candidate">The candidate values, as many as the reference.</param>
    /// <param name="shape">The batch's shape (batch first), which gives the rows for cosine and arg-max; null treats the batch as one row.</param>
    /// <exception cref="WhittleException">The two sides differ in size.</exception>
    public void Add(ReadOnlySpan<float> reference, ReadOnlySpan<float> candidate, long[]? shape = null)
    {
        if (reference.Length != candidate.Length)
            throw new WhittleException($"output '{Output}' has {reference.Length} values in the reference and {candidate.Length} in the candidate");
        for (int i = 0; i < reference.Length; i++)
        {
            double x = reference[i], y = candidate[i];
            if (!double.IsFinite(x) || !double.IsFinite(y))
            {
                bool same = (double.IsNaN(x) && double.IsNaN(y)) || x.Equals(y);
                if (!same)
                {
                    _nonFinite++;
                    _maxAbs = _maxRel = double.PositiveInfinity;
                }
                continue;
            }
            double d = Math.Abs(x - y);
            _signal += x * x;
            _noise += d * d;
            _maxAbs = Math.Max(_maxAbs, d);
            _maxRel = Math.Max(_maxRel, d / Math.Max(Math.Abs(x), 1e-12));
        }
        _values += reference.Length;
        if (shape is not null) _shape = (long[])shape.Clone();
        int rows = shape is { Length: >= 1 } && shape[0] > 0 ? (int)shape[0] : 1;
        if (reference.Length == 0 || reference.Length % rows != 0) return;
        int width = reference.Length / rows;
        _classScores &= shape is { Length: 2 } && width > 1;
        for (int r = 0; r < rows; r++)
        {
            var a = reference.Slice(r * width, width);
            var b = candidate.Slice(r * width, width);
            double cosine = Cosine(a, b);
            _cosineSum += cosine;
            _minCosine = Math.Min(_minCosine, cosine);
            if (ClassScores.Argmax(a) == ClassScores.Argmax(b)) _sameTop1++;
            _rows++;
        }
    }

    /// <summary>
    /// Cosine similarity of two vectors, accumulated in double: 1 when both are all zero, and 0 when
    /// only one is (the tiny guard keeps that case from dividing by zero).
    /// </summary>
    /// <exception cref="ArgumentException">The vectors differ in length.</exception>
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"the vectors have {a.Length} and {b.Length} values");
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return na == 0 && nb == 0 ? 1 : dot / Math.Sqrt(na * nb + 1e-300);
    }

    /// <summary>The agreement so far.</summary>
    public OutputDifference Result() => new(Output, _shape, _values, _maxAbs, _maxRel,
        _noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(_signal / _noise),
        _rows == 0 ? 1 : _cosineSum / _rows, _minCosine,
        _classScores && _rows > 0 ? (double)_sameTop1 / _rows : null, _nonFinite);
}
