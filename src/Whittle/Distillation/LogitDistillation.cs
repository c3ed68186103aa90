using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Distillation;

/// <summary>
/// Hinton et al.'s knowledge-distillation loss on class logits ("Distilling the Knowledge in a
/// Neural Network", 2015), as pure tensor math:
/// <c>loss = α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(s, y)</c>, with s the student's
/// logits [B, C], t the teacher's [B, C], y the labels (int64 [B]), the KL averaged over the batch
/// (PyTorch's <c>F.kl_div(F.log_softmax(s/T, 1), F.softmax(t/T, 1), reduction='batchmean')</c>)
/// and CE the mean cross-entropy on the hard labels (<c>F.cross_entropy(s, y)</c>).
/// With logit standardization (Sun et al., "Logit Standardization in Knowledge Distillation",
/// CVPR 2024) the soft term compares <see cref="Standardize"/>d logits, so the student matches the
/// teacher's logit relations but not their range; the hard term stays on the raw logits.
/// </summary>
/// <remarks>
/// The T² keeps the soft term's gradients on the scale of the hard term's as T grows (they shrink
/// as 1/T²), so α means the same at every temperature. The teacher's logits are detached: no
/// gradient flows into the teacher. Results are scalars in the student logits' dtype that
/// autograd differentiates with respect to the student; run them inside the caller's
/// <c>torch.NewDisposeScope()</c>.
/// </remarks>
public static class LogitDistillation
{
    /// <summary>The distillation loss <c>α·soft + (1 − α)·hard</c>, a scalar.</summary>
    /// <param name="studentLogits">The student's logits, floating point [B, C].</param>
    /// <param name="teacherLogits">The teacher's logits, the same shape (detached here).</param>
    /// <param name="labels">The class of each sample, int64 [B], each in [0, C).</param>
    /// <param name="temperature">T, positive and finite; 1 leaves the softmax as it is.</param>
    /// <param name="alpha">α in [0, 1], the weight of the soft term: 0 is plain cross-entropy, 1 pure distillation.</param>
    /// <exception cref="InvalidOptionException"><paramref name="temperature"/> or <paramref name="alpha"/> is out of range.</exception>
    /// <exception cref="ArgumentException">A shape or dtype does not fit, or a label is out of range.</exception>
    public static Tensor Loss(Tensor studentLogits, Tensor teacherLogits, Tensor labels, double temperature, double alpha)
    {
        var terms = Terms(studentLogits, teacherLogits, labels, temperature, alpha);
        return terms.TakeLoss();
    }

    /// <summary>
    /// The distillation loss with the soft term on standardized logits:
    /// <c>α·T²·KL(softmax(Z(t)/T) ‖ softmax(Z(s)/T)) + (1 − α)·CE(s, y)</c>, Z = <see cref="Standardize"/>.
    /// </summary>
    /// <param name="studentLogits">The student's logits, floating point [B, C], C ≥ 2.</param>
    /// <param name="teacherLogits">The teacher's logits, the same shape (detached here).</param>
    /// <param name="labels">The class of each sample, int64 [B], each in [0, C).</param>
    /// <param name="temperature">T, positive and finite, applied after standardization.</param>
    /// <param name="alpha">α in [0, 1], the weight of the soft term.</param>
    /// <exception cref="InvalidOptionException"><paramref name="temperature"/> or <paramref name="alpha"/> is out of range.</exception>
    /// <exception cref="ArgumentException">A shape or dtype does not fit, a label is out of range, or there is one class.</exception>
    public static Tensor StandardizedLoss(Tensor studentLogits, Tensor teacherLogits, Tensor labels, double temperature, double alpha)
    {
        var terms = StandardizedTerms(studentLogits, teacherLogits, labels, temperature, alpha);
        return terms.TakeLoss();
    }

    /// <summary>The loss of <see cref="StandardizedLoss"/> and its two terms (the soft one on standardized logits, before α).</summary>
    /// <param name="studentLogits">The student's logits, floating point [B, C], C ≥ 2.</param>
    /// <param name="teacherLogits">The teacher's logits, the same shape (detached here).</param>
    /// <param name="labels">The class of each sample, int64 [B], each in [0, C).</param>
    /// <param name="temperature">T, positive and finite, applied after standardization.</param>
    /// <param name="alpha">α in [0, 1], the weight of the soft term.</param>
    /// <exception cref="InvalidOptionException"><paramref name="temperature"/> or <paramref name="alpha"/> is out of range.</exception>
    /// <exception cref="ArgumentException">A shape or dtype does not fit, a label is out of range, or there is one class.</exception>
    public static LogitDistillationTerms StandardizedTerms(Tensor studentLogits, Tensor teacherLogits, Tensor labels, double temperature, double alpha)
    {
        CheckAlpha(alpha);
        OptionChecks.Positive(temperature, "Temperature");
        CheckLogits(studentLogits, nameof(studentLogits));
        ArgumentNullException.ThrowIfNull(teacherLogits);
        using var student = Standardize(studentLogits);
        using var detached = teacherLogits.detach();
        using var teacher = Standardize(detached);
        var soft = SoftTerm(student, teacher, temperature);
        return Combine(soft, studentLogits, labels, alpha);
    }

