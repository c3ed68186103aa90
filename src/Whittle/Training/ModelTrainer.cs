using System.Diagnostics;
using System.Text.Json.Serialization;
using Whittle.Data;
using Whittle.Engine;
using Whittle.Evaluation;
using Whittle.Onnx;
using static TorchSharp.torch;

namespace Whittle.Training;

/// <summary>Options of the training job. Immutable; validated here; every default lives here.</summary>
public sealed class ModelTrainingOptions
{
    /// <summary>The options with every default.</summary>
    public static ModelTrainingOptions Default { get; } = new();

    /// <summary>The default share of the training split held out for validation.</summary>
    public const double DefaultValidationFraction = 0.1;

    /// <summary>The largest difference between the Engine and ONNX Runtime on the written-back model before it is refused.</summary>
    public const double WriteBackTolerance = 1e-3;

    /// <summary>Validates and stores the settings.</summary>
    /// <param name="trainer">Epochs, batch, optimizer, schedule, clipping, early stopping, seed, run directory. Its loss is replaced when <paramref name="loss"/> is null: cross-entropy (with <paramref name="labelSmoothing"/> and <paramref name="balanced"/> class weights) for classification, binary cross-entropy for ranking, each monitored on its natural validation metric.</param>
    /// <param name="loss">The loss to train with; null for the task's (see <paramref name="trainer"/>).</param>
    /// <param name="seeds">Train this many times (seeds seed .. seed + N − 1) and report the spread of every metric.</param>
    /// <param name="validationFraction">The share of the training split held out (stratified) for validation.</param>
    /// <param name="limit">Use only the first N training samples; null for all.</param>
    /// <param name="resume">Continue an interrupted run from the last checkpoint in the trainer's run directory.</param>
    /// <param name="labelSmoothing">Classification: cross-entropy label smoothing, in [0, 1).</param>
    /// <param name="balanced">Classification: weight each class by N / (classes × count) of the training part (sklearn's "balanced").</param>
    /// <param name="threads">libtorch threads (0 = libtorch's default).</param>
    /// <param name="registry">The Engine's op converters (a user's converters for custom ops); null for <see cref="OpRegistry.Default"/>.</param>
    /// <param name="allowDiverged">Return a model whose run diverged (chance-level accuracy, exploded loss) instead of failing (<see cref="TrainingDivergence"/>).</param>
    /// <param name="reinsertBatchNorm">Train with BatchNorms re-inserted after the Conv/Gemm layers that have none (<see cref="BatchNormReinsertion"/>: deploy-form exports have them folded away), folded back into the written model. On by default for image and tensor classifiers (text models train without: measured worse on TextCNN); a model with a BatchNorm after every layer is unaffected.</param>
    /// <param name="callbacks">Extra training callbacks of each seed's run (given the seed), e.g. a distillation's α policy; null for none.</param>
    /// <param name="learningRateFinder">
    /// Null trains at the trainer optimizer's learning rate. Given, the job first runs a learning-rate range test
    /// (<see cref="Training.LearningRateFinder"/>) with these settings, once, on the training part, from the model's
    /// initial weights, with the trainer's optimizer, loss, batch size, clipping and seed, and every seed trains at its
    /// suggestion instead (<see cref="LearningRateFinderOptions.Default"/>: fastai's <c>lr_find</c> range and smoothing, rule minimum / 10).
    /// </param>
    /// <exception cref="InvalidOptionException">A value is out of range or options contradict each other.</exception>
    public ModelTrainingOptions(TrainerOptions? trainer = null, TrainingLoss? loss = null, int seeds = 1, double validationFraction = DefaultValidationFraction,
        int? limit = null, bool resume = false, double labelSmoothing = 0, bool balanced = false, int threads = 0, OpRegistry? registry = null,
        bool allowDiverged = false, bool reinsertBatchNorm = true, Func<int, IReadOnlyList<TrainingCallback>>? callbacks = null,
        LearningRateFinderOptions? learningRateFinder = null)
    {
        if (seeds < 1) throw new InvalidOptionException(nameof(Seeds), $"train with at least 1 seed, not {seeds}");
        if (seeds > 1 && resume) throw new InvalidOptionException(nameof(Resume), "resuming continues one run; it cannot be combined with several seeds");
        if (!(validationFraction > 0 && validationFraction < 1)) throw new InvalidOptionException(nameof(ValidationFraction), $"the validation fraction must be between 0 and 1, not {validationFraction}");
        if (limit is < 2) throw new InvalidOptionException(nameof(Limit), $"the sample limit must be at least 2, not {limit}");
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw new InvalidOptionException(nameof(LabelSmoothing), $"label smoothing must be in [0, 1), not {labelSmoothing}");
        if (threads < 0) throw new InvalidOptionException(nameof(Threads), $"threads must be 0 or more, not {threads}");
        if (loss is not null && (labelSmoothing != 0 || balanced)) throw new InvalidOptionException(nameof(Loss), "label smoothing and balanced weights shape the task's default loss; give them inside the loss instead");
        Trainer = trainer ?? new TrainerOptions();
        Loss = loss;
        Seeds = seeds;
        ValidationFraction = validationFraction;
        Limit = limit;
        Resume = resume;
        LabelSmoothing = labelSmoothing;
        Balanced = balanced;
        Threads = threads;
        Registry = registry;
        AllowDiverged = allowDiverged;
        ReinsertBatchNorm = reinsertBatchNorm;
        Callbacks = callbacks;
        LearningRateFinder = learningRateFinder;
    }

