using System.Globalization;

namespace Whittle.Training;

/// <summary>What one tick of a <see cref="LearningRateSchedule"/> is.</summary>
public enum ScheduleUnit
{
    /// <summary>
    /// The schedule advances once per epoch: the learning rate is constant within an epoch, and
    /// epoch e (0-based) trains at <c>At(e)</c>. This is how PyTorch's examples step
    /// <c>StepLR</c>, <c>MultiStepLR</c>, <c>ExponentialLR</c> and <c>CosineAnnealingLR</c>.
    /// </summary>
    Epoch,

    /// <summary>
    /// The schedule advances once per optimizer step (batch): the k-th update of the run
    /// (0-based, counted across epochs) uses <c>At(k)</c>. This is how PyTorch steps <c>OneCycleLR</c>.
    /// </summary>
    Step,
}

/// <summary>How a <see cref="OneCycleSchedule"/> moves between its end points within a phase.</summary>
public enum AnnealStrategy
{
    /// <summary>Half a cosine wave: end + (start − end)(1 + cos(π·pct))/2.</summary>
    Cosine,

    /// <summary>A straight line: start + (end − start)·pct.</summary>
    Linear,
}

/// <summary>
/// A learning rate as a pure function of training progress: <see cref="At"/> maps a tick (a
/// count of finished epochs or optimizer steps, see <see cref="Unit"/>) and the optimizer's base
/// learning rate to the learning rate to train with. Each subclass is PyTorch's closed form of
/// the scheduler of the same name, so a schedule has no state besides the tick: a resumed run
/// only needs the step and epoch counters to continue on exactly the same curve.
/// </summary>
/// <remarks>
/// TorchSharp's <c>torch.optim.lr_scheduler</c> classes keep their position in private fields
/// and cannot save or restore it, which a checkpoint needs, and they advance by the recursive
/// ("chainable") form that accumulates rounding; these closed forms give PyTorch's documented
/// values exactly. Tests compare both against each other and against PyTorch's formulas.
/// </remarks>
public abstract class LearningRateSchedule
{
    /// <summary>The unit a schedule is stepped in unless its constructor is told otherwise.</summary>
    public const ScheduleUnit DefaultUnit = ScheduleUnit.Epoch;

    private protected LearningRateSchedule(ScheduleUnit unit)
    {
        OptionChecks.Defined(unit, nameof(Unit));
        Unit = unit;
    }

    /// <summary>Whether a tick is an epoch or an optimizer step.</summary>
    public ScheduleUnit Unit { get; }

    /// <summary>A constant learning rate: the optimizer's base rate throughout.</summary>
    public static LearningRateSchedule Constant { get; } = new ConstantSchedule();

    /// <summary>The learning rate at <paramref name="tick"/>.</summary>
    /// <param name="tick">Finished epochs or optimizer steps before the one being trained, 0-based.</param>
    /// <param name="baseLearningRate">The optimizer's learning rate (<see cref="OptimizerOptions.LearningRate"/>).</param>
    public double At(long tick, double baseLearningRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tick);
        if (!(baseLearningRate > 0) || !double.IsFinite(baseLearningRate))
            throw new ArgumentOutOfRangeException(nameof(baseLearningRate), baseLearningRate, "The base learning rate must be positive and finite.");
        return Compute(tick, baseLearningRate);
    }

    /// <summary>
    /// The momentum (SGD/RMSprop momentum, Adam's β₁) the schedule prescribes at
    /// <paramref name="tick"/>, or null when it leaves momentum alone (every schedule but a
    /// momentum-cycling <see cref="OneCycleSchedule"/>).
    /// </summary>
    /// <param name="tick">Finished epochs or optimizer steps before the one being trained, 0-based.</param>
    public virtual double? MomentumAt(long tick) => null;

    /// <summary>The schedule's value at <paramref name="tick"/>; arguments are already validated.</summary>
    private protected abstract double Compute(long tick, double baseLearningRate);

    /// <summary>
    /// This schedule with every length left open ("the whole run") fixed to
    /// <paramref name="totalTicks"/>, the run's number of ticks in <see cref="Unit"/>.
    /// </summary>
    internal virtual LearningRateSchedule ForRun(long totalTicks) => this;

    /// <summary>The most ticks the schedule is defined for, or null when it has no end.</summary>
    internal virtual long? LastTick => null;

    /// <summary>True when <see cref="MomentumAt"/> prescribes momentum, which the optimizer must then have.</summary>
    internal virtual bool CyclesMomentum => false;

    private protected static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private protected static void ThrowIfNotPositiveFinite(double value, string option) => OptionChecks.Positive(value, option);

    private protected static InvalidOperationException OpenLength(string what) =>
        new($"{what} has no length yet: it was created for 'the whole run', which only the Trainer knows. Give the length explicitly to evaluate it on its own.");
}

