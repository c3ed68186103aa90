using System.Globalization;
using TorchSharp;
using Whittle.Data;
using static TorchSharp.torch;
using OptimizerHelper = TorchSharp.Modules.OptimizerHelper;
using Parameter = TorchSharp.Modules.Parameter;

namespace Whittle.Training;

/// <summary>How <see cref="LearningRateFinder"/> turns a recorded loss curve into one learning rate.</summary>
public enum LearningRateRule
{
    /// <summary>
    /// fastai's "valley": the longest stretch over which the smoothed loss keeps falling (the longest
    /// strictly decreasing subsequence), and the learning rate about half-way along it. Far enough
    /// from the bottom of the curve to stay clear of divergence, far enough from the start to learn.
    /// </summary>
    Valley,

    /// <summary>The learning rate where the smoothed loss falls fastest against log(learning rate) (fastai's "steep", Smith's "steepest descent").</summary>
    Steepest,

    /// <summary>The learning rate of the lowest smoothed loss, divided by 10 (fastai's "minimum").</summary>
    MinimumOverTen,
}

/// <summary>Why a learning-rate range test ended.</summary>
public enum LearningRateFinderStop
{
    /// <summary>Every step ran, up to the largest learning rate.</summary>
    CompletedSteps,

    /// <summary>The smoothed loss rose above <see cref="LearningRateFinderOptions.DivergenceFactor"/> × its lowest value.</summary>
    Diverged,

    /// <summary>A batch's loss was NaN or infinite; that step is not recorded.</summary>
    NonFiniteLoss,
}

/// <summary>
/// Settings of the learning-rate range test (<see cref="LearningRateFinder"/>). Immutable;
/// validated here; every default lives here (fastai's <c>lr_find</c>: 1e-7 to 10 in 100 steps,
/// smoothing 0.98, stop at 4 × the lowest smoothed loss).
/// </summary>
public sealed class LearningRateFinderOptions
{
    /// <summary>The default smallest learning rate tried.</summary>
    public const double DefaultMinLearningRate = 1e-7;

    /// <summary>The default largest learning rate tried.</summary>
    public const double DefaultMaxLearningRate = 10;

    /// <summary>The default number of optimizer steps (one learning rate each).</summary>
    public const int DefaultSteps = 100;

    /// <summary>The default batch size when none is given and the test does not run inside a training job.</summary>
    public const int DefaultBatchSize = 32;

    /// <summary>The default decay of the loss's exponential moving average.</summary>
    public const double DefaultSmoothing = 0.98;

    /// <summary>The default divergence threshold, as a multiple of the lowest smoothed loss.</summary>
    public const double DefaultDivergenceFactor = 4;

    /// <summary>
    /// The default rule, chosen by measurement (docs/training.md: MLP, ConvNet and TextCNN, up to three seeds):
    /// its suggestion moved least between seeds and its worst case was closest to the best fixed rate; valley
    /// fell for the slow early decline of a flat curve (0.32 test macro-F1 on text), steepest for noise
    /// (1e-6 on one curve, 2.7 on another).
    /// </summary>
    public const LearningRateRule DefaultRule = LearningRateRule.MinimumOverTen;

