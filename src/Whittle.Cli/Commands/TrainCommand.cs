using System.CommandLine;
using Spectre.Console;
using Whittle.Data;
using Whittle.Engine;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Training;
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
        var cmd = new Command("train", "Train or fine-tune an ONNX model with the Engine (TorchSharp) and write the trained weights into the same graph")
        {
            model, output, epochs, batch, optimizer, lr, weightDecay, momentum, nesterov, schedule, stepSize, milestones, gamma, warmup,
            labelSmoothing, clip, earlyStop, validation, limit, seed, seeds, resume, checkpointDir, threads, json,
        };
        dataArgs.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var request = new TrainRequest(parse.GetRequiredValue(model), parse.GetRequiredValue(output), parse.GetValue(dataArgs.Data)!,
                parse.GetValue(dataArgs.Normalize), parse.GetValue(dataArgs.Scale), parse.GetValue(epochs), parse.GetValue(batch),
                parse.GetValue(optimizer), parse.GetValue(lr), parse.GetValue(weightDecay), parse.GetValue(momentum), parse.GetValue(nesterov),
                parse.GetValue(schedule), parse.GetValue(stepSize), parse.GetValue(milestones)!, parse.GetValue(gamma), parse.GetValue(warmup),
                parse.GetValue(labelSmoothing), parse.GetValue(clip), parse.GetValue(earlyStop), parse.GetValue(validation), parse.GetValue(limit),
                parse.GetValue(seed), parse.GetValue(seeds), parse.GetValue(resume), parse.GetValue(checkpointDir), parse.GetValue(threads));
            return Execute(console, request, parse.GetValue(json));
        });
        return cmd;
    }

    internal sealed record TrainRequest(FileInfo Model, FileInfo Output, string Data, string? Normalize, float? Scale, int Epochs, int Batch,
        OptimizerKind Optimizer, double? Lr, double? WeightDecay, double? Momentum, bool Nesterov, ScheduleChoice Schedule, int StepSize,
        string Milestones, double Gamma, int Warmup, double LabelSmoothing, double? ClipNorm, int? EarlyStop, double Validation, int? Limit,
        int Seed, int Seeds, bool Resume, DirectoryInfo? CheckpointDir, int Threads);

    public sealed record SeedJson(int Seed, int Epochs, string StopReason, int BestEpoch, double ValidationAccuracy, double ValidationMacroF1,
        double? TestAccuracy, double? TestMacroF1, double Seconds, IReadOnlyList<EpochRecord> History);

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

        // Data: training split minus a stratified validation part; the test split, when the data has one, is judged in ONNX Runtime.
        var spec = DatasetSpec.Parse(r.Data);
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

        var runRoot = r.CheckpointDir?.FullName ?? Path.ChangeExtension(r.Output.FullName, null) + ".run";
        Directory.CreateDirectory(runRoot);
        var runs = new List<SeedJson>();
        OnnxModel? firstTrained = null;
        double verification = 0;
        for (int k = 0; k < r.Seeds; k++)
        {
            int seed = r.Seed + k;
            var runDir = r.Seeds == 1 ? runRoot : Path.Combine(runRoot, $"seed-{seed}");
            var options = Options(r, seed, runDir);
            if (!json) console.Out.MarkupLine($"[bold]Training[/] {Markup.Escape(r.Model.Name)} on {Markup.Escape(trainLoaded.Description)}: {Format.Count(train.Count)} train / {Format.Count(validation.Count)} validation samples, seed {seed}, {Markup.Escape(options.Optimizer.ToString())}");
            using var scope = NewDisposeScope();
            using var module = new OnnxModule(source);
            var trainer = new Trainer(module, options);
            var watch = System.Diagnostics.Stopwatch.StartNew();
            TrainingResult result = Fit(console, trainer, train, validation, r.Resume, json, options.Epochs);
            var seconds = watch.Elapsed.TotalSeconds;
            module.eval();
            var trained = module.ToOnnx();
            trained.SetMetadata("whittle.trained", $"epochs={result.History.Count}; optimizer={options.Optimizer}; seed={seed}");
            var diff = Verify(module, trained, validation, r.Output.FullName);
            verification = Math.Max(verification, diff);
            ClassificationReport? testReport = test is null ? null : EvaluateInOrt(trained, test);
            var best = result.BestEpochRecord;
            runs.Add(new SeedJson(seed, result.History.Count, result.StopReason.ToString(), result.BestEpoch, best.ValidationAccuracy ?? double.NaN,
                best.ValidationMacroF1 ?? double.NaN, testReport?.Accuracy, testReport?.Macro.F1, seconds, result.History));
            firstTrained ??= trained;
            if (!json)
                console.Out.MarkupLine($"  seed {seed}: {result.History.Count} epochs ({result.StopReason}), best epoch {result.BestEpoch}: validation accuracy {Format.Percent(best.ValidationAccuracy ?? double.NaN)}" +
                    (testReport is null ? "" : $", test accuracy (ONNX Runtime) [bold]{Format.Percent(testReport.Accuracy)}[/], macro-F1 {Format.Number(testReport.Macro.F1)}") + $", {seconds:0.0} s");
        }

        firstTrained!.Save(r.Output.FullName);
        IReadOnlyDictionary<string, StatJson>? stability = null;
        if (r.Seeds > 1)
        {
            var stats = new Dictionary<string, StatJson>
            {
                ["validationAccuracy"] = Stat(runs.Select(x => x.ValidationAccuracy)),
                ["validationMacroF1"] = Stat(runs.Select(x => x.ValidationMacroF1)),
            };
            if (test is not null)
            {
                stats["testAccuracy"] = Stat(runs.Select(x => x.TestAccuracy!.Value));
                stats["testMacroF1"] = Stat(runs.Select(x => x.TestMacroF1!.Value));
            }
            stats["epochs"] = Stat(runs.Select(x => (double)x.Epochs));
            stats["seconds"] = Stat(runs.Select(x => x.Seconds));
            stability = stats;
        }
        var report = new TrainJson(r.Model.FullName, r.Output.FullName, trainLoaded.Description, train.Count, validation.Count, test?.Count,
            Options(r, r.Seed, runRoot).Optimizer.ToString()!, r.Schedule.ToString(), runs, stability, verification, runRoot);
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

    internal static TrainerOptions Options(TrainRequest r, int seed, string runDirectory)
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
            loss: new CrossEntropy(r.LabelSmoothing),
            gradientClipping: r.ClipNorm is { } c ? GradientClipping.ByNorm(c) : null,
            seed: seed,
            monitor: TrainingMetric.ValidationAccuracy,
            earlyStopping: r.EarlyStop is { } patience ? new EarlyStopping(patience) : null,
            reduceOnPlateau: r.Schedule == ScheduleChoice.Plateau ? new ReduceOnPlateau(factor: r.Gamma, patience: 2) : null,
            restoreBestWeights: true,
            runDirectory: runDirectory);
    }

    private static TrainingResult Fit(CliConsole console, Trainer trainer, TensorDataset train, TensorDataset validation, bool resume, bool json, int epochs)
    {
        TrainingResult Run(IProgress<TrainingProgress> progress) =>
            resume ? trainer.Resume(train, validation, progress) : trainer.Fit(train, validation, progress);

        if (!console.Interactive || json)
        {
            return Run(new SyncProgress<TrainingProgress>(p =>
            {
                if (p.Kind == TrainingProgressKind.EpochEnd && !json)
                    console.Out.MarkupLine($"  epoch {p.Epoch}/{p.TotalEpochs}: loss {p.Loss:0.0000}, validation accuracy {Format.Percent(p.ValidationAccuracy ?? double.NaN)}, lr {p.LearningRate:G3}, {p.SamplesPerSecond:0} samples/s");
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
    private static double Verify(OnnxModule module, OnnxModel trained, TensorDataset sample, string label)
    {
        var batch = sample.Take(Math.Min(16, sample.Count));
        var shape = new long[] { batch.Count }.Concat(batch.SampleShape.Select(d => (long)d)).ToArray();
        var features = batch.Features.ToArray();
        using var session = new OnnxRuntimeSession(trained);
        var ort = session.Run(RuntimeTensor.FromFloats(features, shape)).AsFloats();
        float[] engine;
        using (no_grad()) engine = TorchTensors.ToFloats(module.forward(tensor(features, shape)));
        double max = ort.Zip(engine).Max(p => (double)Math.Abs(p.First - p.Second));
        if (!(max <= 1e-3))
            throw new EngineException($"{label}: the trained model does not agree with the Engine in ONNX Runtime (max |Δ| {max:G3}); not written");
        return max;
    }

    private static ClassificationReport EvaluateInOrt(OnnxModel model, TensorDataset test)
    {
        using var session = new OnnxRuntimeSession(model);
        var scores = session.RunBatches(test.Features, test.SampleShape.ToArray(), 256);
        int classes = (int)scores.Shape[1];
        return ClassificationReport.FromPredictions(test.Labels.Span, ClassScores.Argmax(scores.AsFloats(), classes), classes);
    }

    private static StatJson Stat(IEnumerable<double> values)
    {
        var s = new SummaryStatistics(values);
        return new StatJson(s.Mean, s.StandardDeviation, s.Minimum, s.Maximum, s.Count);
    }
}