/// <summary>The base learning rate at every tick.</summary>
public sealed class ConstantSchedule : LearningRateSchedule
{
    /// <summary>A constant schedule.</summary>
    public ConstantSchedule() : base(DefaultUnit)
    {
    }

    private protected override double Compute(long tick, double baseLearningRate) => baseLearningRate;

    /// <inheritdoc />
    public override string ToString() => "Constant";
}

/// <summary>PyTorch's <c>StepLR</c>: base · γ^⌊t / stepSize⌋.</summary>
public sealed class StepSchedule : LearningRateSchedule
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="stepSize">Ticks between decays; positive.</param>
    /// <param name="gamma">Factor applied at each decay; positive.</param>
    /// <param name="unit">Whether a tick is an epoch or an optimizer step.</param>
    public StepSchedule(int stepSize, double gamma = 0.1, ScheduleUnit unit = DefaultUnit) : base(unit)
    {
        OptionChecks.Positive(stepSize, nameof(StepSize));
        ThrowIfNotPositiveFinite(gamma, nameof(Gamma));
        StepSize = stepSize;
        Gamma = gamma;
    }

    /// <summary>Ticks between decays.</summary>
    public int StepSize { get; }

    /// <summary>Factor applied at each decay.</summary>
    public double Gamma { get; }

    private protected override double Compute(long tick, double baseLearningRate) => baseLearningRate * Math.Pow(Gamma, tick / StepSize);

    /// <inheritdoc />
    public override string ToString() => Invariant($"Step(stepSize={StepSize}, gamma={Gamma}, unit={Unit})");
}

/// <summary>PyTorch's <c>MultiStepLR</c>: base · γ^(number of milestones ≤ t).</summary>
public sealed class MultiStepSchedule : LearningRateSchedule
{
    private readonly int[] _milestones;

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="milestones">Ticks at which the rate is multiplied by <paramref name="gamma"/>; positive and strictly increasing.</param>
    /// <param name="gamma">Factor applied at each milestone; positive.</param>
    /// <param name="unit">Whether a tick is an epoch or an optimizer step.</param>
    public MultiStepSchedule(IReadOnlyList<int> milestones, double gamma = 0.1, ScheduleUnit unit = DefaultUnit) : base(unit)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        if (milestones.Count == 0) throw new InvalidOptionException(nameof(Milestones), "Milestones must name at least one tick, got none");
        for (int i = 0; i < milestones.Count; i++)
        {
            if (milestones[i] <= 0) throw OptionChecks.Invalid(nameof(Milestones), "positive", milestones[i]);
            if (i > 0 && milestones[i] <= milestones[i - 1])
                throw new InvalidOptionException(nameof(Milestones), Invariant($"Milestones must increase strictly, got {milestones[i]} after {milestones[i - 1]}"));
        }
        ThrowIfNotPositiveFinite(gamma, nameof(Gamma));
        _milestones = milestones.ToArray();
        Gamma = gamma;
    }

    /// <summary>Ticks at which the rate is multiplied by <see cref="Gamma"/>.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <summary>Factor applied at each milestone.</summary>
    public double Gamma { get; }

    private protected override double Compute(long tick, double baseLearningRate)
    {
        int passed = _milestones.Count(m => m <= tick);
        return baseLearningRate * Math.Pow(Gamma, passed);
    }

    /// <inheritdoc />
    public override string ToString() => Invariant($"MultiStep(milestones=[{string.Join(",", _milestones)}], gamma={Gamma}, unit={Unit})");
}