    /// <summary>
    /// These options with another loss and per-seed callbacks (the distillation job's), every other
    /// setting kept; label smoothing and balanced weights, which shape only the task's own loss, are dropped.
    /// </summary>
    public ModelTrainingOptions WithLoss(TrainingLoss loss, Func<int, IReadOnlyList<TrainingCallback>>? callbacks) =>
        new(Trainer, loss ?? throw new ArgumentNullException(nameof(loss)), Seeds, ValidationFraction, Limit, Resume, threads: Threads, registry: Registry,
            allowDiverged: AllowDiverged, reinsertBatchNorm: ReinsertBatchNorm, callbacks: callbacks, learningRateFinder: LearningRateFinder);

    /// <summary>
    /// <see cref="WithLoss(TrainingLoss, Func{int, IReadOnlyList{TrainingCallback}}?)"/> that also
    /// prepares every seed's module before its optimizer exists (a hint-layer distillation attaches
    /// its projections and names the student values to capture).
    /// </summary>
    internal ModelTrainingOptions WithLoss(TrainingLoss loss, Func<int, IReadOnlyList<TrainingCallback>>? callbacks, Action<FeatureInputModule>? moduleSetup) =>
        new(Trainer, loss ?? throw new ArgumentNullException(nameof(loss)), Seeds, ValidationFraction, Limit, Resume, threads: Threads, registry: Registry,
            allowDiverged: AllowDiverged, reinsertBatchNorm: ReinsertBatchNorm, callbacks: callbacks, learningRateFinder: LearningRateFinder)
        { ModuleSetup = moduleSetup };

    /// <summary>Called on every seed's module before it trains (after the seed is set), or null.</summary>
    internal Action<FeatureInputModule>? ModuleSetup { get; private init; }

    /// <summary>Whether folded BatchNorms are re-inserted for training.</summary>
    public bool ReinsertBatchNorm { get; }

    /// <summary>Extra training callbacks per seed, or null.</summary>
    public Func<int, IReadOnlyList<TrainingCallback>>? Callbacks { get; }

    /// <summary>The range test that picks the learning rate, or null to train at the optimizer's.</summary>
    public LearningRateFinderOptions? LearningRateFinder { get; }

    /// <summary>Whether a range test picks the learning rate (<see cref="LearningRateFinder"/> is set).</summary>
    public bool AutoLearningRate => LearningRateFinder is not null;

    /// <summary>
    /// The learning rate Adam and AdamW train text classifiers at by default, ten times their usual 1e-3.
    /// Measured (docs/training.md): TextCNN on the fortunes corpus, AdamW, cosine, 10 epochs, test macro-F1
    /// 0.36 at 1e-3 (seed 0) and 0.58–0.63 at 1e-2 (three seeds); a range test suggests 2e-3 to 7e-3 there.
    /// </summary>
    public const double TextLearningRate = 1e-2;

