using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whittle.Training;

/// <summary>
/// The loss a <see cref="Trainer"/> minimizes, from a batch's module outputs and class labels,
/// and how outputs turn into predicted classes for accuracy and F1. Built in:
/// <see cref="CrossEntropy"/>, <see cref="MeanSquaredError"/> and <see cref="BinaryCrossEntropyWithLogits"/>.
/// Subclass it for anything else (e.g. a distillation loss that runs a teacher on the input).
/// </summary>
public abstract class TrainingLoss
{
    /// <summary>The mean loss of one batch, a scalar tensor that autograd can differentiate.</summary>
    /// <param name="input">The batch's input, as given to the module.</param>
    /// <param name="outputs">The module's outputs for <paramref name="input"/>, batch axis first.</param>
    /// <param name="labels">The class index of each sample, int64 [B].</param>
    public abstract Tensor Compute(Tensor input, Tensor outputs, Tensor labels);

    /// <summary>
    /// The loss validation data is scored with, so that the validation loss of every epoch measures
    /// the same thing and the best epoch can be chosen by it: this loss itself by default. A loss
    /// whose value depends on the state of the run (a distillation loss whose α is annealed between
    /// epochs, or whose teacher's targets are not the task) returns the task's own loss here.
    /// </summary>
    public virtual TrainingLoss ValidationLoss => this;

    /// <summary>
    /// The predicted class of each sample, int64 [B]: the arg-max over the last axis when it has
    /// more than one element, otherwise 1 where the single output is positive.
    /// </summary>
    /// <param name="outputs">The module's outputs, batch axis first.</param>
    public virtual Tensor PredictClasses(Tensor outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        return IsSingleOutput(outputs) ? outputs.reshape(outputs.shape[0]).gt(0).to(ScalarType.Int64) : outputs.argmax(-1);
    }

    /// <summary>Checks that the loss fits a dataset of <paramref name="classCount"/> classes; throws <see cref="ArgumentException"/> if not.</summary>
    /// <param name="classCount">The dataset's number of classes.</param>
    public virtual void CheckClassCount(int classCount)
    {
    }

    /// <summary>True when <paramref name="outputs"/> has one value per sample ([B] or [B, 1]).</summary>
    private protected static bool IsSingleOutput(Tensor outputs) => outputs.Dimensions == 1 || (outputs.Dimensions == 2 && outputs.shape[1] == 1);

    /// <summary>
    /// Float targets shaped like <paramref name="outputs"/>: the label itself (0 or 1) for a
    /// single output per sample, else one-hot rows over the last axis.
    /// </summary>
    private protected static Tensor FloatTargets(Tensor outputs, Tensor labels)
    {
        if (IsSingleOutput(outputs)) return labels.to(outputs.dtype).reshape(outputs.shape);
        if (outputs.Dimensions != 2)
            throw new ArgumentException($"Expected outputs of shape [batch, classes] or [batch], got [{string.Join(", ", outputs.shape)}].", nameof(outputs));
        return F.one_hot(labels, outputs.shape[1]).to(outputs.dtype);
    }
}

/// <summary>
/// Softmax cross-entropy over class logits [B, C] (PyTorch's <c>F.cross_entropy</c>), with
/// optional label smoothing ε, which trains towards (1 − ε)·one-hot + ε/C, and optional
/// per-class weights.
/// </summary>
public sealed class CrossEntropy : TrainingLoss
{
    private readonly float[]? _classWeights;

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="labelSmoothing">ε in [0, 1).</param>
    /// <param name="classWeights">One positive finite weight per class (the loss is then the weighted mean, as in PyTorch), or null for equal weights.</param>
    public CrossEntropy(double labelSmoothing = 0, IReadOnlyList<float>? classWeights = null)
    {
        OptionChecks.InRange(labelSmoothing, nameof(LabelSmoothing), 0, 1);
        if (classWeights is not null)
        {
            if (classWeights.Count == 0) throw new InvalidOptionException(nameof(ClassWeights), "ClassWeights is empty; pass null for equal weights");
            for (int i = 0; i < classWeights.Count; i++)
                if (!(classWeights[i] > 0) || !float.IsFinite(classWeights[i]))
                    throw new InvalidOptionException(nameof(ClassWeights),
                        FormattableString.Invariant($"ClassWeights must be positive and finite, got {classWeights[i]} for class {i}"));
            _classWeights = classWeights.ToArray();
        }
        LabelSmoothing = labelSmoothing;
    }