/// <summary>PyTorch's <c>ExponentialLR</c>: base · γ^t.</summary>
public sealed class ExponentialSchedule : LearningRateSchedule
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="gamma">Factor applied every tick; positive.</param>
    /// <param name="unit">Whether a tick is an epoch or an optimizer step.</param>
    public ExponentialSchedule(double gamma, ScheduleUnit unit = DefaultUnit) : base(unit)
    {
        ThrowIfNotPositiveFinite(gamma, nameof(Gamma));
        Gamma = gamma;
    }

    /// <summary>Factor applied every tick.</summary>
    public double Gamma { get; }

    private protected override double Compute(long tick, double baseLearningRate) => baseLearningRate * Math.Pow(Gamma, tick);

    /// <inheritdoc />
    public override string ToString() => Invariant($"Exponential(gamma={Gamma}, unit={Unit})");
}

/// <summary>
/// PyTorch's <c>CosineAnnealingLR</c> (closed form): η_min + (base − η_min)(1 + cos(π·t / T))/2.
/// Past T the curve rises again, as PyTorch's does; the Trainer's default T is the whole run.
/// </summary>
public sealed class CosineAnnealingSchedule : LearningRateSchedule
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="period">T, the ticks from the base rate down to <paramref name="minimumLearningRate"/>; positive, or null for the whole run.</param>
    /// <param name="minimumLearningRate">η_min, the rate at tick T; zero or positive.</param>
    /// <param name="unit">Whether a tick is an epoch or an optimizer step.</param>
    public CosineAnnealingSchedule(long? period = null, double minimumLearningRate = 0, ScheduleUnit unit = DefaultUnit) : base(unit)
    {
        if (period is { } p) OptionChecks.Positive(p, nameof(Period));
        OptionChecks.NonNegative(minimumLearningRate, nameof(MinimumLearningRate));
        Period = period;
        MinimumLearningRate = minimumLearningRate;
    }

    /// <summary>T in ticks, or null for the whole run.</summary>
    public long? Period { get; }

    /// <summary>η_min, the rate reached at tick T.</summary>
    public double MinimumLearningRate { get; }

    private protected override double Compute(long tick, double baseLearningRate)
    {
        long period = Period ?? throw OpenLength("This cosine schedule");
        return MinimumLearningRate + (baseLearningRate - MinimumLearningRate) * (1 + Math.Cos(Math.PI * tick / period)) / 2;
    }

    internal override LearningRateSchedule ForRun(long totalTicks) =>
        Period is null ? new CosineAnnealingSchedule(Math.Max(1, totalTicks), MinimumLearningRate, Unit) : this;

    /// <inheritdoc />
    public override string ToString() =>
        Invariant($"CosineAnnealing(period={(Period?.ToString(CultureInfo.InvariantCulture) ?? "run")}, min={MinimumLearningRate}, unit={Unit})");
}

/// <summary>
/// A linear warm-up, then another schedule: PyTorch's <c>SequentialLR([LinearLR(startFactor, 1,
/// W), after], milestones=[W])</c>. For t &lt; W the rate is base · (s + (1 − s)·t / W); from W on
/// it is <c>after.At(t − W)</c>, so the schedule that follows starts from its own beginning.
/// </summary>
public sealed class LinearWarmupSchedule : LearningRateSchedule
{
    /// <summary>PyTorch <c>LinearLR</c>'s default start factor.</summary>
    public const double DefaultStartFactor = 1.0 / 3;

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="warmupTicks">W, the ticks of the warm-up, in the unit of <paramref name="after"/>; positive.</param>
    /// <param name="after">The schedule that follows the warm-up (its unit is this schedule's).</param>
    /// <param name="startFactor">s, the fraction of the base rate at tick 0, in (0, 1].</param>
    public LinearWarmupSchedule(int warmupTicks, LearningRateSchedule after, double startFactor = DefaultStartFactor)
        : base((after ?? throw new ArgumentNullException(nameof(after))).Unit)
    {
        OptionChecks.Positive(warmupTicks, nameof(WarmupTicks));
        OptionChecks.InRange(startFactor, nameof(StartFactor), 0, 1, includeMinimum: false, includeMaximum: true);
        WarmupTicks = warmupTicks;
        After = after;
        StartFactor = startFactor;
    }