    /// <summary>The learning rate SGD trains at by default (it has no usual one; 0.1 with momentum 0.9 is the common start).</summary>
    public const double SgdLearningRate = 0.1;

    /// <summary>
    /// The default learning rate of <paramref name="optimizer"/> on data of <paramref name="family"/>: SGD
    /// <see cref="SgdLearningRate"/>; Adam and AdamW on text <see cref="TextLearningRate"/>; otherwise the
    /// optimizer's own default (Adam and AdamW 1e-3, RMSprop and Adagrad 1e-2, PyTorch's).
    /// </summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="family">The data's family (<see cref="DatasetSpec.Family"/>).</param>
    public static double DefaultLearningRate(OptimizerKind optimizer, DatasetFamily family) => optimizer switch
    {
        OptimizerKind.Sgd => SgdLearningRate,
        OptimizerKind.Adam or OptimizerKind.AdamW when family == DatasetFamily.Text => TextLearningRate,
        OptimizerKind.Adam or OptimizerKind.AdamW => AdamOptions.DefaultLearningRate,
        OptimizerKind.RmsProp => new RmsPropOptions().LearningRate,
        OptimizerKind.Adagrad => new AdagradOptions().LearningRate,
        _ => throw OptionChecks.Invalid("Optimizer", $"one of {string.Join(", ", Enum.GetNames<OptimizerKind>())}", (int)optimizer),
    };

    /// <summary>
    /// Whether classification on data of <paramref name="family"/> weighs classes (<see cref="Balanced"/>) by
    /// default: for text, whose corpora are skewed (fortunes: 29 to 210 test texts per class) and are judged by
    /// macro-F1 (measured, docs/training.md: +0.02 mean test macro-F1 over three seeds at the text learning rate).
    /// </summary>
    /// <param name="family">The data's family.</param>
    public static bool DefaultBalanced(DatasetFamily family) => family == DatasetFamily.Text;

    /// <summary>The Engine's op converters, or null for the default ones.</summary>
    public OpRegistry? Registry { get; }

    /// <summary>Whether a diverged run is returned rather than refused.</summary>
    public bool AllowDiverged { get; }

    /// <summary>How each run trains.</summary>
    public TrainerOptions Trainer { get; }

    /// <summary>The loss, or null for the task's.</summary>
    public TrainingLoss? Loss { get; }

    /// <summary>How many seeds.</summary>
    public int Seeds { get; }

    /// <summary>The validation share.</summary>
    public double ValidationFraction { get; }

    /// <summary>At most this many training samples, or null.</summary>
    public int? Limit { get; }

    /// <summary>Whether to resume from the last checkpoint.</summary>
    public bool Resume { get; }

    /// <summary>Cross-entropy label smoothing.</summary>
    public double LabelSmoothing { get; }

    /// <summary>Balanced class weights.</summary>
    public bool Balanced { get; }

    /// <summary>libtorch threads (0 = default).</summary>
    public int Threads { get; }
}

/// <summary>One seed's training: how it went and how the trained model scored in ONNX Runtime on the test split.</summary>
/// <param name="Seed">The seed.</param>
/// <param name="Epochs">Epochs trained.</param>
/// <param name="StopReason">Why it stopped.</param>
/// <param name="BestEpoch">The best epoch (1-based).</param>
/// <param name="ValidationAccuracy">Validation accuracy of the best epoch.</param>
/// <param name="ValidationMacroF1">Validation macro-F1 of the best epoch.</param>
/// <param name="TestAccuracy">Test accuracy in ORT (classification with a test split).</param>
/// <param name="TestMacroF1">Test macro-F1 in ORT.</param>
/// <param name="Seconds">Training wall time.</param>
/// <param name="History">Every epoch.</param>
/// <param name="TestHitRate">Ranking: HR@K on the held-out positives.</param>
/// <param name="TestNdcg">Ranking: NDCG@K.</param>
/// <param name="TestMrr">Ranking: MRR.</param>
public sealed record SeedTraining(int Seed, int Epochs, string StopReason, int BestEpoch, double ValidationAccuracy, double ValidationMacroF1,
    double? TestAccuracy, double? TestMacroF1, double Seconds, IReadOnlyList<EpochRecord> History,
    double? TestHitRate = null, double? TestNdcg = null, double? TestMrr = null);

