using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Distillation;

/// <summary>
/// The loss math of logit distillation (Hinton, Vinyals &amp; Dean 2015), apart from any training
/// loop: <c>loss = α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(s, y)</c>, with the KL term
/// summed over classes and averaged over the batch (PyTorch's
/// <c>F.kl_div(F.log_softmax(s/T), F.softmax(t/T), reduction="batchmean")</c>) and CE the mean
/// cross-entropy on the labels. T² keeps the soft term's gradients on the scale of the hard
/// term's as T grows. Tensors in, a differentiable scalar out; checked against PyTorch to 1e-6
/// (tests/fixtures/distillation_reference.py).
/// </summary>
public static class LogitDistillation
{
    /// <summary>The whole loss.</summary>
    /// <param name="student">Student logits [B, C].</param>
    /// <param name="teacher">Teacher logits [B, C] (no gradient flows into them).</param>
    /// <param name="labels">Class indices, int64 [B].</param>
    /// <param name="temperature">T, positive.</param>
    /// <param name="alpha">α in [0, 1].</param>
    public static Tensor Loss(Tensor student, Tensor teacher, Tensor labels, double temperature, double alpha)
    {
        CheckAlpha(alpha);
        if (alpha == 0) return HardTerm(student, labels);
        var soft = SoftTerm(student, teacher, temperature);
        if (alpha == 1) return soft.mul(temperature * temperature);
        return soft.mul(alpha * temperature * temperature).add(HardTerm(student, labels).mul(1 - alpha));
    }

    /// <summary>KL(softmax(t/T) ‖ softmax(s/T)), summed over classes and averaged over the batch (without the T² factor).</summary>
    /// <param name="student">Student logits [B, C].</param>
    /// <param name="teacher">Teacher logits [B, C].</param>
    /// <param name="temperature">T, positive.</param>
    public static Tensor SoftTerm(Tensor student, Tensor teacher, double temperature)
    {
        CheckShapes(student, teacher);
        CheckTemperature(temperature);
        return PerSampleSoftTerm(student, teacher, temperature).mean();
    }

    /// <summary>
    /// The soft term with a weight per sample (e.g. 1 where the teacher is right, 0 where it is
    /// wrong): mean over the batch of wᵢ·KLᵢ, the whole loss then
    /// α·T²·that + (1 − α)·CE.
    /// </summary>
    /// <param name="student">Student logits [B, C].</param>
    /// <param name="teacher">Teacher logits [B, C].</param>
    /// <param name="labels">Class indices, int64 [B].</param>
    /// <param name="weights">Per-sample weights [B], each in [0, 1].</param>
    /// <param name="temperature">T, positive.</param>
    /// <param name="alpha">α in [0, 1].</param>
    public static Tensor WeightedLoss(Tensor student, Tensor teacher, Tensor labels, Tensor weights, double temperature, double alpha)
    {
        CheckShapes(student, teacher);
        CheckTemperature(temperature);
        CheckAlpha(alpha);
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Dimensions != 1 || weights.shape[0] != student.shape[0])
            throw new ArgumentException($"weights must be [{student.shape[0]}], got [{string.Join(",", weights.shape)}]", nameof(weights));
        using (no_grad())
        {
            if (weights.lt(0).any().item<bool>() || weights.gt(1).any().item<bool>())
                throw new ArgumentException("every weight must be in [0, 1]", nameof(weights));
        }
        var soft = PerSampleSoftTerm(student, teacher, temperature).mul(weights.to_type(student.dtype)).mean();
        return soft.mul(alpha * temperature * temperature).add(HardTerm(student, labels).mul(1 - alpha));
    }

    /// <summary>CE(s, y): mean softmax cross-entropy of the student on the labels.</summary>
    /// <param name="student">Student logits [B, C].</param>
    /// <param name="labels">Class indices, int64 [B].</param>
    public static Tensor HardTerm(Tensor student, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(labels);
        if (student.Dimensions != 2) throw new ArgumentException($"student logits must be [batch, classes], got [{string.Join(",", student.shape)}]", nameof(student));
        if (labels.Dimensions != 1 || labels.shape[0] != student.shape[0])
            throw new ArgumentException($"labels must be [{student.shape[0]}], got [{string.Join(",", labels.shape)}]", nameof(labels));
        return F.cross_entropy(student, labels);
    }

    /// <summary>Σ_c p_c·(log p_c − log q_c) per sample, p = softmax(t/T) (constant), q = softmax(s/T).</summary>
    private static Tensor PerSampleSoftTerm(Tensor student, Tensor teacher, double temperature)
    {
        var logQ = F.log_softmax(student.div(temperature), 1);
        Tensor logP;
        using (no_grad()) logP = F.log_softmax(teacher.detach().to_type(student.dtype).div(temperature), 1);
        // p·(log p − log q); p·log p is 0 where p underflows to 0 (log p = −inf there, so use the product form safely).
        var p = logP.exp();
        return p.mul(logP.sub(logQ)).nan_to_num(0).sum(1);
    }

    private static void CheckShapes(Tensor student, Tensor teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        if (student.Dimensions != 2) throw new ArgumentException($"student logits must be [batch, classes], got [{string.Join(",", student.shape)}]", nameof(student));
        if (!student.shape.SequenceEqual(teacher.shape))
            throw new ArgumentException($"teacher logits [{string.Join(",", teacher.shape)}] do not match the student's [{string.Join(",", student.shape)}]", nameof(teacher));
    }

    private static void CheckTemperature(double temperature)
    {
        if (!(temperature > 0) || !double.IsFinite(temperature)) throw new InvalidOptionException("Temperature", $"the temperature must be a positive number, not {temperature}");
    }

    private static void CheckAlpha(double alpha)
    {
        if (!(alpha >= 0 && alpha <= 1)) throw new InvalidOptionException("Alpha", $"alpha must be in [0, 1], not {alpha}");
    }
}