    /// <summary>W, the ticks of the warm-up.</summary>
    public int WarmupTicks { get; }

    /// <summary>The schedule that follows the warm-up.</summary>
    public LearningRateSchedule After { get; }

    /// <summary>s, the fraction of the base rate at tick 0.</summary>
    public double StartFactor { get; }

    private protected override double Compute(long tick, double baseLearningRate) =>
        tick < WarmupTicks
            ? baseLearningRate * (StartFactor + (1 - StartFactor) * tick / WarmupTicks)
            : After.At(tick - WarmupTicks, baseLearningRate);

    /// <inheritdoc />
    public override double? MomentumAt(long tick) => tick < WarmupTicks ? After.MomentumAt(0) : After.MomentumAt(tick - WarmupTicks);

    internal override LearningRateSchedule ForRun(long totalTicks)
    {
        var after = After.ForRun(Math.Max(1, totalTicks - WarmupTicks));
        return ReferenceEquals(after, After) ? this : new LinearWarmupSchedule(WarmupTicks, after, StartFactor);
    }

    internal override long? LastTick => After.LastTick is long last ? last + WarmupTicks : null;

    internal override bool CyclesMomentum => After.CyclesMomentum;

    /// <inheritdoc />
    public override string ToString() => Invariant($"LinearWarmup(ticks={WarmupTicks}, startFactor={StartFactor}, then {After})");
}

/// <summary>
/// PyTorch's <c>OneCycleLR</c>, stepped per optimizer step, with the optimizer's base learning
/// rate as <c>max_lr</c>: from base/<see cref="DivFactor"/> up to base over the first
/// <see cref="PercentStart"/> of the steps, then down to base/(<see cref="DivFactor"/>·<see cref="FinalDivFactor"/>);
/// with <see cref="ThreePhase"/>, up, back down to the start, then down to the minimum.
/// Momentum (SGD/RMSprop momentum, Adam's β₁) moves inversely between
/// <see cref="MaximumMomentum"/> and <see cref="BaseMomentum"/> when <see cref="CycleMomentum"/> is set.
/// </summary>
public sealed class OneCycleSchedule : LearningRateSchedule
{
    /// <summary>Validates and stores the settings.</summary>
    /// <param name="totalSteps">Steps in the cycle; positive, or null for the whole run.</param>
    /// <param name="percentStart">Fraction of the cycle spent increasing the rate, in (0, 1).</param>
    /// <param name="anneal">Cosine or linear annealing within each phase.</param>
    /// <param name="divFactor">Initial rate = base / divFactor; positive.</param>
    /// <param name="finalDivFactor">Final rate = initial rate / finalDivFactor; positive.</param>
    /// <param name="threePhase">Use the three-phase variant (fast.ai's original).</param>
    /// <param name="cycleMomentum">Move momentum inversely to the rate (PyTorch's default); the optimizer must have momentum or betas.</param>
    /// <param name="baseMomentum">Momentum at the peak rate, in [0, 1).</param>
    /// <param name="maximumMomentum">Momentum at the start and end, in [<paramref name="baseMomentum"/>, 1).</param>
    public OneCycleSchedule(long? totalSteps = null, double percentStart = 0.3, AnnealStrategy anneal = AnnealStrategy.Cosine,
        double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false,
        bool cycleMomentum = true, double baseMomentum = 0.85, double maximumMomentum = 0.95)
        : base(ScheduleUnit.Step)
    {
        if (totalSteps is { } steps) OptionChecks.Positive(steps, nameof(TotalSteps));
        OptionChecks.InRange(percentStart, nameof(PercentStart), 0, 1, includeMinimum: false);
        OptionChecks.Defined(anneal, nameof(Anneal));
        ThrowIfNotPositiveFinite(divFactor, nameof(DivFactor));
        ThrowIfNotPositiveFinite(finalDivFactor, nameof(FinalDivFactor));
        OptionChecks.InRange(baseMomentum, nameof(BaseMomentum), 0, 1);
        OptionChecks.InRange(maximumMomentum, nameof(MaximumMomentum), baseMomentum, 1);
        TotalSteps = totalSteps;
        PercentStart = percentStart;
        Anneal = anneal;
        DivFactor = divFactor;
        FinalDivFactor = finalDivFactor;
        ThreePhase = threePhase;
        CycleMomentum = cycleMomentum;
        BaseMomentum = baseMomentum;
        MaximumMomentum = maximumMomentum;
    }