/// <summary>The spread of one metric over seeds (sample standard deviation).</summary>
/// <param name="Mean">Mean.</param>
/// <param name="Std">Sample standard deviation.</param>
/// <param name="Min">Smallest.</param>
/// <param name="Max">Largest.</param>
/// <param name="Count">Seeds.</param>
public sealed record MetricSpread(double Mean, double Std, double Min, double Max, int Count)
{
    internal static MetricSpread Of(IEnumerable<double> values)
    {
        var s = new SummaryStatistics(values);
        return new MetricSpread(s.Mean, s.StandardDeviation, s.Minimum, s.Maximum, s.Count);
    }
}

/// <summary>What the training job did: the trained model (first seed) and every figure the CLI prints and serializes.</summary>
/// <param name="Model">The trained model (first seed), its weights written back into the source graph and checked against the Engine in ORT; see <see cref="Save"/>.</param>
/// <param name="Source">The model trained from.</param>
/// <param name="BoundData">The data, whose vocabulary a text model needs beside it.</param>
/// <param name="Data">Says what the data is.</param>
/// <param name="TrainSamples">Training samples.</param>
/// <param name="ValidationSamples">Validation samples.</param>
/// <param name="TestSamples">Test samples (or held-out interactions), when there is a test part.</param>
/// <param name="Optimizer">The optimizer.</param>
/// <param name="Schedule">The learning-rate schedule.</param>
/// <param name="Runs">Each seed's run.</param>
/// <param name="Stability">With several seeds: mean ± std of every metric.</param>
/// <param name="VerificationMaxAbsDifference">Largest difference between the Engine and ORT on the trained models.</param>
/// <param name="RunDirectory">Where checkpoints and history are, when kept.</param>
/// <param name="Warnings">What the user should know (a loss that grew while the best epoch's weights were kept, a diverged run allowed).</param>
/// <param name="LearningRate">The base learning rate every seed trained at (the optimizer's, or the range test's suggestion).</param>
/// <param name="LearningRateFinder">The range test that chose <paramref name="LearningRate"/>, or null when the optimizer's rate was used.</param>
/// <param name="ReinsertedBatchNorms">How many BatchNorms were re-inserted for training (and folded back), 0 when none.</param>
/// <param name="BatchNormInit">How they started: identity (a trained model) or standard (γ = 1, β = 0: a model at chance accuracy, trained from scratch).</param>
public sealed record ModelTrainingResult([property: JsonIgnore] OnnxModel Model, [property: JsonIgnore] OnnxModel Source, [property: JsonIgnore] BoundData BoundData,
    string Data, int TrainSamples, int ValidationSamples, int? TestSamples, string Optimizer, string Schedule, IReadOnlyList<SeedTraining> Runs,
    IReadOnlyDictionary<string, MetricSpread>? Stability, double VerificationMaxAbsDifference, string? RunDirectory, IReadOnlyList<string> Warnings,
    double LearningRate, LearningRateFinderResult? LearningRateFinder, int ReinsertedBatchNorms = 0, string? BatchNormInit = null)
{
    /// <summary>Writes the trained model through <see cref="VerifiedModelWriter"/> (it must run in ORT with the source's outputs and shapes; the source is never overwritten), with the vocabulary of a text model beside it.</summary>
    public void Save(string path)
    {
        VerifiedModelWriter.Write(Model, path, new WriteVerification(Source));
        BoundData.WriteBeside(path);
    }
}

