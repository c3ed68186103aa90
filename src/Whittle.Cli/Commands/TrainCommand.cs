using System.CommandLine;
using Spectre.Console;
using Whittle.Data;
using Whittle.Engine;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Training;
using Whittle.Zoo;
using static TorchSharp.torch;

namespace Whittle.Cli.Commands;

/// <summary>Which learning-rate schedule <c>--schedule</c> names.</summary>
public enum ScheduleChoice { Constant, Step, MultiStep, Exponential, Cosine, OneCycle, Plateau }

/// <summary>
/// <c>whittle train MODEL --data DATASET -o OUT</c>: trains (or fine-tunes) an ONNX model with
/// the Engine and writes the trained weights into the same graph; the written model is
/// verified in ONNX Runtime and evaluated on the test split there.
/// </summary>
internal static class TrainCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<FileInfo>("MODEL") { Description = "The .onnx model to train" };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the trained model", Required = true };
        var dataArgs = new DataArguments("fashion-mnist");
        var epochs = new Option<int>("--epochs", "-e") { Description = "Epochs", DefaultValueFactory = _ => new TrainerOptions().Epochs };
        var batch = new Option<int>("--batch", "-b") { Description = "Batch size", DefaultValueFactory = _ => 64 };
        var optimizer = new Option<OptimizerKind>("--optimizer") { Description = "sgd, adam, adamw, rmsprop or adagrad", DefaultValueFactory = _ => OptimizerKind.AdamW };
        var lr = new Option<double?>("--lr") { Description = "Learning rate (default: the optimizer's usual one; sgd 0.1)" };
        var weightDecay = new Option<double?>("--weight-decay") { Description = "Weight decay (L2 for sgd/adam/rmsprop/adagrad, decoupled for adamw)" };
        var momentum = new Option<double?>("--momentum") { Description = "Momentum (default: 0.9 for sgd, 0 for rmsprop)" };
        var nesterov = new Option<bool>("--nesterov") { Description = "Nesterov momentum (sgd)" };
        var schedule = new Option<ScheduleChoice>("--schedule") { Description = "constant, step, multistep, exponential, cosine, onecycle or plateau", DefaultValueFactory = _ => ScheduleChoice.Cosine };
        var stepSize = new Option<int>("--step-size") { Description = "Epochs between decays (step)", DefaultValueFactory = _ => 3 };
        var milestones = new Option<string>("--milestones") { Description = "Epochs at which to decay (multistep), e.g. 5,8", DefaultValueFactory = _ => "5,8" };
        var gamma = new Option<double>("--gamma") { Description = "Decay factor (step, multistep, exponential, plateau)", DefaultValueFactory = _ => 0.1 };
        var warmup = new Option<int>("--warmup") { Description = "Linear warm-up steps before the schedule (0 = none)", DefaultValueFactory = _ => 0 };
        var labelSmoothing = new Option<double>("--label-smoothing") { Description = "Cross-entropy label smoothing", DefaultValueFactory = _ => 0.0 };
        var balanced = new Option<bool>("--balanced") { Description = "Classification: weight the cross-entropy per class by N / (classes x count) of the training part (sklearn's 'balanced'), for skewed classes and macro-F1" };
        var clip = new Option<double?>("--clip-norm") { Description = "Clip the gradient norm to this value" };
        var earlyStop = new Option<int?>("--early-stop") { Description = "Stop after N epochs without improvement of validation accuracy" };
        var validation = new Option<double>("--validation") { Description = "Fraction of the training data held out for validation (stratified)", DefaultValueFactory = _ => 0.1 };
        var limit = new Option<int?>("--limit") { Description = "Use only the first N training samples" };
        var seed = new Option<int>("--seed") { Description = "Seed of data order, dropout and the validation split", DefaultValueFactory = _ => 0 };
        var seeds = new Option<int>("--seeds") { Description = "Train N times (seeds seed..seed+N-1) and report mean ± std of every metric", DefaultValueFactory = _ => 1 };
        var resume = new Option<bool>("--resume") { Description = "Continue an interrupted run from the last checkpoint in --checkpoint-dir" };
        var checkpointDir = new Option<DirectoryInfo?>("--checkpoint-dir") { Description = "Checkpoints and history (default: OUTPUT.run/)" };
        var threads = new Option<int>("--threads", "-t") { Description = "libtorch threads (0 = libtorch's default)", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var taskArgs = new TaskDataArguments();
        var cmd = new Command("train", "Train or fine-tune an ONNX model with the Engine (TorchSharp) and write the trained weights into the same graph (images, features, text classification, recommender ranking)")
        {
            model, output, epochs, batch, optimizer, lr, weightDecay, momentum, nesterov, schedule, stepSize, milestones, gamma, warmup,
            labelSmoothing, balanced, clip, earlyStop, validation, limit, seed, seeds, resume, checkpointDir, threads, json,
        };
        dataArgs.AddTo(cmd);
        taskArgs.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var request = new TrainRequest(parse.GetRequiredValue(model), parse.GetRequiredValue(output), parse.GetValue(dataArgs.Data)!,
                parse.GetValue(dataArgs.Normalize), parse.GetValue(dataArgs.Scale), parse.GetValue(epochs), parse.GetValue(batch),
                parse.GetValue(optimizer), parse.GetValue(lr), parse.GetValue(weightDecay), parse.GetValue(momentum), parse.GetValue(nesterov),
                parse.GetValue(schedule), parse.GetValue(stepSize), parse.GetValue(milestones)!, parse.GetValue(gamma), parse.GetValue(warmup),
                parse.GetValue(labelSmoothing), parse.GetValue(clip), parse.GetValue(earlyStop), parse.GetValue(validation), parse.GetValue(limit),
                parse.GetValue(seed), parse.GetValue(seeds), parse.GetValue(resume), parse.GetValue(checkpointDir), parse.GetValue(threads), taskArgs.Read(parse), parse.GetValue(balanced));
            return Execute(console, request, parse.GetValue(json));
        });
        return cmd;
    }

    internal sealed record TrainRequest(FileInfo Model, FileInfo Output, string Data, string? Normalize, float? Scale, int Epochs, int Batch,
        OptimizerKind Optimizer, double? Lr, double? WeightDecay, double? Momentum, bool Nesterov, ScheduleChoice Schedule, int StepSize,
        string Milestones, double Gamma, int Warmup, double LabelSmoothing, double? ClipNorm, int? EarlyStop, double Validation, int? Limit,
        int Seed, int Seeds, bool Resume, DirectoryInfo? CheckpointDir, int Threads, TaskDataSettings Task, bool Balanced = false);

    public sealed record SeedJson(int Seed, int Epochs, string StopReason, int BestEpoch, double ValidationAccuracy, double ValidationMacroF1,
        double? TestAccuracy, double? TestMacroF1, double Seconds, IReadOnlyList<EpochRecord> History,
        double? TestHitRate = null, double? TestNdcg = null, double? TestMrr = null);

    /// <summary>What a trained model scored on the held-out test part, in ONNX Runtime.</summary>
    private sealed record TestScores(double? Accuracy, double? MacroF1, RankingReport? Ranking);

    /// <summary>
    /// The data of one training run, whatever its family: training and validation samples as
    /// float features, how a trained model is judged on the test part, and what else is written
    /// next to the output (a text model's vocabulary).
    /// </summary>
    private sealed record PreparedData(TaskChoice Task, string Description, TensorDataset Train, TensorDataset Validation, int[] SampleShape,
        int? TestCount, Func<OnnxModel, TestScores>? Test, Action<string>? WriteBeside);

    public sealed record StatJson(double Mean, double Std, double Min, double Max, int Count);

    public sealed record TrainJson(string Model, string Output, string Data, int TrainSamples, int ValidationSamples, int? TestSamples,
        string Optimizer, string Schedule, IReadOnlyList<SeedJson> Runs, IReadOnlyDictionary<string, StatJson>? Stability,
        double VerificationMaxAbsDifference, string RunDirectory);

    private static int Execute(CliConsole console, TrainRequest r, bool json)
    {
        Validate(r);
        // Process-wide in libtorch: only touched when asked for and different.
        if (r.Threads > 0 && r.Threads != get_num_threads()) set_num_threads(r.Threads);
        var source = OnnxModel.Load(r.Model.FullName);
        EnginePreflight.EnsureSupported(source);

        var spec = DatasetSpec.Parse(r.Data);
        var task = TaskData.ResolveTask(spec, r.Task.Task);
        var data = spec.Family switch
        {
            DatasetFamily.Text => PrepareText(r, source, spec),
            DatasetFamily.Interactions => PrepareRanking(r, source, spec),
            _ => PrepareTensors(r, source, spec),
        };
        var (train, validation) = (data.Train, data.Validation);
        if (r.Balanced && data.Task == TaskChoice.Ranking) throw new UsageException("--balanced weights classes; ranking trains pairs with sampled negatives instead");
        float[]? classWeights = r.Balanced ? BalancedWeights(train) : null;

        var runRoot = r.CheckpointDir?.FullName ?? Path.ChangeExtension(r.Output.FullName, null) + ".run";
        Directory.CreateDirectory(runRoot);
        var runs = new List<SeedJson>();
        OnnxModel? firstTrained = null;
        double verification = 0;
        for (int k = 0; k < r.Seeds; k++)
        {
            int seed = r.Seed + k;
            var runDir = r.Seeds == 1 ? runRoot : Path.Combine(runRoot, $"seed-{seed}");
            var options = Options(r, seed, runDir, data.Task, classWeights);
            if (!json) console.Out.MarkupLine($"[bold]Training[/] {Markup.Escape(r.Model.Name)} on {Markup.Escape(data.Description)}: {Format.Count(train.Count)} train / {Format.Count(validation.Count)} validation samples, seed {seed}, {Markup.Escape(options.Optimizer.ToString())}");
            using var scope = NewDisposeScope();
            // A different seed starts from different weights only through dropout and data order: the
            // graph's initializers are the starting point, as in fine-tuning.
            // The wrapper owns the OnnxModule as a submodule and disposes it; disposing both would
            // release the OnnxModule twice.
            var onnxModule = new OnnxModule(source);
            using var module = new FeatureInputModule(onnxModule);
            var trainer = new Trainer(module, options);
            var watch = System.Diagnostics.Stopwatch.StartNew();
            TrainingResult result = Fit(console, trainer, train, validation, r.Resume, json, options.Epochs, data.Task);
            var seconds = watch.Elapsed.TotalSeconds;
            module.eval();
            var trained = onnxModule.ToOnnx();
            trained.SetMetadata("whittle.trained", $"epochs={result.History.Count}; optimizer={options.Optimizer}; seed={seed}");
            var diff = Verify(module, trained, validation, data.SampleShape, r.Output.FullName);
            verification = Math.Max(verification, diff);
            TestScores? test = data.Test?.Invoke(trained);
            var best = result.BestEpochRecord;
            runs.Add(new SeedJson(seed, result.History.Count, result.StopReason.ToString(), result.BestEpoch, best.ValidationAccuracy ?? double.NaN,
                best.ValidationMacroF1 ?? double.NaN, test?.Accuracy, test?.MacroF1, seconds, result.History,
                test?.Ranking?.HitRate, test?.Ranking?.Ndcg, test?.Ranking?.Mrr));
            firstTrained ??= trained;
            if (!json)
            {
                string testText = test switch
                {
                    { Ranking: { } rank } => $", test (ONNX Runtime) HR@{rank.K} [bold]{Format.Number(rank.HitRate)}[/], NDCG@{rank.K} {Format.Number(rank.Ndcg)}, MRR {Format.Number(rank.Mrr)}",
                    { Accuracy: { } accuracy } => $", test accuracy (ONNX Runtime) [bold]{Format.Percent(accuracy)}[/], macro-F1 {Format.Number(test.MacroF1 ?? double.NaN)}",
                    _ => "",
                };
                string validationText = data.Task == TaskChoice.Ranking
                    ? $"validation loss {Format.Number(best.ValidationLoss ?? double.NaN)}"
                    : $"validation accuracy {Format.Percent(best.ValidationAccuracy ?? double.NaN)}, macro-F1 {Format.Number(best.ValidationMacroF1 ?? double.NaN)}";
                console.Out.MarkupLine($"  seed {seed}: {result.History.Count} epochs ({result.StopReason}), best epoch {result.BestEpoch}: {validationText}{testText}, {seconds:0.0} s");
            }
        }

        firstTrained!.Save(r.Output.FullName);
        data.WriteBeside?.Invoke(r.Output.FullName);
        IReadOnlyDictionary<string, StatJson>? stability = null;
        if (r.Seeds > 1)
        {
            var stats = new Dictionary<string, StatJson>
            {
                ["validationAccuracy"] = Stat(runs.Select(x => x.ValidationAccuracy)),
                ["validationMacroF1"] = Stat(runs.Select(x => x.ValidationMacroF1)),
            };
            if (runs[0].TestAccuracy is not null)
            {
                stats["testAccuracy"] = Stat(runs.Select(x => x.TestAccuracy!.Value));
                stats["testMacroF1"] = Stat(runs.Select(x => x.TestMacroF1!.Value));
            }
            if (runs[0].TestHitRate is not null)
            {
                stats["testHitRate"] = Stat(runs.Select(x => x.TestHitRate!.Value));
                stats["testNdcg"] = Stat(runs.Select(x => x.TestNdcg!.Value));
                stats["testMrr"] = Stat(runs.Select(x => x.TestMrr!.Value));
            }
            stats["epochs"] = Stat(runs.Select(x => (double)x.Epochs));
            stats["seconds"] = Stat(runs.Select(x => x.Seconds));
            stability = stats;
        }
        var report = new TrainJson(r.Model.FullName, r.Output.FullName, data.Description, train.Count, validation.Count, data.TestCount,
            Options(r, r.Seed, runRoot, data.Task, classWeights).Optimizer.ToString()!, r.Schedule.ToString(), runs, stability, verification, runRoot);
        AtomicFile.WriteAllText(Path.Combine(runRoot, "train-report.json"), System.Text.Json.JsonSerializer.Serialize(report, JsonOutput.Options));
        if (json)
        {
            JsonOutput.Write(console, report);
            return WhittleCli.Ok;
        }
        if (stability is not null)
        {
            var table = new Table().Title($"Stability over {r.Seeds} seeds (sample std)").AddColumns("Metric", "mean ± std", "min", "max");
            foreach (var (name, s) in stability)
                table.AddRow(name, $"{s.Mean:0.0000} ± {s.Std:0.0000}", $"{s.Min:0.0000}", $"{s.Max:0.0000}");
            console.Out.Write(table);
        }
        console.Out.MarkupLine($"Wrote {Markup.Escape(r.Output.FullName)} (verified in ONNX Runtime: max |Δ| vs the Engine {verification:G3}); history and checkpoints in {Markup.Escape(runRoot)}");
        return WhittleCli.Ok;
    }

    /// <summary>Images and features: the training split minus a stratified validation part; the test split, when the data has one, is judged in ONNX Runtime.</summary>
    private static PreparedData PrepareTensors(TrainRequest r, OnnxModel source, DatasetSpec spec)
    {
        var dataSource = spec.Open();
        var preprocessing = DataArguments.Preprocessing(spec, r.Normalize, r.Scale);
        var trainLoaded = dataSource.Load(DatasetSplit.Train, preprocessing);
        var full = trainLoaded.Dataset;
        if (!full.HasLabels) throw new DataFormatException($"{trainLoaded.Location}: training needs labels");
        if (r.Limit is { } limit) full = full.Take(limit);
        using var probe = new OnnxRuntimeSession(source);
        if (probe.Inputs.Count != 1) throw new UsageException($"train feeds one input; {r.Model.Name} takes {probe.Inputs.Count}");
        var sampleShape = EvalCommand.MatchSampleShape(probe.Inputs[0], full, r.Model.FullName);
        full = full.WithSampleShape(sampleShape);
        var (train, validation) = full.Split(r.Validation, r.Seed, stratified: true);
        var test = dataSource.HasTestSplit ? dataSource.Load(DatasetSplit.Test, preprocessing).Dataset.WithSampleShape(sampleShape) : null;
        return new PreparedData(TaskChoice.Classification, trainLoaded.Description, train, validation, sampleShape, test?.Count,
            test is null ? null : model => Classify(model, test), null);
    }

    /// <summary>
    /// Text: the fixed stratified test split is held out first; the vocabulary is the model's own
    /// (saved next to it by zoo create or an earlier train), or built from the training texts;
    /// validation comes out of the training part.
    /// </summary>
    private static PreparedData PrepareText(TrainRequest r, OnnxModel source, DatasetSpec spec)
    {
        var vocabularyPath = Vocabulary.PathFor(r.Model.FullName);
        Vocabulary? vocabulary = File.Exists(vocabularyPath) ? TaskData.LoadVocabulary(source, r.Model.FullName) : null;
        var (trainTexts, testTexts) = TaskData.LoadText(spec, r.Task, vocabulary?.ClassNames);
        if (vocabulary is null)
        {
            vocabulary = Vocabulary.Build(trainTexts.Texts, trainTexts.ClassNames, r.Task.Tokenizer);
            vocabulary.CheckEmbeddingRows(EmbeddingTables.RowsIndexedBy(source, source.Graph.Inputs[0].Name), vocabularyPath + " (built from the training texts)", r.Model.FullName);
        }
        var full = vocabulary.Encode(trainTexts);
        if (r.Limit is { } limit) full = full.Take(limit);
        var (train, validation) = full.Split(r.Validation, r.Seed, stratified: true);
        var test = vocabulary.Encode(testTexts);
        var words = vocabulary;
        return new PreparedData(TaskChoice.Classification, $"{trainTexts.Description}, {trainTexts.Count + testTexts.Count} texts ({testTexts.Count} held out for test)",
            train, validation, [vocabulary.Options.SequenceLength], test.Count, model => Classify(model, test),
            output => words.Save(Vocabulary.PathFor(output)));
    }

    /// <summary>
    /// Recommender: leave-one-out test positives are held out; every remaining (user, item) is a
    /// positive with sampled negatives, and validation pairs come out of those.
    /// </summary>
    private static PreparedData PrepareRanking(TrainRequest r, OnnxModel source, DatasetSpec spec)
    {
        var (all, trainPart, testPart) = TaskData.LoadInteractions(spec, r.Task);
        TaskData.CheckRecommender(source, r.Model.FullName, all);
        var pairs = ImplicitFeedback.TrainingPairs(trainPart, r.Task.TrainNegatives, r.Seed);
        if (r.Limit is { } limit) pairs = pairs.Take(limit);
        var (train, validation) = pairs.Split(r.Validation, r.Seed, stratified: true);
        return new PreparedData(TaskChoice.Ranking,
            $"{all.Description}, {trainPart.Count} training interactions ({r.Task.TrainNegatives} sampled negatives each), {testPart.Count} held out",
            train, validation, [2], testPart.Count,
            model => new TestScores(null, null, TaskData.EvaluateRanking(model, r.Model.FullName, all, trainPart, testPart, r.Task).ModelScores),
            null);
    }

    private static void Validate(TrainRequest r)
    {
        if (Path.GetFullPath(r.Output.FullName) == Path.GetFullPath(r.Model.FullName))
            throw new UsageException("--output must differ from the input model (Whittle never modifies an input file)");
        if (r.Epochs < 1) throw new UsageException("--epochs must be at least 1");
        if (r.Batch < 1) throw new UsageException("--batch must be at least 1");
        if (r.Seeds < 1) throw new UsageException("--seeds must be at least 1");
        if (r.Seeds > 1 && r.Resume) throw new UsageException("--resume continues one run; it cannot be combined with --seeds");
        if (!(r.Validation > 0 && r.Validation < 1)) throw new UsageException("--validation must be a fraction between 0 and 1");
        if (r.Limit is < 2) throw new UsageException("--limit must be at least 2");
        if (r.Threads < 0) throw new UsageException("--threads must be 0 or positive");
    }

    /// <summary>sklearn's "balanced" class weights: N / (classes × count of the class).</summary>
    private static float[] BalancedWeights(TensorDataset train)
    {
        var counts = train.CountPerClass();
        int missing = Array.IndexOf(counts, 0);
        if (missing >= 0) throw new DataFormatException($"--balanced: class {train.ClassNames[missing]} has no training sample");
        return counts.Select(c => (float)((double)train.Count / (counts.Length * c))).ToArray();
    }

    internal static TrainerOptions Options(TrainRequest r, int seed, string runDirectory, TaskChoice task, float[]? classWeights = null)
    {
        double lr = r.Lr ?? (r.Optimizer == OptimizerKind.Sgd ? 0.1 : OptimizerOptions.Create(r.Optimizer, 1e-3).LearningRate);
        OptimizerOptions optimizer = r.Optimizer switch
        {
            OptimizerKind.Sgd => new SgdOptions(lr, r.Momentum ?? 0.9, r.Nesterov, r.WeightDecay ?? 0),
            OptimizerKind.Adam => new AdamOptions(lr, weightDecay: r.WeightDecay ?? 0),
            OptimizerKind.AdamW => new AdamWOptions(lr, r.WeightDecay ?? AdamWOptions.DefaultWeightDecay),
            OptimizerKind.RmsProp => new RmsPropOptions(lr, weightDecay: r.WeightDecay ?? 0, momentum: r.Momentum ?? 0),
            OptimizerKind.Adagrad => new AdagradOptions(lr, weightDecay: r.WeightDecay ?? 0),
            _ => throw new UsageException($"unknown optimizer {r.Optimizer}"),
        };
        LearningRateSchedule schedule = r.Schedule switch
        {
            ScheduleChoice.Constant or ScheduleChoice.Plateau => LearningRateSchedule.Constant,
            ScheduleChoice.Step => new StepSchedule(r.StepSize, r.Gamma),
            ScheduleChoice.MultiStep => new MultiStepSchedule(CliParsing.PositiveInts(r.Milestones, "--milestones"), r.Gamma),
            ScheduleChoice.Exponential => new ExponentialSchedule(r.Gamma),
            ScheduleChoice.Cosine => new CosineAnnealingSchedule(unit: ScheduleUnit.Step),
            ScheduleChoice.OneCycle => new OneCycleSchedule(),
            _ => throw new UsageException($"unknown schedule {r.Schedule}"),
        };
        if (r.Warmup > 0) schedule = new LinearWarmupSchedule(r.Warmup, schedule);
        return new TrainerOptions(
            epochs: r.Epochs,
            batchSize: r.Batch,
            optimizer: optimizer,
            schedule: schedule,
            // Ranking trains one relevance logit per pair against its 0/1 label.
            loss: task == TaskChoice.Ranking ? new BinaryCrossEntropyWithLogits() : new CrossEntropy(r.LabelSmoothing, classWeights),
            gradientClipping: r.ClipNorm is { } c ? GradientClipping.ByNorm(c) : null,
            seed: seed,
            monitor: task == TaskChoice.Ranking ? TrainingMetric.ValidationLoss : TrainingMetric.ValidationAccuracy,
            earlyStopping: r.EarlyStop is { } patience ? new EarlyStopping(patience) : null,
            reduceOnPlateau: r.Schedule == ScheduleChoice.Plateau ? new ReduceOnPlateau(factor: r.Gamma, patience: 2) : null,
            restoreBestWeights: true,
            runDirectory: runDirectory);
    }

    private static TrainingResult Fit(CliConsole console, Trainer trainer, TensorDataset train, TensorDataset validation, bool resume, bool json, int epochs, TaskChoice task)
    {
        TrainingResult Run(IProgress<TrainingProgress> progress) =>
            resume ? trainer.Resume(train, validation, progress) : trainer.Fit(train, validation, progress);

        if (!console.Interactive || json)
        {
            return Run(new SyncProgress<TrainingProgress>(p =>
            {
                if (p.Kind == TrainingProgressKind.EpochEnd && !json)
                    console.Out.MarkupLine($"  epoch {p.Epoch}/{p.TotalEpochs}: loss {p.Loss:0.0000}, " +
                        (task == TaskChoice.Ranking ? $"validation loss {p.ValidationLoss:0.0000}" : $"validation accuracy {Format.Percent(p.ValidationAccuracy ?? double.NaN)}") +
                        $", lr {p.LearningRate:G3}, {p.SamplesPerSecond:0} samples/s");
            }));
        }
        TrainingResult result = null!;
        AnsiConsole.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask? task = null;
                int currentEpoch = 0;
                result = Run(new SyncProgress<TrainingProgress>(p =>
                {
                    if (p.Epoch != currentEpoch || task is null)
                    {
                        task?.StopTask();
                        currentEpoch = p.Epoch;
                        task = ctx.AddTask($"epoch {p.Epoch}/{p.TotalEpochs}", maxValue: p.StepsPerEpoch);
                    }
                    task.Value = p.Step;
                    task.Description = p.Kind == TrainingProgressKind.EpochEnd
                        ? $"epoch {p.Epoch}/{p.TotalEpochs} loss {p.Loss:0.0000} val acc {(p.ValidationAccuracy ?? double.NaN):P2} lr {p.LearningRate:G3} {p.SamplesPerSecond:0}/s"
                        : $"epoch {p.Epoch}/{p.TotalEpochs} loss {p.Loss:0.0000} lr {p.LearningRate:G3} {p.SamplesPerSecond:0}/s";
                    if (p.Kind == TrainingProgressKind.EpochEnd) task.Value = task.MaxValue;
                }));
            });
        return result;
    }

    /// <summary>The written model must run in ONNX Runtime and agree with the Engine before it is saved.</summary>
    private static double Verify(FeatureInputModule module, OnnxModel trained, TensorDataset sample, int[] sampleShape, string label)
    {
        var batch = sample.Take(Math.Min(16, sample.Count));
        var shape = new long[] { batch.Count }.Concat(sampleShape.Select(d => (long)d)).ToArray();
        var features = batch.Features.ToArray();
        using var session = new OnnxRuntimeSession(trained);
        var ort = session.RunBatches(features, sampleShape, batch.Count).AsFloats();
        float[] engine;
        using (no_grad()) engine = TorchTensors.ToFloats(module.forward(tensor(features, shape)));
        double max = ort.Zip(engine).Max(p => (double)Math.Abs(p.First - p.Second));
        if (!(max <= 1e-3))
            throw new EngineException($"{label}: the trained model does not agree with the Engine in ONNX Runtime (max |Δ| {max:G3}); not written");
        return max;
    }

    private static TestScores Classify(OnnxModel model, TensorDataset test)
    {
        using var session = new OnnxRuntimeSession(model);
        var scores = session.RunBatches(test.Features, test.SampleShape.ToArray(), 256);
        int classes = (int)scores.Shape[1];
        var report = ClassificationReport.FromPredictions(test.Labels.Span, ClassScores.Argmax(scores.AsFloats(), classes), classes);
        return new TestScores(report.Accuracy, report.Macro.F1, null);
    }

    private static StatJson Stat(IEnumerable<double> values)
    {
        var s = new SummaryStatistics(values);
        return new StatJson(s.Mean, s.StandardDeviation, s.Minimum, s.Maximum, s.Count);
    }
}
