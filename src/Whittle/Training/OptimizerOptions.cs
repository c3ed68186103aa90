using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Whittle.Training;

/// <summary>The optimizers the <see cref="Trainer"/> can use; each is TorchSharp's own implementation.</summary>
public enum OptimizerKind
{
    /// <summary>Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay (<c>torch.optim.SGD</c>).</summary>
    Sgd,

    /// <summary>Adam with L2 weight decay added to the gradient (<c>torch.optim.Adam</c>).</summary>
    Adam,

    /// <summary>Adam with decoupled weight decay (<c>torch.optim.AdamW</c>).</summary>
    AdamW,

    /// <summary>RMSprop (<c>torch.optim.RMSprop</c>).</summary>
    RmsProp,

    /// <summary>Adagrad (<c>torch.optim.Adagrad</c>).</summary>
    Adagrad,
}

/// <summary>
/// Which optimizer to train with and its hyperparameters. Each subclass holds one optimizer's
/// settings with PyTorch's defaults; <see cref="LearningRate"/> is the base learning rate that a
/// <see cref="LearningRateSchedule"/> scales.
/// </summary>
public abstract class OptimizerOptions
{
    private protected OptimizerOptions(double learningRate, double weightDecay)
    {
        OptionChecks.Positive(learningRate, nameof(LearningRate));
        OptionChecks.NonNegative(weightDecay, nameof(WeightDecay));
        LearningRate = learningRate;
        WeightDecay = weightDecay;
    }

    /// <summary>Which optimizer these options configure.</summary>
    public abstract OptimizerKind Kind { get; }

    /// <summary>The base learning rate; the schedule's value at each step is derived from it.</summary>
    public double LearningRate { get; }

    /// <summary>The weight decay (L2 penalty, or decoupled decay for <see cref="OptimizerKind.AdamW"/>).</summary>
    public double WeightDecay { get; }

    /// <summary>
    /// Options for <paramref name="kind"/> with <paramref name="learningRate"/> and every other
    /// hyperparameter at its default: what a command line that names only the optimizer needs.
    /// </summary>
    /// <param name="kind">The optimizer.</param>
    /// <param name="learningRate">The base learning rate.</param>
    public static OptimizerOptions Create(OptimizerKind kind, double learningRate) => kind switch
    {
        OptimizerKind.Sgd => new SgdOptions(learningRate),
        OptimizerKind.Adam => new AdamOptions(learningRate),
        OptimizerKind.AdamW => new AdamWOptions(learningRate),
        OptimizerKind.RmsProp => new RmsPropOptions(learningRate),
        OptimizerKind.Adagrad => new AdagradOptions(learningRate),
        _ => throw OptionChecks.Invalid(nameof(Kind), $"one of {string.Join(", ", Enum.GetNames<OptimizerKind>())}", (int)kind),
    };

    /// <summary>These settings with another base learning rate (e.g. the one a <see cref="LearningRateFinder"/> suggests); every other hyperparameter is kept.</summary>
    /// <param name="learningRate">The new base learning rate; positive and finite.</param>
    public abstract OptimizerOptions WithLearningRate(double learningRate);

    /// <summary>Creates the TorchSharp optimizer over <paramref name="parameters"/>.</summary>
    internal abstract OptimizerHelper Create(IEnumerable<Parameter> parameters);

    /// <summary>Every hyperparameter as (name, value) pairs, for checkpoint compatibility checks and reports.</summary>
    internal abstract IEnumerable<(string Name, object Value)> Settings();

    /// <inheritdoc />
    public override string ToString() =>
        Kind + "(" + string.Join(", ", Settings().Select(s => FormattableString.Invariant($"{s.Name}={s.Value}"))) + ")";

    private protected static void ThrowIfNotFraction(double value, string option, bool allowOne = false) =>
        OptionChecks.InRange(value, option, 0, 1, includeMaximum: allowOne);

    private protected static void ThrowIfNotPositive(double value, string option) => OptionChecks.Positive(value, option);
}