/// <summary>
/// The training job: trains (or fine-tunes) an ONNX model with the Engine on data bound to it,
/// once per seed (<see cref="MultiSeedTraining"/>), writes the trained weights back into the same
/// graph, checks that ONNX Runtime computes what the Engine does, and judges each trained model
/// on the test split in ORT (classification, or ranking next to baselines).
/// </summary>
public static class ModelTrainer
{
    /// <summary>Trains with the default options.</summary>
    public static ModelTrainingResult Train(OnnxModel model, BoundData data) => Train(model, data, ModelTrainingOptions.Default);

    /// <summary>Trains <paramref name="model"/> (not modified).</summary>
    /// <param name="model">The model to train; its initializers are the starting point.</param>
    /// <param name="data">Labelled data bound to the model (<see cref="ModelData.Bind(OnnxModel, string, DataOptions?, bool)"/> with a new vocabulary allowed for text).</param>
    /// <param name="options">How to train.</param>
    /// <param name="progress">Receives each epoch's steps (stage per seed and epoch) and figures.</param>
    /// <exception cref="WhittleException">Unsupported operators (all listed), unlabelled data, divergence, or a write-back that ORT does not reproduce.</exception>
    public static ModelTrainingResult Train(OnnxModel model, BoundData data, ModelTrainingOptions options, IProgress<JobProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Threads > 0 && options.Threads != get_num_threads()) set_num_threads(options.Threads);
        EnginePreflight.EnsureSupported(model, options.Registry);
        var label = model.SourcePath ?? model.Graph.Name;
        if (options.Balanced && data.Task == ModelTask.Ranking)
            throw new InvalidOptionException(nameof(ModelTrainingOptions.Balanced), "balanced weights weigh classes; ranking trains pairs with sampled negatives instead");
        int firstSeed = options.Trainer.Seed;
        var (train, validation) = TrainingSplit(data, options);
        var trainer = TaskTrainer(options, data.Task, train);
        // Models with nothing to re-insert train as they are.
        var reinserted = options.ReinsertBatchNorm && BatchNormReinsertion.Suits(data)
            ? BatchNormReinsertion.Insert(model, train, registry: options.Registry) : new ReinsertedModel(model, []);
        LearningRateFinderResult? found = null;
        if (options.AutoLearningRate)
        {
            found = FindLearningRate(reinserted.Model, train, trainer, options, progress);
            trainer = trainer.WithOptimizer(trainer.Optimizer.WithLearningRate(found.SuggestedLearningRate));
        }

        var runs = new List<SeedTraining>();
        var warnings = new List<string>();
        OnnxModel? first = null;
        double verification = 0;
        var watch = new Stopwatch();
        // One forwarding sink per seed, not one per step: the reporter sits on the training hot path.
        IProgress<TrainingProgress>? SinkFor(int seed) => TrainingProgressReporter.ForJob(progress, options.Seeds == 1 ? "training" : $"seed {seed}");
        var sink = SinkFor(firstSeed);
        var reporter = new InlineProgress<TrainingProgress>(p => sink?.Report(p));
        MultiSeedTraining.Run(() =>
            {
                watch.Restart();
                // The graph's initializers are the starting point (fine-tuning); seeds differ in data order and dropout.
                var module = new FeatureInputModule(new OnnxModule(reinserted.Model, options.Registry));
                options.ModuleSetup?.Invoke(module);
                return module;
            }, train, validation, trainer, Enumerable.Range(firstSeed, options.Seeds), reporter, resume: options.Resume, callbacks: options.Callbacks,
            afterRun: (run, module) =>
            {
                var seconds = watch.Elapsed.TotalSeconds;
                // A finite loss can still be a ruined run (2e14, or chance accuracy): refuse it before anything is written.
                var verdict = TrainingDivergence.Diagnose(run.Training.History, run.Training.BestEpoch,
                    data.Task == ModelTask.Classification ? train.ClassCount : null, trainer.Optimizer.LearningRate);
                if (verdict.Message is { } message)
                {
                    var text = $"{label}, seed {run.Seed}: {message}";
                    if (verdict.Failed && !options.AllowDiverged) throw new TrainingException(text + "; not written (AllowDiverged writes it anyway; the CLI's --allow-diverged)");
                    warnings.Add(text);
                }
                var onnx = ((FeatureInputModule)module).Model;
                module.eval();
                var trained = reinserted.FoldBack(onnx.ToOnnx());
                trained.SetMetadata("whittle.trained", $"epochs={run.Training.History.Count}; optimizer={trainer.Optimizer}; seed={run.Seed}");
                verification = Math.Max(verification, CheckWriteBack(module, trained, validation, data.SampleShape, label));
                var best = run.Training.BestEpochRecord;
                ClassifierEvaluation? test = data.Task == ModelTask.Classification && data.Test is { } t ? ModelEvaluator.Classify(trained, t) : null;
                RankingEvaluation? ranking = data.Task == ModelTask.Ranking ? ModelEvaluator.Rank(trained, data.Interactions!, data.Options) : null;
                runs.Add(new SeedTraining(run.Seed, run.Training.History.Count, run.Training.StopReason.ToString(), run.Training.BestEpoch,
                    best.ValidationAccuracy ?? double.NaN, best.ValidationMacroF1 ?? double.NaN, test?.Accuracy, test?.MacroF1, seconds, run.Training.History,
                    ranking?.Model.HitRate, ranking?.Model.Ndcg, ranking?.Model.Mrr));
                first ??= trained;
                sink = SinkFor(run.Seed + 1);
            });

