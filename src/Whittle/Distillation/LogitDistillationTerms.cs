using static TorchSharp.torch;

namespace Whittle.Distillation;

/// <summary>
/// One batch's distillation loss and the two terms it is made of, from
/// <see cref="LogitDistillation.Terms(Tensor, Tensor, Tensor, double, double)"/>:
/// <c>Loss = α·Soft + (1 − α)·Hard</c>. All three are scalars on the student's autograd graph;
/// train on <see cref="Loss"/>, log the terms (e.g. with <c>ToDouble()</c>). Disposing releases
/// the three handles (a dispose scope does too).
/// </summary>
public sealed class LogitDistillationTerms : IDisposable
{
    internal LogitDistillationTerms(Tensor loss, Tensor soft, Tensor hard)
    {
        Loss = loss;
        Soft = soft;
        Hard = hard;
    }

    /// <summary>The loss to minimize, <c>α·Soft + (1 − α)·Hard</c>.</summary>
    public Tensor Loss { get; }

    /// <summary>The soft term, <c>T²·KL</c> averaged over the batch (weighted per sample when weights were given), before α.</summary>
    public Tensor Soft { get; }

    /// <summary>The hard term, the mean cross-entropy on the labels, before (1 − α).</summary>
    public Tensor Hard { get; }

    /// <summary>Releases the terms and hands over the loss, which the caller then owns.</summary>
    internal Tensor TakeLoss()
    {
        Soft.Dispose();
        Hard.Dispose();
        return Loss;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Loss.Dispose();
        Soft.Dispose();
        Hard.Dispose();
    }
}