/// <summary>Settings of <see cref="OptimizerKind.Sgd"/> (PyTorch's <c>torch.optim.SGD</c>).</summary>
public sealed class SgdOptions : OptimizerOptions
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="learningRate">The base learning rate (SGD has no default).</param>
    /// <param name="momentum">Momentum factor in [0, 1); 0 is plain SGD.</param>
    /// <param name="nesterov">Use Nesterov momentum; needs <paramref name="momentum"/> &gt; 0 and <paramref name="dampening"/> = 0.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="dampening">Dampening of the momentum, in [0, 1].</param>
    public SgdOptions(double learningRate, double momentum = 0, bool nesterov = false, double weightDecay = 0, double dampening = 0)
        : base(learningRate, weightDecay)
    {
        ThrowIfNotFraction(momentum, nameof(Momentum));
        ThrowIfNotFraction(dampening, nameof(Dampening), allowOne: true);
        if (nesterov && (momentum == 0 || dampening != 0))
            throw new InvalidOptionException(nameof(Nesterov),
                FormattableString.Invariant($"Nesterov momentum needs a positive Momentum and zero Dampening, got Momentum {momentum} and Dampening {dampening}"));
        Momentum = momentum;
        Nesterov = nesterov;
        Dampening = dampening;
    }

    /// <inheritdoc />
    public override OptimizerKind Kind => OptimizerKind.Sgd;

    /// <summary>Momentum factor; 0 is plain SGD.</summary>
    public double Momentum { get; }

    /// <summary>True for Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <summary>Dampening of the momentum.</summary>
    public double Dampening { get; }

    /// <inheritdoc />
    public override OptimizerOptions WithLearningRate(double learningRate) => new SgdOptions(learningRate, Momentum, Nesterov, WeightDecay, Dampening);

    internal override OptimizerHelper Create(IEnumerable<Parameter> parameters) =>
        optim.SGD(parameters, LearningRate, momentum: Momentum, dampening: Dampening, weight_decay: WeightDecay, nesterov: Nesterov);

    internal override IEnumerable<(string Name, object Value)> Settings() =>
        [("lr", LearningRate), ("momentum", Momentum), ("nesterov", Nesterov), ("weightDecay", WeightDecay), ("dampening", Dampening)];
}

/// <summary>Settings of <see cref="OptimizerKind.Adam"/> (PyTorch's <c>torch.optim.Adam</c>).</summary>
public class AdamOptions : OptimizerOptions
{
    /// <summary>Default learning rate of Adam and AdamW.</summary>
    public const double DefaultLearningRate = 1e-3;

    /// <summary>Default decay rate of the first-moment estimate.</summary>
    public const double DefaultBeta1 = 0.9;

    /// <summary>Default decay rate of the second-moment estimate.</summary>
    public const double DefaultBeta2 = 0.999;

    /// <summary>Default term added to the denominator for numerical stability.</summary>
    public const double DefaultEpsilon = 1e-8;

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="learningRate">The base learning rate.</param>
    /// <param name="beta1">Decay rate of the first-moment estimate, in [0, 1).</param>
    /// <param name="beta2">Decay rate of the second-moment estimate, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator for numerical stability; positive.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="amsGrad">Use the AMSGrad variant.</param>
    public AdamOptions(double learningRate = DefaultLearningRate, double beta1 = DefaultBeta1, double beta2 = DefaultBeta2,
        double epsilon = DefaultEpsilon, double weightDecay = 0, bool amsGrad = false)
        : base(learningRate, weightDecay)
    {
        ThrowIfNotFraction(beta1, nameof(Beta1));
        ThrowIfNotFraction(beta2, nameof(Beta2));
        ThrowIfNotPositive(epsilon, nameof(Epsilon));
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        AmsGrad = amsGrad;
    }

    /// <inheritdoc />
    public override OptimizerKind Kind => OptimizerKind.Adam;

    /// <summary>Decay rate of the first-moment estimate.</summary>
    public double Beta1 { get; }

    /// <summary>Decay rate of the second-moment estimate.</summary>
    public double Beta2 { get; }

    /// <summary>Added to the denominator for numerical stability.</summary>
    public double Epsilon { get; }

    /// <summary>True for the AMSGrad variant.</summary>
    public bool AmsGrad { get; }

    /// <inheritdoc />
    public override OptimizerOptions WithLearningRate(double learningRate) => new AdamOptions(learningRate, Beta1, Beta2, Epsilon, WeightDecay, AmsGrad);

    internal override OptimizerHelper Create(IEnumerable<Parameter> parameters) =>
        optim.Adam(parameters, LearningRate, Beta1, Beta2, Epsilon, WeightDecay, AmsGrad);

    internal override IEnumerable<(string Name, object Value)> Settings() =>
        [("lr", LearningRate), ("beta1", Beta1), ("beta2", Beta2), ("epsilon", Epsilon), ("weightDecay", WeightDecay), ("amsGrad", AmsGrad)];
}

/// <summary>Settings of <see cref="OptimizerKind.AdamW"/> (PyTorch's <c>torch.optim.AdamW</c>): Adam with decoupled weight decay.</summary>
public sealed class AdamWOptions : AdamOptions
{
    /// <summary>Default decoupled weight decay of AdamW (PyTorch's).</summary>
    public const double DefaultWeightDecay = 1e-2;

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="learningRate">The base learning rate.</param>
    /// <param name="weightDecay">Decoupled weight decay.</param>
    /// <param name="beta1">Decay rate of the first-moment estimate, in [0, 1).</param>
    /// <param name="beta2">Decay rate of the second-moment estimate, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator for numerical stability; positive.</param>
    /// <param name="amsGrad">Use the AMSGrad variant.</param>
    public AdamWOptions(double learningRate = DefaultLearningRate, double weightDecay = DefaultWeightDecay, double beta1 = DefaultBeta1,
        double beta2 = DefaultBeta2, double epsilon = DefaultEpsilon, bool amsGrad = false)
        : base(learningRate, beta1, beta2, epsilon, weightDecay, amsGrad)
    {
    }