    /// <summary>The options with every default.</summary>
    public static LearningRateFinderOptions Default { get; } = new();

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="minLearningRate">The learning rate of the first step; positive.</param>
    /// <param name="maxLearningRate">The learning rate of the last step; above <paramref name="minLearningRate"/>, finite.</param>
    /// <param name="steps">Optimizer steps, each at a learning rate <c>(max / min)^(1 / (steps − 1))</c> times the previous one; at least 10 (the first tenth is left out of the suggestion).</param>
    /// <param name="batchSize">Samples per step; null for the training batch size when the training job runs the test (<see cref="ModelTrainingOptions.LearningRateFinder"/>), else <see cref="DefaultBatchSize"/>.</param>
    /// <param name="seed">Decides the order of the samples and TorchSharp's generator (dropout) during the test; null for the training seed inside a training job, else 0.</param>
    /// <param name="smoothing">β of the debiased exponential moving average of the loss, in [0, 1); 0 records raw losses.</param>
    /// <param name="divergenceFactor">Stop once the smoothed loss exceeds this multiple of its lowest value; above 1.</param>
    /// <param name="rule">How the recorded curve becomes one learning rate.</param>
    /// <exception cref="InvalidOptionException">A value is out of range.</exception>
    public LearningRateFinderOptions(double minLearningRate = DefaultMinLearningRate, double maxLearningRate = DefaultMaxLearningRate, int steps = DefaultSteps,
        int? batchSize = null, int? seed = null, double smoothing = DefaultSmoothing, double divergenceFactor = DefaultDivergenceFactor,
        LearningRateRule rule = DefaultRule)
    {
        OptionChecks.Positive(minLearningRate, nameof(MinLearningRate));
        OptionChecks.Positive(maxLearningRate, nameof(MaxLearningRate));
        if (!(maxLearningRate > minLearningRate))
            throw OptionChecks.Invalid(nameof(MaxLearningRate), $"above MinLearningRate ({OptionChecks.Format(minLearningRate)})", maxLearningRate);
        OptionChecks.AtLeast(steps, 10, nameof(Steps));
        if (batchSize is { } b) OptionChecks.Positive(b, nameof(BatchSize));
        OptionChecks.InRange(smoothing, nameof(Smoothing), 0, 1);
        if (!(divergenceFactor > 1 && double.IsFinite(divergenceFactor)))
            throw OptionChecks.Invalid(nameof(DivergenceFactor), "above 1 and finite", divergenceFactor);
        OptionChecks.Defined(rule, nameof(Rule));
        MinLearningRate = minLearningRate;
        MaxLearningRate = maxLearningRate;
        Steps = steps;
        BatchSize = batchSize;
        Seed = seed;
        Smoothing = smoothing;
        DivergenceFactor = divergenceFactor;
        Rule = rule;
    }

    /// <summary>The learning rate of the first step.</summary>
    public double MinLearningRate { get; }

    /// <summary>The learning rate of the last step.</summary>
    public double MaxLearningRate { get; }

    /// <summary>Optimizer steps at most.</summary>
    public int Steps { get; }

    /// <summary>Samples per step, or null for the training batch size (inside a training job) or <see cref="DefaultBatchSize"/>.</summary>
    public int? BatchSize { get; }

    /// <summary>The seed of the sample order and of TorchSharp's generator, or null for the training seed (inside a training job) or 0.</summary>
    public int? Seed { get; }

    /// <summary>β of the loss's moving average.</summary>
    public double Smoothing { get; }

    /// <summary>The divergence threshold, a multiple of the lowest smoothed loss.</summary>
    public double DivergenceFactor { get; }

    /// <summary>How the curve becomes one learning rate.</summary>
    public LearningRateRule Rule { get; }

    /// <summary>These options with the batch size and seed filled in where they are null.</summary>
    internal LearningRateFinderOptions Resolve(int batchSize, int seed) =>
        new(MinLearningRate, MaxLearningRate, Steps, BatchSize ?? batchSize, Seed ?? seed, Smoothing, DivergenceFactor, Rule);

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"LearningRateFinder(min={MinLearningRate}, max={MaxLearningRate}, steps={Steps}, batch={BatchSize?.ToString(CultureInfo.InvariantCulture) ?? "training"}, seed={Seed?.ToString(CultureInfo.InvariantCulture) ?? "training"}, smoothing={Smoothing}, divergence={DivergenceFactor}, rule={Rule})");
}

/// <summary>One step of a range test.</summary>
/// <param name="Step">The step, 0-based.</param>
/// <param name="LearningRate">The learning rate the step trained at.</param>
/// <param name="Loss">The batch's loss before the step's update.</param>
/// <param name="SmoothedLoss">The debiased moving average of the losses so far (<see cref="LearningRateFinder.Smooth"/>).</param>
public sealed record LearningRatePoint(int Step, double LearningRate, double Loss, double SmoothedLoss);