    /// <summary>
    /// Each row's Z-score, <c>(z − mean(z)) / (std(z) + 1e-7)</c> with the unbiased standard
    /// deviation over the classes (PyTorch's <c>z.std(dim=1, keepdim=True)</c>): logits with mean 0
    /// and standard deviation 1 per sample, whose arg-max is the original's.
    /// </summary>
    /// <param name="logits">Floating point [B, C], C ≥ 2.</param>
    /// <exception cref="ArgumentException">The logits are not [B, C] floating point with at least two classes.</exception>
    public static Tensor Standardize(Tensor logits)
    {
        CheckLogits(logits, nameof(logits));
        if (logits.shape[1] < 2)
            throw new ArgumentException($"Logit standardization needs at least two classes, got {Shape(logits)}.", nameof(logits));
        using var mean = logits.mean([1L], keepdim: true);
        using var centered = logits.sub(mean);
        using var std = logits.std(1, true, true);
        // ε and the alpha are held for the call (docs/engine.md: an implicit Scalar can be finalized while libtorch reads it).
        using var denominator = Engine.HeldScalars.Add(std, 1e-7);
        return centered.div(denominator);
    }

    /// <summary>
    /// The distillation loss with the soft term weighted per sample (see
    /// <see cref="SoftTerm(Tensor, Tensor, Tensor, double)"/>), e.g. to trust the teacher only
    /// where it is right.
    /// </summary>
    /// <param name="studentLogits">The student's logits, floating point [B, C].</param>
    /// <param name="teacherLogits">The teacher's logits, the same shape (detached here).</param>
    /// <param name="labels">The class of each sample, int64 [B], each in [0, C).</param>
    /// <param name="softWeights">One weight in [0, 1] per sample, floating point [B] (detached here).</param>
    /// <param name="temperature">T, positive and finite.</param>
    /// <param name="alpha">α in [0, 1], the weight of the soft term.</param>
    /// <exception cref="InvalidOptionException"><paramref name="temperature"/> or <paramref name="alpha"/> is out of range.</exception>
    /// <exception cref="ArgumentException">A shape or dtype does not fit, a label or a weight is out of range.</exception>
    public static Tensor Loss(Tensor studentLogits, Tensor teacherLogits, Tensor labels, Tensor softWeights, double temperature, double alpha)
    {
        var terms = Terms(studentLogits, teacherLogits, labels, softWeights, temperature, alpha);
        return terms.TakeLoss();
    }

    /// <summary>The loss and its two terms from one computation, for training and logging.</summary>
    /// <param name="studentLogits">The student's logits, floating point [B, C].</param>
    /// <param name="teacherLogits">The teacher's logits, the same shape (detached here).</param>
    /// <param name="labels">The class of each sample, int64 [B], each in [0, C).</param>
    /// <param name="temperature">T, positive and finite.</param>
    /// <param name="alpha">α in [0, 1], the weight of the soft term.</param>
    /// <exception cref="InvalidOptionException"><paramref name="temperature"/> or <paramref name="alpha"/> is out of range.</exception>
    /// <exception cref="ArgumentException">A shape or dtype does not fit, or a label is out of range.</exception>
    public static LogitDistillationTerms Terms(Tensor studentLogits, Tensor teacherLogits, Tensor labels, double temperature, double alpha)
    {
        CheckAlpha(alpha);
        var soft = SoftTerm(studentLogits, teacherLogits, temperature);
        return Combine(soft, studentLogits, labels, alpha);
    }