        int? testCount = data.Task == ModelTask.Ranking ? data.Interactions!.Test.Count : data.Test?.Count;
        return new ModelTrainingResult(first!, model, data, data.Description, train.Count, validation.Count, testCount,
            trainer.Optimizer.ToString()!, trainer.Schedule.ToString() ?? "", runs, options.Seeds > 1 ? Stability(runs) : null, verification, trainer.RunDirectory, warnings,
            trainer.Optimizer.LearningRate, found, reinserted.InsertedNodes.Count, reinserted.InsertedNodes.Count > 0 ? reinserted.Init.ToString().ToLowerInvariant() : null);
    }

    /// <summary>
    /// The range test on a fresh module from the model's initial weights (the starting point of every
    /// seed), with the trainer's optimizer, loss, batch size, clipping and seed, reported as its own stage.
    /// </summary>
    private static LearningRateFinderResult FindLearningRate(OnnxModel model, TensorDataset train, TrainerOptions trainer, ModelTrainingOptions options,
        IProgress<JobProgress>? progress)
    {
        var finder = options.LearningRateFinder!.Resolve(trainer.BatchSize, trainer.Seed);
        const string stage = "finding learning rate";
        var sink = progress is null ? null : new InlineProgress<LearningRatePoint>(p => progress.Report(new JobProgress(stage, p.Step + 1, finder.Steps,
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"lr {p.LearningRate:G3}, smoothed loss {p.SmoothedLoss:0.0000}"))));
        progress?.Report(new JobProgress(stage, 0, finder.Steps));
        using var module = new FeatureInputModule(new OnnxModule(model, options.Registry));
        var found = LearningRateFinder.Run(module, train, trainer.Loss, trainer.Optimizer, finder, trainer.GradientClipping, sink);
        progress?.Report(new JobProgress(stage, finder.Steps, finder.Steps,
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"learning rate {found.SuggestedLearningRate:G3} ({found.Reason})"), Finished: true));
        return found;
    }

    /// <summary>
    /// The training and validation parts a run of <paramref name="options"/> uses: the training split
    /// (for ranking, its pairs with sampled negatives), limited as asked, minus a stratified validation
    /// share drawn with the trainer's seed. The distillation job judges its teacher on the same part.
    /// </summary>
    internal static (TensorDataset Train, TensorDataset Validation) TrainingSplit(BoundData data, ModelTrainingOptions options)
    {
        int firstSeed = options.Trainer.Seed;
        var full = data.Task == ModelTask.Ranking ? data.TrainingPairs(firstSeed)
            : data.Train ?? throw new DataFormatException($"{data.Spec}: training needs a labelled training split");
        if (!full.HasLabels) throw new DataFormatException($"{data.Spec}: training needs labels");
        if (options.Limit is { } limit) full = full.Take(limit);
        return full.Split(options.ValidationFraction, firstSeed, stratified: true);
    }

    /// <summary>The trainer options with the task's loss and monitor unless the user chose a loss.</summary>
    private static TrainerOptions TaskTrainer(ModelTrainingOptions options, ModelTask task, TensorDataset train)
    {
        // A classification loss validated as cross-entropy (distillation, recovery) picks its best epoch as training alone does, by accuracy.
        if (options.Loss is { } loss)
            return options.Trainer.WithLoss(loss, options.Trainer.Monitor
                ?? (task == ModelTask.Classification && loss.ValidationLoss is CrossEntropy ? TrainingMetric.ValidationAccuracy : null));
        // Ranking trains one relevance logit per pair against its 0/1 label.
        return task == ModelTask.Ranking
            ? options.Trainer.WithLoss(new BinaryCrossEntropyWithLogits(), options.Trainer.Monitor ?? TrainingMetric.ValidationLoss)
            : options.Trainer.WithLoss(new CrossEntropy(options.LabelSmoothing, options.Balanced ? BalancedWeights(train) : null),
                options.Trainer.Monitor ?? TrainingMetric.ValidationAccuracy);
    }

    /// <summary>sklearn's "balanced" class weights: N / (classes × count of the class).</summary>
    public static float[] BalancedWeights(TensorDataset train)
    {
        ArgumentNullException.ThrowIfNull(train);
        var counts = train.CountPerClass();
        int missing = Array.IndexOf(counts, 0);
        if (missing >= 0) throw new DataFormatException($"balanced class weights: class {train.ClassNames[missing]} has no training sample");
        return counts.Select(c => (float)((double)train.Count / (counts.Length * c))).ToArray();
    }

    /// <summary>The written-back model must compute in ONNX Runtime what the Engine computes (16 validation samples).</summary>
    private static double CheckWriteBack(nn.Module<Tensor, Tensor> module, OnnxModel trained, TensorDataset sample, IReadOnlyList<int> sampleShape, string label)
    {
        var batch = sample.Take(Math.Min(16, sample.Count));
        var shape = new long[] { batch.Count }.Concat(sampleShape.Select(d => (long)d)).ToArray();
        var features = batch.Features.ToArray();
        using var session = new Runtime.OnnxRuntimeSession(trained);
        var ort = session.RunBatches(features, [.. sampleShape], batch.Count).AsFloats();
        float[] engine;
        using (no_grad()) engine = TorchTensors.ToFloats(module.call(tensor(features, shape)));
        var comparer = new OutputComparer(trained.Graph.Outputs[0].Name);
        comparer.Add(engine, ort);
        double max = comparer.Result().MaxAbsDifference;
        if (!(max <= ModelTrainingOptions.WriteBackTolerance))
            throw new EngineException($"{label}: the trained model does not agree with the Engine in ONNX Runtime (max |Δ| {max:G3}); not written");
        return max;
    }

    private static Dictionary<string, MetricSpread> Stability(IReadOnlyList<SeedTraining> runs)
    {
        var stats = new Dictionary<string, MetricSpread>
        {
            ["validationAccuracy"] = MetricSpread.Of(runs.Select(x => x.ValidationAccuracy)),
            ["validationMacroF1"] = MetricSpread.Of(runs.Select(x => x.ValidationMacroF1)),
        };
        if (runs[0].TestAccuracy is not null)
        {
            stats["testAccuracy"] = MetricSpread.Of(runs.Select(x => x.TestAccuracy!.Value));
            stats["testMacroF1"] = MetricSpread.Of(runs.Select(x => x.TestMacroF1!.Value));
        }
        if (runs[0].TestHitRate is not null)
        {
            stats["testHitRate"] = MetricSpread.Of(runs.Select(x => x.TestHitRate!.Value));
            stats["testNdcg"] = MetricSpread.Of(runs.Select(x => x.TestNdcg!.Value));
            stats["testMrr"] = MetricSpread.Of(runs.Select(x => x.TestMrr!.Value));
        }
        stats["epochs"] = MetricSpread.Of(runs.Select(x => (double)x.Epochs));
        stats["seconds"] = MetricSpread.Of(runs.Select(x => x.Seconds));
        return stats;
    }
}