/// <summary>A learning rate picked from a loss curve, and why.</summary>
/// <param name="Index">The index of the point it came from.</param>
/// <param name="LearningRate">The learning rate.</param>
/// <param name="Reason">How the rule arrived at it, with the numbers.</param>
public sealed record LearningRateSuggestion(int Index, double LearningRate, string Reason);

/// <summary>What a learning-rate range test recorded and suggests.</summary>
/// <param name="Points">Every recorded step, in order.</param>
/// <param name="SuggestedLearningRate">The learning rate to train with, by <paramref name="Rule"/>.</param>
/// <param name="Rule">The rule that chose it.</param>
/// <param name="Reason">How it was chosen, with the numbers.</param>
/// <param name="Stop">Why the test ended.</param>
/// <param name="ByRule">What every rule suggests on the same curve (a rule that finds nothing is absent), to compare them.</param>
/// <param name="Seconds">Wall time of the test.</param>
public sealed record LearningRateFinderResult(IReadOnlyList<LearningRatePoint> Points, double SuggestedLearningRate, LearningRateRule Rule, string Reason,
    LearningRateFinderStop Stop, IReadOnlyDictionary<LearningRateRule, double> ByRule, double Seconds);

/// <summary>
/// The learning-rate range test (Smith 2015, "Cyclical Learning Rates for Training Neural
/// Networks", §3.3; fastai's <c>lr_find</c>): trains a few batches while the learning rate grows
/// exponentially from very small to very large, records the smoothed loss at each rate, and picks
/// a rate from the curve. The module is trained from a copy of its state and put back exactly as
/// it was (parameters, buffers, gradients, train/eval mode, TorchSharp's generator); the optimizer
/// is built for the test and disposed after it.
/// </summary>
public static class LearningRateFinder
{
    /// <summary>Runs the range test on <paramref name="module"/>, which ends bit-for-bit as it began.</summary>
    /// <param name="module">The module; its current weights are the starting point.</param>
    /// <param name="train">Labelled training samples; visited in a seeded order, again from the start (in a new order) when they run out.</param>
    /// <param name="loss">The loss training will minimize.</param>
    /// <param name="optimizer">The optimizer training will use; every setting but the learning rate is kept.</param>
    /// <param name="options">The range, steps, smoothing, stopping rule and suggestion rule; null for <see cref="LearningRateFinderOptions.Default"/>.</param>
    /// <param name="gradientClipping">Clipping before each step, as training will clip; null for none.</param>
    /// <param name="progress">Receives every recorded point.</param>
    /// <param name="cancellationToken">Checked before every step.</param>
    /// <exception cref="TrainingException">The smoothed loss never fell anywhere in the range (no learning rate to suggest).</exception>
    public static LearningRateFinderResult Run(nn.Module<Tensor, Tensor> module, TensorDataset train, TrainingLoss loss, OptimizerOptions optimizer,
        LearningRateFinderOptions? options = null, GradientClipping? gradientClipping = null, IProgress<LearningRatePoint>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!train.HasLabels) throw new ArgumentException("The range test needs a labeled dataset.", nameof(train));
        if (train.Count == 0) throw new ArgumentException("The dataset is empty.", nameof(train));
        loss.CheckClassCount(train.ClassCount);
        var o = (options ?? LearningRateFinderOptions.Default).Resolve(LearningRateFinderOptions.DefaultBatchSize, 0);
        var clipping = gradientClipping ?? GradientClipping.None;
        Parameter[] parameters = Trainer.TrainableParameters(module);
        if (parameters.Length == 0) throw new InvalidOperationException("The module has no trainable parameters (none with requires_grad).");

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var points = new List<LearningRatePoint>(o.Steps);
        var stop = LearningRateFinderStop.CompletedSteps;
        using (var snapshot = new ModuleSnapshot(module, parameters))
        using (OptimizerHelper torchOptimizer = optimizer.Create(parameters))
        {
            Device device = Trainer.DeviceOf(module);
            int seed = o.Seed!.Value;
            random.manual_seed(Trainer.TorchSeed(seed, 0));
            module.train();
            double average = 0, best = double.PositiveInfinity;
            using IEnumerator<Batch> batches = Batches(train, o.BatchSize!.Value, seed).GetEnumerator();
            for (int step = 0; step < o.Steps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!batches.MoveNext()) throw new InvalidOperationException("unreachable: the batches repeat forever");
                double rate = LearningRateAt(step, o.Steps, o.MinLearningRate, o.MaxLearningRate);
                foreach (optim.ILearningRateController group in torchOptimizer.ParamGroups) group.LearningRate = rate;
                double value = Step(module, torchOptimizer, parameters, loss, clipping, batches.Current, device);
                if (!double.IsFinite(value))
                {
                    stop = LearningRateFinderStop.NonFiniteLoss;
                    break;
                }
                average = o.Smoothing * average + (1 - o.Smoothing) * value;
                double smoothed = average / (1 - Math.Pow(o.Smoothing, step + 1));
                var point = new LearningRatePoint(step, rate, value, smoothed);
                points.Add(point);
                progress?.Report(point);
                best = Math.Min(best, smoothed);
                if (smoothed > o.DivergenceFactor * best)
                {
                    stop = LearningRateFinderStop.Diverged;
                    break;
                }
            }
        }

        int skip = SkipStart(o.Steps);
        var rates = points.Select(p => p.LearningRate).ToArray();
        var smoothedLosses = points.Select(p => p.SmoothedLoss).ToArray();
        var byRule = new Dictionary<LearningRateRule, double>();
        foreach (var rule in Enum.GetValues<LearningRateRule>())
            if (Suggest(rates, smoothedLosses, rule, skip) is { } s) byRule[rule] = s.LearningRate;
        var chosen = Suggest(rates, smoothedLosses, o.Rule, skip)
            ?? throw new TrainingException(string.Create(CultureInfo.InvariantCulture,
                $"The learning-rate range test found no rate at which the loss falls: over {points.Count} steps from {o.MinLearningRate:G3} to {(points.Count > 0 ? points[^1].LearningRate : o.MinLearningRate):G3} ({Describe(stop)}) the smoothed loss never went below its value after the first {skip} steps by rule {o.Rule}. Give a learning rate instead."));
        return new LearningRateFinderResult(points, chosen.LearningRate, o.Rule, chosen.Reason + $"; the test {Describe(stop)}", stop, byRule, watch.Elapsed.TotalSeconds);
    }

    /// <summary>The learning rate of step <paramref name="step"/> (0-based) of <paramref name="steps"/>: <c>min · (max / min)^(step / (steps − 1))</c>, so the first step trains at <paramref name="min"/> and the last at <paramref name="max"/>.</summary>
    /// <param name="step">The step, in [0, steps).</param>
    /// <param name="steps">Steps in all; at least 2.</param>
    /// <param name="min">The first rate.</param>
    /// <param name="max">The last rate.</param>
    public static double LearningRateAt(int step, int steps, double min, double max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(step, steps);
        if (step == steps - 1) return max;
        return min * Math.Pow(max / min, (double)step / (steps - 1));
    }

    /// <summary>
    /// The debiased exponential moving average of <paramref name="losses"/> (fastai's <c>AvgSmoothLoss</c>):
    /// <c>a_i = β·a_(i−1) + (1 − β)·loss_i</c> from <c>a_(−1) = 0</c>, reported as <c>a_i / (1 − β^(i+1))</c>,
    /// so the first value is the first loss and no value is pulled towards the zero start.
    /// </summary>
    /// <param name="losses">Raw losses in step order.</param>
    /// <param name="beta">β, in [0, 1); 0 returns the losses unchanged.</param>
    public static double[] Smooth(IReadOnlyList<double> losses, double beta)
    {
        ArgumentNullException.ThrowIfNull(losses);
        if (!(beta >= 0 && beta < 1)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "β must be in [0, 1).");
        var result = new double[losses.Count];
        double average = 0;
        for (int i = 0; i < result.Length; i++)
        {
            average = beta * average + (1 - beta) * losses[i];
            result[i] = average / (1 - Math.Pow(beta, i + 1));
        }
        return result;
    }

    /// <summary>
    /// The points a suggestion leaves out at the start: the first tenth of the steps (fastai's
    /// <c>num_it // 10</c>), where the average is made of few losses and the rate is too small to
    /// have changed anything, so a dip there is noise.
    /// </summary>
    /// <param name="steps">The steps of the test.</param>
    public static int SkipStart(int steps) => steps / 10;

    /// <summary>
    /// The learning rate <paramref name="rule"/> picks from a curve, or null when the loss never
    /// falls after the first <paramref name="skipStart"/> points (no rule has anything to go on).
    /// </summary>
    /// <param name="learningRates">The rate of each point, increasing.</param>
    /// <param name="smoothedLosses">The smoothed loss of each point.</param>
    /// <param name="rule">The rule.</param>
    /// <param name="skipStart">Points left out at the start (<see cref="SkipStart"/>).</param>
    public static LearningRateSuggestion? Suggest(IReadOnlyList<double> learningRates, IReadOnlyList<double> smoothedLosses, LearningRateRule rule, int skipStart)
    {
        ArgumentNullException.ThrowIfNull(learningRates);
        ArgumentNullException.ThrowIfNull(smoothedLosses);
        if (learningRates.Count != smoothedLosses.Count)
            throw new ArgumentException($"{learningRates.Count} learning rates but {smoothedLosses.Count} losses.", nameof(smoothedLosses));
        ArgumentOutOfRangeException.ThrowIfNegative(skipStart);
        OptionChecks.Defined(rule, nameof(rule));
        // Points after a non-finite one carry nothing (fastai cuts at the first NaN too).
        int end = skipStart;
        while (end < smoothedLosses.Count && double.IsFinite(smoothedLosses[end])) end++;
        int n = end - skipStart;
        if (n < 2) return null;
        double Lr(int i) => learningRates[skipStart + i];
        double Loss(int i) => smoothedLosses[skipStart + i];
        var c = CultureInfo.InvariantCulture;
        switch (rule)
        {
            case LearningRateRule.Valley:
            {
                // fastai's valley: the longest strictly decreasing subsequence ending at each point (O(n²), n ≤ a few hundred).
                int[] lds = new int[n];
                int maxEnd = 0;
                for (int i = 0; i < n; i++)
                {
                    lds[i] = 1;
                    for (int j = 0; j < i; j++)
                        if (Loss(i) < Loss(j) && lds[i] < lds[j] + 1) lds[i] = lds[j] + 1;
                    if (lds[i] > lds[maxEnd]) maxEnd = i;
                }
                if (lds[maxEnd] < 2) return null;
                int maxStart = maxEnd - lds[maxEnd];
                double sections = (maxEnd - maxStart) / 3.0;
                // fastai: max_start + int(sections) + int(sections / 2), about half-way; maxStart is −1 for a valley from the first point.
                int index = Math.Max(0, maxStart + (int)sections + (int)(sections / 2));
                return new LearningRateSuggestion(skipStart + index, Lr(index), string.Create(c,
                    $"valley: the smoothed loss falls over {lds[maxEnd]} points up to lr {Lr(maxEnd):G3} (loss {Loss(maxEnd):G4}); lr {Lr(index):G3} (loss {Loss(index):G4}) is about half-way along it"));
            }
            case LearningRateRule.Steepest:
            {
                int steepest = -1;
                double slope = 0;
                for (int i = 0; i + 1 < n; i++)
                {
                    double g = (Loss(i + 1) - Loss(i)) / (Math.Log(Lr(i + 1)) - Math.Log(Lr(i)));
                    if (g < slope) { slope = g; steepest = i; }
                }
                if (steepest < 0) return null;
                return new LearningRateSuggestion(skipStart + steepest, Lr(steepest), string.Create(c,
                    $"steepest: the smoothed loss falls fastest at lr {Lr(steepest):G3} ({slope:G3} per unit of ln lr, loss {Loss(steepest):G4})"));
            }
            default:
            {
                int lowest = 0;
                for (int i = 1; i < n; i++)
                    if (Loss(i) < Loss(lowest)) lowest = i;
                if (lowest == 0) return null;
                return new LearningRateSuggestion(skipStart + lowest, Lr(lowest) / 10, string.Create(c,
                    $"minimum / 10: the lowest smoothed loss {Loss(lowest):G4} is at lr {Lr(lowest):G3}; a tenth of it is {Lr(lowest) / 10:G3}"));
            }
        }
    }

    private static string Describe(LearningRateFinderStop stop) => stop switch
    {
        LearningRateFinderStop.Diverged => "stopped when the loss diverged",
        LearningRateFinderStop.NonFiniteLoss => "stopped at a non-finite loss",
        _ => "ran every step",
    };

    /// <summary>Seeded passes over the samples, one after another, for as many steps as asked.</summary>
    private static IEnumerable<Batch> Batches(TensorDataset train, int batchSize, int seed)
    {
        for (int pass = 0; ; pass++)
            foreach (var batch in train.Batches(batchSize, shuffle: true, Trainer.ShuffleSeed(seed, pass)))
                yield return batch;
    }

    private static double Step(nn.Module<Tensor, Tensor> module, OptimizerHelper optimizer, Parameter[] parameters, TrainingLoss loss, GradientClipping clipping, Batch batch, Device device)
    {
        using var scope = NewDisposeScope();
        Tensor input = Trainer.FeatureTensor(batch, device);
        Tensor labels = tensor(batch.LabelsAsInt64, device: device);
        optimizer.zero_grad();
        Tensor value = loss.Compute(input, module.call(input), labels);
        double result = value.ToDouble();
        if (!double.IsFinite(result)) return result;
        value.backward();
        clipping.Apply(parameters);
        optimizer.step();
        return result;
    }

    /// <summary>
    /// Everything about a module the range test changes, copied before and put back on dispose:
    /// the state dictionary (parameters and buffers such as BatchNorm's running statistics), each
    /// parameter's gradient (or its absence), the train/eval mode and TorchSharp's generator.
    /// </summary>
    private sealed class ModuleSnapshot : IDisposable
    {
        private readonly nn.Module<Tensor, Tensor> _module;
        private readonly bool _training;
        private readonly (Tensor Target, Tensor Copy)[] _state;
        private readonly (Parameter Parameter, Tensor? Gradient)[] _gradients;
        private readonly Tensor _generator;

        public ModuleSnapshot(nn.Module<Tensor, Tensor> module, Parameter[] parameters)
        {
            _module = module;
            _training = module.training;
            using (no_grad())
            {
                _state = module.state_dict().Values.Select(t => (t, t.detach().clone().DetachFromDisposeScope())).ToArray();
                _gradients = parameters.Select(p => (p, p.grad is { } g ? g.detach().clone().DetachFromDisposeScope() : null)).ToArray();
            }
            _generator = random.get_rng_state().DetachFromDisposeScope();
        }

        public void Dispose()
        {
            using (no_grad())
            {
                foreach (var (target, copy) in _state)
                {
                    target.copy_(copy);
                    copy.Dispose();
                }
                foreach (var (parameter, gradient) in _gradients)
                {
                    if (gradient is null) parameter.grad = null;
                    else if (parameter.grad is { } now)
                    {
                        now.copy_(gradient);
                        gradient.Dispose();
                    }
                    else parameter.grad = gradient;
                }
            }
            _module.train(_training);
            random.set_rng_state(_generator);
            _generator.Dispose();
        }
    }
}