    /// <summary>The loss and its two terms, the soft term weighted per sample.</summary>
    /// <param name="studentLogits">The student's logits, floating point [B, C].</param>
    /// <param name="teacherLogits">The teacher's logits, the same shape (detached here).</param>
    /// <param name="labels">The class of each sample, int64 [B], each in [0, C).</param>
    /// <param name="softWeights">One weight in [0, 1] per sample, floating point [B] (detached here).</param>
    /// <param name="temperature">T, positive and finite.</param>
    /// <param name="alpha">α in [0, 1], the weight of the soft term.</param>
    /// <exception cref="InvalidOptionException"><paramref name="temperature"/> or <paramref name="alpha"/> is out of range.</exception>
    /// <exception cref="ArgumentException">A shape or dtype does not fit, a label or a weight is out of range.</exception>
    public static LogitDistillationTerms Terms(Tensor studentLogits, Tensor teacherLogits, Tensor labels, Tensor softWeights, double temperature, double alpha)
    {
        CheckAlpha(alpha);
        var soft = SoftTerm(studentLogits, teacherLogits, softWeights, temperature);
        return Combine(soft, studentLogits, labels, alpha);
    }

    /// <summary>
    /// The soft term <c>T²·KL(softmax(t/T) ‖ softmax(s/T))</c> averaged over the batch (PyTorch's
    /// <c>T*T*F.kl_div(..., reduction='batchmean')</c>), a scalar; zero when the student's and the
    /// teacher's logits are equal.
    /// </summary>
    /// <param name="studentLogits">The student's logits, floating point [B, C].</param>
    /// <param name="teacherLogits">The teacher's logits, the same shape (detached here).</param>
    /// <param name="temperature">T, positive and finite.</param>
    /// <exception cref="InvalidOptionException"><paramref name="temperature"/> is not positive and finite.</exception>
    /// <exception cref="ArgumentException">A shape or dtype does not fit.</exception>
    public static Tensor SoftTerm(Tensor studentLogits, Tensor teacherLogits, double temperature)
    {
        using var divergence = PerSampleDivergence(studentLogits, teacherLogits, temperature);
        using var mean = divergence.mean();
        return mean.mul(temperature * temperature);
    }

    /// <summary>
    /// The soft term weighted per sample: <c>T²·(1/B)·Σᵢ wᵢ·KLᵢ</c>, the batch mean of the
    /// weighted per-sample divergences. The mean is over all B samples, not over the weights'
    /// sum, so a sample with weight 0 lowers the term rather than giving the others more say;
    /// all-ones weights give <see cref="SoftTerm(Tensor, Tensor, double)"/>.
    /// </summary>
    /// <param name="studentLogits">The student's logits, floating point [B, C].</param>
    /// <param name="teacherLogits">The teacher's logits, the same shape (detached here).</param>
    /// <param name="softWeights">One weight in [0, 1] per sample, floating point [B] (detached here).</param>
    /// <param name="temperature">T, positive and finite.</param>
    /// <exception cref="InvalidOptionException"><paramref name="temperature"/> is not positive and finite.</exception>
    /// <exception cref="ArgumentException">A shape or dtype does not fit, or a weight is outside [0, 1].</exception>
    public static Tensor SoftTerm(Tensor studentLogits, Tensor teacherLogits, Tensor softWeights, double temperature)
    {
        using var divergence = PerSampleDivergence(studentLogits, teacherLogits, temperature);
        using var weights = CheckedWeights(softWeights, studentLogits, nameof(softWeights));
        using var weighted = divergence.mul(weights);
        using var mean = weighted.mean();
        return mean.mul(temperature * temperature);
    }

    /// <summary>The hard term, the mean cross-entropy of the student's logits on the labels (<c>F.cross_entropy(s, y)</c>), a scalar.</summary>
    /// <param name="studentLogits">The student's logits, floating point [B, C].</param>
    /// <param name="labels">The class of each sample, int64 [B], each in [0, C).</param>
    /// <exception cref="ArgumentException">A shape or dtype does not fit, or a label is out of range.</exception>
    public static Tensor HardTerm(Tensor studentLogits, Tensor labels)
    {
        CheckLogits(studentLogits, nameof(studentLogits));
        CheckLabels(labels, studentLogits);
        return F.cross_entropy(studentLogits, labels);
    }