    /// <summary>Steps in the cycle, or null for the whole run.</summary>
    public long? TotalSteps { get; }

    /// <summary>Fraction of the cycle spent increasing the rate.</summary>
    public double PercentStart { get; }

    /// <summary>Cosine or linear annealing within each phase.</summary>
    public AnnealStrategy Anneal { get; }

    /// <summary>Initial rate = base / DivFactor.</summary>
    public double DivFactor { get; }

    /// <summary>Final rate = initial rate / FinalDivFactor.</summary>
    public double FinalDivFactor { get; }

    /// <summary>True for the three-phase variant.</summary>
    public bool ThreePhase { get; }

    /// <summary>True when momentum moves inversely to the rate.</summary>
    public bool CycleMomentum { get; }

    /// <summary>Momentum at the peak rate.</summary>
    public double BaseMomentum { get; }

    /// <summary>Momentum at the start and end of the cycle.</summary>
    public double MaximumMomentum { get; }

    private protected override double Compute(long tick, double baseLearningRate)
    {
        double initial = baseLearningRate / DivFactor;
        double minimum = initial / FinalDivFactor;
        return Interpolate(tick, ThreePhase
            ? [(initial, baseLearningRate), (baseLearningRate, initial), (initial, minimum)]
            : [(initial, baseLearningRate), (baseLearningRate, minimum)]);
    }

    /// <inheritdoc />
    public override double? MomentumAt(long tick)
    {
        if (!CycleMomentum) return null;
        ArgumentOutOfRangeException.ThrowIfNegative(tick);
        return Interpolate(tick, ThreePhase
            ? [(MaximumMomentum, BaseMomentum), (BaseMomentum, MaximumMomentum), (MaximumMomentum, MaximumMomentum)]
            : [(MaximumMomentum, BaseMomentum), (BaseMomentum, MaximumMomentum)]);
    }

    internal override LearningRateSchedule ForRun(long totalTicks) =>
        TotalSteps is null
            ? new OneCycleSchedule(Math.Max(1, totalTicks), PercentStart, Anneal, DivFactor, FinalDivFactor, ThreePhase, CycleMomentum, BaseMomentum, MaximumMomentum)
            : this;

    internal override long? LastTick => TotalSteps;

    internal override bool CyclesMomentum => CycleMomentum;

    // PyTorch's get_lr: phase i ends at its end step; the last phase also takes any later step.
    private double Interpolate(long tick, (double Start, double End)[] values)
    {
        long total = TotalSteps ?? throw OpenLength("This one-cycle schedule");
        if (tick > total)
            throw new ArgumentOutOfRangeException(nameof(tick), tick, $"Tried to step {tick + 1} times; the one-cycle schedule has {total} steps.");
        double[] ends = ThreePhase
            ? [PercentStart * total - 1, 2 * PercentStart * total - 2, total - 1]
            : [PercentStart * total - 1, total - 1];
        double start = 0;
        for (int i = 0; i < ends.Length; i++)
        {
            if (tick <= ends[i] || i == ends.Length - 1)
            {
                double pct = (tick - start) / (ends[i] - start);
                return Anneal == AnnealStrategy.Cosine
                    ? values[i].End + (values[i].Start - values[i].End) / 2 * (Math.Cos(Math.PI * pct) + 1)
                    : (values[i].End - values[i].Start) * pct + values[i].Start;
            }
            start = ends[i];
        }
        throw new InvalidOperationException("unreachable");
    }

    /// <inheritdoc />
    public override string ToString() =>
        Invariant($"OneCycle(totalSteps={(TotalSteps?.ToString(CultureInfo.InvariantCulture) ?? "run")}, pctStart={PercentStart}, anneal={Anneal}, div={DivFactor}, finalDiv={FinalDivFactor}, threePhase={ThreePhase}, cycleMomentum={CycleMomentum}, momentum={BaseMomentum}..{MaximumMomentum})");
}