    /// <summary>ε, the label smoothing.</summary>
    public double LabelSmoothing { get; }

    /// <summary>The per-class weights, or null for equal weights.</summary>
    public IReadOnlyList<float>? ClassWeights => _classWeights;

    /// <inheritdoc />
    public override Tensor Compute(Tensor input, Tensor outputs, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(labels);
        if (outputs.Dimensions != 2)
            throw new ArgumentException($"Cross-entropy expects logits of shape [batch, classes], got [{string.Join(", ", outputs.shape)}].", nameof(outputs));
        using var weights = _classWeights is null ? null : tensor(_classWeights, dtype: outputs.dtype, device: outputs.device);
        return F.cross_entropy(outputs, labels, weight: weights, label_smoothing: LabelSmoothing);
    }

    /// <inheritdoc />
    public override void CheckClassCount(int classCount)
    {
        if (_classWeights is not null && _classWeights.Length != classCount)
            throw new InvalidOptionException(nameof(ClassWeights), $"ClassWeights has {_classWeights.Length} weights for a dataset of {classCount} classes");
    }

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant(
        $"CrossEntropy(labelSmoothing={LabelSmoothing}, classWeights={(_classWeights is null ? "none" : "[" + string.Join(",", _classWeights) + "]")})");
}

/// <summary>
/// Mean squared error between the outputs and the labels as float targets: one-hot rows for
/// outputs [B, C], the 0/1 label for one output per sample. Predictions: arg-max, or output &gt; 0.5.
/// </summary>
public sealed class MeanSquaredError : TrainingLoss
{
    /// <inheritdoc />
    public override Tensor Compute(Tensor input, Tensor outputs, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(labels);
        using var targets = FloatTargets(outputs, labels);
        return F.mse_loss(outputs, targets);
    }

    /// <inheritdoc />
    public override Tensor PredictClasses(Tensor outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        return IsSingleOutput(outputs) ? outputs.reshape(outputs.shape[0]).gt(0.5).to(ScalarType.Int64) : outputs.argmax(-1);
    }

    /// <inheritdoc />
    public override string ToString() => "MeanSquaredError";
}

/// <summary>
/// Binary cross-entropy on logits (PyTorch's <c>F.binary_cross_entropy_with_logits</c>): one
/// logit per sample against the 0/1 label, or one logit per class against one-hot rows
/// (independent sigmoids). Predictions: logit &gt; 0, or the arg-max.
/// </summary>
public sealed class BinaryCrossEntropyWithLogits : TrainingLoss
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="positiveWeight">Weight of positive targets (PyTorch's <c>pos_weight</c>); positive and finite. 1 weighs both alike.</param>
    public BinaryCrossEntropyWithLogits(double positiveWeight = 1)
    {
        OptionChecks.Positive(positiveWeight, nameof(PositiveWeight));
        PositiveWeight = positiveWeight;
    }

    /// <summary>Weight of positive targets.</summary>
    public double PositiveWeight { get; }

    /// <inheritdoc />
    public override Tensor Compute(Tensor input, Tensor outputs, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(labels);
        using var targets = FloatTargets(outputs, labels);
        if (PositiveWeight == 1) return F.binary_cross_entropy_with_logits(outputs, targets);
        using var positiveWeight = tensor(PositiveWeight, dtype: outputs.dtype, device: outputs.device);
        return F.binary_cross_entropy_with_logits(outputs, targets, pos_weights: positiveWeight);
    }

    /// <inheritdoc />
    public override void CheckClassCount(int classCount)
    {
        if (classCount < 2) throw new ArgumentException($"Binary cross-entropy needs at least two classes; the dataset has {classCount}.");
    }

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant($"BinaryCrossEntropyWithLogits(positiveWeight={PositiveWeight})");
}