    /// <summary>
    /// Each sample's <c>KL(softmax(t/T) ‖ softmax(s/T))</c>, [B], without the T² factor
    /// (PyTorch's <c>F.kl_div(F.log_softmax(s/T, 1), F.softmax(t/T, 1), reduction='none').sum(1)</c>):
    /// what the soft term averages, and what a gate or a log may look at per sample.
    /// </summary>
    /// <param name="studentLogits">The student's logits, floating point [B, C].</param>
    /// <param name="teacherLogits">The teacher's logits, the same shape (detached here).</param>
    /// <param name="temperature">T, positive and finite.</param>
    /// <exception cref="InvalidOptionException"><paramref name="temperature"/> is not positive and finite.</exception>
    /// <exception cref="ArgumentException">A shape or dtype does not fit.</exception>
    public static Tensor PerSampleDivergence(Tensor studentLogits, Tensor teacherLogits, double temperature)
    {
        OptionChecks.Positive(temperature, "Temperature");
        CheckLogits(studentLogits, nameof(studentLogits));
        ArgumentNullException.ThrowIfNull(teacherLogits);
        if (!teacherLogits.shape.SequenceEqual(studentLogits.shape))
            throw new ArgumentException(
                $"The teacher's logits have shape {Shape(teacherLogits)}, the student's {Shape(studentLogits)}; distillation needs the same [batch, classes].",
                nameof(teacherLogits));
        if (!teacherLogits.is_floating_point())
            throw new ArgumentException($"The teacher's logits must be floating point, got {teacherLogits.dtype}.", nameof(teacherLogits));

        using var detached = teacherLogits.detach();
        using var teacher = detached.to(studentLogits.dtype);
        using var scaledStudent = studentLogits.div(temperature);
        using var scaledTeacher = teacher.div(temperature);
        using var logStudent = F.log_softmax(scaledStudent, 1);
        using var logTeacher = F.log_softmax(scaledTeacher, 1);
        // Σ p_t·(log p_t − log p_s), with log p_t from log_softmax rather than log(softmax): the
        // same value as PyTorch's kl_div on softmax targets, without log of an underflowed 0.
        using var teacherProbabilities = logTeacher.exp();
        using var logRatio = logTeacher.sub(logStudent);
        using var terms = teacherProbabilities.mul(logRatio);
        return terms.sum(1);
    }

    private static LogitDistillationTerms Combine(Tensor soft, Tensor studentLogits, Tensor labels, double alpha)
    {
        Tensor? hard = null;
        try
        {
            hard = HardTerm(studentLogits, labels);
            using var weightedSoft = soft.mul(alpha);
            using var weightedHard = hard.mul(1 - alpha);
            var loss = Engine.HeldScalars.Add(weightedSoft, weightedHard);
            return new LogitDistillationTerms(loss, soft, hard);
        }
        catch
        {
            soft.Dispose();
            hard?.Dispose();
            throw;
        }
    }

    private static void CheckAlpha(double alpha) => OptionChecks.InRange(alpha, "Alpha", 0, 1, includeMaximum: true);

    private static void CheckLogits(Tensor logits, string parameter)
    {
        ArgumentNullException.ThrowIfNull(logits, parameter);
        if (logits.Dimensions != 2 || logits.shape[0] < 1 || logits.shape[1] < 1)
            throw new ArgumentException($"Distillation expects the student's logits as [batch, classes], got {Shape(logits)}.", parameter);
        if (!logits.is_floating_point())
            throw new ArgumentException($"The student's logits must be floating point, got {logits.dtype}.", parameter);
    }

    private static void CheckLabels(Tensor labels, Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.dtype != ScalarType.Int64 || labels.Dimensions != 1 || labels.shape[0] != logits.shape[0])
            throw new ArgumentException(
                $"Labels must be int64 [{logits.shape[0]}] (one class per sample), got {labels.dtype} {Shape(labels)}.", nameof(labels));
        // libtorch's own message for an out-of-range class is a native stack trace.
        using var low = labels.min();
        using var high = labels.max();
        long min = low.item<long>(), max = high.item<long>();
        if (min < 0 || max >= logits.shape[1])
            throw new ArgumentException(
                $"Labels must be in [0, {logits.shape[1]}) for {logits.shape[1]} classes, got {(min < 0 ? min : max)}.", nameof(labels));
    }

    private static Tensor CheckedWeights(Tensor weights, Tensor logits, string parameter)
    {
        ArgumentNullException.ThrowIfNull(weights, parameter);
        if (!weights.is_floating_point() || weights.Dimensions != 1 || weights.shape[0] != logits.shape[0])
            throw new ArgumentException(
                $"Soft weights must be floating point [{logits.shape[0]}] (one per sample), got {weights.dtype} {Shape(weights)}.", parameter);
        using var detachedWeights = weights.detach();
        var detached = detachedWeights.to(logits.dtype);
        using var atLeastZero = detached.ge(0);
        using var atMostOne = detached.le(1);
        using var inRange = atLeastZero.logical_and(atMostOne); // NaN fails both comparisons
        using var all = inRange.all();
        if (!all.item<bool>())
        {
            detached.Dispose();
            throw new ArgumentException("Soft weights must be in [0, 1] (and not NaN).", parameter);
        }
        return detached;
    }

    private static string Shape(Tensor t) => $"[{string.Join(", ", t.shape)}]";
}