    /// <inheritdoc />
    public override OptimizerKind Kind => OptimizerKind.AdamW;

    /// <inheritdoc />
    public override OptimizerOptions WithLearningRate(double learningRate) => new AdamWOptions(learningRate, WeightDecay, Beta1, Beta2, Epsilon, AmsGrad);

    internal override OptimizerHelper Create(IEnumerable<Parameter> parameters) =>
        optim.AdamW(parameters, LearningRate, Beta1, Beta2, Epsilon, WeightDecay, AmsGrad);
}

/// <summary>Settings of <see cref="OptimizerKind.RmsProp"/> (PyTorch's <c>torch.optim.RMSprop</c>).</summary>
public sealed class RmsPropOptions : OptimizerOptions
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="learningRate">The base learning rate.</param>
    /// <param name="alpha">Smoothing constant of the squared-gradient average, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator for numerical stability; positive.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="momentum">Momentum factor in [0, 1).</param>
    /// <param name="centered">Normalize by an estimate of the gradient's variance instead of its second moment.</param>
    public RmsPropOptions(double learningRate = 1e-2, double alpha = 0.99, double epsilon = 1e-8, double weightDecay = 0,
        double momentum = 0, bool centered = false)
        : base(learningRate, weightDecay)
    {
        ThrowIfNotFraction(alpha, nameof(Alpha));
        ThrowIfNotPositive(epsilon, nameof(Epsilon));
        ThrowIfNotFraction(momentum, nameof(Momentum));
        Alpha = alpha;
        Epsilon = epsilon;
        Momentum = momentum;
        Centered = centered;
    }

    /// <inheritdoc />
    public override OptimizerKind Kind => OptimizerKind.RmsProp;

    /// <summary>Smoothing constant of the squared-gradient average.</summary>
    public double Alpha { get; }

    /// <summary>Added to the denominator for numerical stability.</summary>
    public double Epsilon { get; }

    /// <summary>Momentum factor.</summary>
    public double Momentum { get; }

    /// <summary>True for centered RMSprop.</summary>
    public bool Centered { get; }

    /// <inheritdoc />
    public override OptimizerOptions WithLearningRate(double learningRate) => new RmsPropOptions(learningRate, Alpha, Epsilon, WeightDecay, Momentum, Centered);

    internal override OptimizerHelper Create(IEnumerable<Parameter> parameters) =>
        optim.RMSProp(parameters, LearningRate, Alpha, Epsilon, WeightDecay, Momentum, Centered);

    internal override IEnumerable<(string Name, object Value)> Settings() =>
        [("lr", LearningRate), ("alpha", Alpha), ("epsilon", Epsilon), ("weightDecay", WeightDecay), ("momentum", Momentum), ("centered", Centered)];
}

/// <summary>Settings of <see cref="OptimizerKind.Adagrad"/> (PyTorch's <c>torch.optim.Adagrad</c>).</summary>
public sealed class AdagradOptions : OptimizerOptions
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="learningRate">The base learning rate.</param>
    /// <param name="learningRateDecay">Adagrad's own learning-rate decay; zero or positive.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="initialAccumulatorValue">Starting value of the squared-gradient sums; zero or positive.</param>
    /// <param name="epsilon">Added to the denominator for numerical stability; positive.</param>
    public AdagradOptions(double learningRate = 1e-2, double learningRateDecay = 0, double weightDecay = 0,
        double initialAccumulatorValue = 0, double epsilon = 1e-10)
        : base(learningRate, weightDecay)
    {
        OptionChecks.NonNegative(learningRateDecay, nameof(LearningRateDecay));
        OptionChecks.NonNegative(initialAccumulatorValue, nameof(InitialAccumulatorValue));
        ThrowIfNotPositive(epsilon, nameof(Epsilon));
        LearningRateDecay = learningRateDecay;
        InitialAccumulatorValue = initialAccumulatorValue;
        Epsilon = epsilon;
    }

    /// <inheritdoc />
    public override OptimizerKind Kind => OptimizerKind.Adagrad;

    /// <summary>Adagrad's own learning-rate decay.</summary>
    public double LearningRateDecay { get; }

    /// <summary>Starting value of the squared-gradient sums.</summary>
    public double InitialAccumulatorValue { get; }

    /// <summary>Added to the denominator for numerical stability.</summary>
    public double Epsilon { get; }

    /// <inheritdoc />
    public override OptimizerOptions WithLearningRate(double learningRate) => new AdagradOptions(learningRate, LearningRateDecay, WeightDecay, InitialAccumulatorValue, Epsilon);

    internal override OptimizerHelper Create(IEnumerable<Parameter> parameters) =>
        optim.Adagrad(parameters, LearningRate, LearningRateDecay, WeightDecay, InitialAccumulatorValue, Epsilon);

    internal override IEnumerable<(string Name, object Value)> Settings() =>
        [("lr", LearningRate), ("lrDecay", LearningRateDecay), ("weightDecay", WeightDecay), ("initialAccumulator", InitialAccumulatorValue), ("epsilon", Epsilon)];
}
