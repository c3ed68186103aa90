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
    public static Command Create(CliConsole console) => Define(console, "train",
        "Train or fine-tune an ONNX model with the Engine (TorchSharp) and write the trained weights into the same graph (images, features, text classification, recommender ranking)",
        "The .onnx model to train", [], (parse, source, data, options, progress) =>
        {
            var result = ModelTrainer.Train(source, data, options, progress);
            return new TrainingOutcome(result, result, _ => { });
        });

    /// <summary>What a training verb's library call returned: the training run, the report to serialize, and extra lines to print.</summary>
    internal sealed record TrainingOutcome(ModelTrainingResult Training, object Report, Action<IAnsiConsole> PrintExtra);

    /// <summary>
    /// A verb with every option of <c>train</c> (and <paramref name="extra"/>): parses them into
    /// <see cref="ModelTrainingOptions"/>, binds the data, makes <paramref name="run"/>'s one library
    /// call, writes the result and prints it. <c>train</c> and <c>distill</c> are both this.
    /// </summary>
    internal static Command Define(CliConsole console, string name, string description, string modelDescription, IReadOnlyList<Option> extra,
        Func<ParseResult, OnnxModel, BoundData, ModelTrainingOptions, IProgress<JobProgress>?, TrainingOutcome> run)
    {
        var model = new Argument<FileInfo>("MODEL") { Description = modelDescription };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the trained model", Required = true };
        var dataArgs = new DataArguments("fashion-mnist");
        var epochs = new Option<int>("--epochs", "-e") { Description = "Epochs", DefaultValueFactory = _ => new TrainerOptions().Epochs };
        var batch = new Option<int>("--batch", "-b") { Description = "Batch size", DefaultValueFactory = _ => 64 };
        var optimizer = new Option<OptimizerKind>("--optimizer") { Description = "sgd, adam, adamw, rmsprop or adagrad", DefaultValueFactory = _ => OptimizerKind.AdamW };
        var lr = new Option<string?>("--lr") { Description = $"Learning rate, or 'auto' for a range test before training that picks it (default: the optimizer's usual one, sgd {ModelTrainingOptions.SgdLearningRate}; adam and adamw on text {ModelTrainingOptions.TextLearningRate})" };
        var weightDecay = new Option<double?>("--weight-decay") { Description = "Weight decay (L2 for sgd/adam/rmsprop/adagrad, decoupled for adamw)" };
        var momentum = new Option<double?>("--momentum") { Description = "Momentum (default: 0.9 for sgd, 0 for rmsprop)" };
        var nesterov = new Option<bool>("--nesterov") { Description = "Nesterov momentum (sgd)" };
        var schedule = new Option<ScheduleChoice>("--schedule") { Description = "constant, step, multistep, exponential, cosine, onecycle or plateau", DefaultValueFactory = _ => ScheduleChoice.Cosine };
        var stepSize = new Option<int>("--step-size") { Description = "Epochs between decays (step)", DefaultValueFactory = _ => 3 };
        var milestones = new Option<string>("--milestones") { Description = "Epochs at which to decay (multistep), e.g. 5,8", DefaultValueFactory = _ => "5,8" };
        var gamma = new Option<double>("--gamma") { Description = "Decay factor (step, multistep, exponential, plateau)", DefaultValueFactory = _ => 0.1 };
        var warmup = new Option<int>("--warmup") { Description = "Linear warm-up steps before the schedule (0 = none)", DefaultValueFactory = _ => 0 };
        var labelSmoothing = new Option<double>("--label-smoothing") { Description = "Cross-entropy label smoothing", DefaultValueFactory = _ => 0.0 };
        var balanced = new Option<bool?>("--balanced") { Description = "Classification: weight the cross-entropy per class by N / (classes x count) of the training part (sklearn's 'balanced'), for skewed classes and macro-F1 (default: on for text, off otherwise; --balanced false turns it off)" };
        var clip = new Option<double?>("--clip-norm") { Description = "Clip the gradient norm to this value" };
        var earlyStop = new Option<int?>("--early-stop") { Description = "Stop after N epochs without improvement of validation accuracy" };
        var validation = new Option<double>("--validation") { Description = "Fraction of the training data held out for validation (stratified)", DefaultValueFactory = _ => 0.1 };
        var limit = new Option<int?>("--limit") { Description = "Use only the first N training samples" };
        var seed = new Option<int>("--seed") { Description = "Seed of data order, dropout and the validation split", DefaultValueFactory = _ => 0 };
        var seeds = new Option<int>("--seeds") { Description = "Train N times (seeds seed..seed+N-1) and report mean ± std of every metric", DefaultValueFactory = _ => 1 };
        var resume = new Option<bool>("--resume") { Description = "Continue an interrupted run from the last checkpoint in --checkpoint-dir" };
        var checkpointDir = new Option<DirectoryInfo?>("--checkpoint-dir") { Description = "Checkpoints and history (default: OUTPUT.run/)" };
        var threads = new Option<int>("--threads", "-t") { Description = "libtorch threads (0 = libtorch's default)", DefaultValueFactory = _ => 0 };
        var allowDiverged = new Option<bool>("--allow-diverged") { Description = "Write the model even when training diverged (chance-level validation accuracy, or a loss that grew 100x and was kept)" };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var noReinsert = new Option<bool>("--no-reinsert-bn") { Description = "Train without re-inserting BatchNorm after the Conv/Gemm layers that have none (by default, as in PyTorch exports whose BatchNorms were folded, they are re-inserted for training and folded back)" };
        var cmd = new Command(name, description)
        {
            model, output, epochs, batch, optimizer, lr, weightDecay, momentum, nesterov, schedule, stepSize, milestones, gamma, warmup,
            labelSmoothing, balanced, clip, earlyStop, validation, limit, seed, seeds, resume, checkpointDir, threads, allowDiverged, json, noReinsert,
        };
        foreach (var option in extra) cmd.Add(option);
        dataArgs.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var (autoLr, lrValue) = LearningRate(parse.GetValue(lr));
            // The defaults that depend on the data (text: a higher learning rate, balanced classes) are the library's.
            var family = dataArgs.FamilyFrom(parse);
            var request = new TrainRequest(parse.GetRequiredValue(model), parse.GetRequiredValue(output), parse.GetValue(epochs), parse.GetValue(batch),
                parse.GetValue(optimizer), lrValue, parse.GetValue(weightDecay), parse.GetValue(momentum), parse.GetValue(nesterov),
                parse.GetValue(schedule), parse.GetValue(stepSize), parse.GetValue(milestones)!, parse.GetValue(gamma), parse.GetValue(warmup),
                parse.GetValue(labelSmoothing), parse.GetValue(clip), parse.GetValue(earlyStop), parse.GetValue(validation), parse.GetValue(limit),
                parse.GetValue(seed), parse.GetValue(seeds), parse.GetValue(resume), parse.GetValue(checkpointDir), parse.GetValue(threads),
                parse.GetValue(balanced) ?? ModelTrainingOptions.DefaultBalanced(family), autoLr, family);
            Validate(request);
            var runRoot = request.CheckpointDir?.FullName ?? Path.ChangeExtension(request.Output.FullName, null) + ".run";
            var options = CliParsing.Library(() => new ModelTrainingOptions(Trainer(request, runRoot), seeds: request.Seeds, validationFraction: request.Validation,
                limit: request.Limit, resume: request.Resume, labelSmoothing: request.LabelSmoothing, balanced: request.Balanced, threads: request.Threads,
                allowDiverged: parse.GetValue(allowDiverged), reinsertBatchNorm: !parse.GetValue(noReinsert),
                learningRateFinder: request.AutoLearningRate ? LearningRateFinderOptions.Default : null),
                ("Seeds", "--seeds"), ("Resume", "--resume"), ("ValidationFraction", "--validation"), ("Limit", "--limit"), ("LabelSmoothing", "--label-smoothing"),
                ("Threads", "--threads"), ("Balanced", "--balanced"), ("LearningRate", "--lr"), ("Epochs", "--epochs"), ("BatchSize", "--batch"),
                ("WeightDecay", "--weight-decay"), ("Momentum", "--momentum"), ("Gamma", "--gamma"), ("StepSize", "--step-size"), ("Milestones", "--milestones"),
                ("Patience", "--early-stop"), ("Warmup", "--warmup"), ("WarmupSteps", "--warmup"), ("MaxNorm", "--clip-norm"), ("Factor", "--gamma"));
            var source = OnnxModel.Load(request.Model.FullName);
            var data = dataArgs.Bind(parse, source, buildVocabulary: true);
            bool asJson = parse.GetValue(json);
            if (!asJson)
                console.Out.MarkupLine($"[bold]Training[/] {Markup.Escape(request.Model.Name)} on {Markup.Escape(data.Description)}: seeds {request.Seed}..{request.Seed + request.Seeds - 1}, {Markup.Escape(options.AutoLearningRate ? $"{options.Trainer.Optimizer.Kind}, learning rate from a range test" : options.Trainer.Optimizer.ToString())}");
            bool created = !Directory.Exists(runRoot);
            Directory.CreateDirectory(runRoot);
            TrainingOutcome outcome;
            try
            {
                outcome = console.RunJob(p => run(parse, source, data, options, p), quiet: asJson);
            }
            catch when (created && !Directory.EnumerateFileSystemEntries(runRoot).Any())
            {
                // A run that failed before its first checkpoint leaves nothing behind.
                Directory.Delete(runRoot);
                throw;
            }
            var result = outcome.Training;
            result.Save(request.Output.FullName);
            AtomicFile.WriteAllText(Path.Combine(runRoot, $"{name}-report.json"), JsonOutput.Serialize(outcome.Report, ("model", request.Model.FullName), ("output", request.Output.FullName)));
            if (asJson)
            {
                JsonOutput.Write(console, outcome.Report, ("model", request.Model.FullName), ("output", request.Output.FullName));
                return WhittleCli.Ok;
            }
            Print(console.Out, result, data.Task, request.Output.FullName, outcome.PrintExtra);
            return WhittleCli.Ok;
        });
        return cmd;
    }

    internal sealed record TrainRequest(FileInfo Model, FileInfo Output, int Epochs, int Batch,
        OptimizerKind Optimizer, double? Lr, double? WeightDecay, double? Momentum, bool Nesterov, ScheduleChoice Schedule, int StepSize,
        string Milestones, double Gamma, int Warmup, double LabelSmoothing, double? ClipNorm, int? EarlyStop, double Validation, int? Limit,
        int Seed, int Seeds, bool Resume, DirectoryInfo? CheckpointDir, int Threads, bool Balanced = false, bool AutoLearningRate = false,
        DatasetFamily Family = DatasetFamily.Tensors);

    /// <summary><c>--lr</c>: absent (null: the default for the optimizer and data), <c>auto</c> (a range test) or a number.</summary>
    internal static (bool Auto, double? Value) LearningRate(string? text)
    {
        if (text is null) return (false, null);
        if (string.Equals(text.Trim(), "auto", StringComparison.OrdinalIgnoreCase)) return (true, null);
        if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)) return (false, value);
        throw new UsageException($"--lr: expected a learning rate such as 0.01, or 'auto', got '{text}'");
    }

    private static void Print(IAnsiConsole o, ModelTrainingResult result, ModelTask task, string output, Action<IAnsiConsole> printExtra)
    {
        o.MarkupLine($"{Format.Count(result.TrainSamples)} train / {Format.Count(result.ValidationSamples)} validation samples");
        if (result.LearningRateFinder is { } found)
            o.MarkupLine($"learning rate [bold]{found.SuggestedLearningRate:G3}[/] from a range test of {found.Points.Count} steps ({Markup.Escape(found.Reason)}; {found.Seconds:0.0} s)");
        foreach (var run in result.Runs)
        {
            string testText = run switch
            {
                { TestHitRate: { } hr } => $", test (ONNX Runtime) HR [bold]{Format.Number(hr)}[/], NDCG {Format.Number(run.TestNdcg ?? double.NaN)}, MRR {Format.Number(run.TestMrr ?? double.NaN)}",
                { TestAccuracy: { } accuracy } => $", test accuracy (ONNX Runtime) [bold]{Format.Percent(accuracy)}[/], macro-F1 {Format.Number(run.TestMacroF1 ?? double.NaN)}",
                _ => "",
            };
            var best = run.History[run.BestEpoch - 1];
            string validationText = task == ModelTask.Ranking
                ? $"validation loss {Format.Number(best.ValidationLoss ?? double.NaN)}"
                : $"validation accuracy {Format.Percent(run.ValidationAccuracy)}, macro-F1 {Format.Number(run.ValidationMacroF1)}";
            o.MarkupLine($"  seed {run.Seed}: {run.Epochs} epochs ({run.StopReason}), best epoch {run.BestEpoch}: {validationText}{testText}, {run.Seconds:0.0} s");
        }
        if (result.Stability is { } stability)
        {
            var table = new Table().Title($"Stability over {result.Runs.Count} seeds (sample std)").AddColumns("Metric", "mean ± std", "min", "max");
            foreach (var (name, s) in stability)
                table.AddRow(name, $"{s.Mean:0.0000} ± {s.Std:0.0000}", $"{s.Min:0.0000}", $"{s.Max:0.0000}");
            o.Write(table);
        }
        printExtra(o);
        if (result.ReinsertedBatchNorms > 0) o.MarkupLine($"[grey]trained with {result.ReinsertedBatchNorms} BatchNorm(s) re-inserted after layers that had none ({result.BatchNormInit} start), folded back into the written model (--no-reinsert-bn to train without)[/]");
        foreach (var w in result.Warnings) o.MarkupLine($"[yellow]warning:[/] {Markup.Escape(w)}");
        o.MarkupLine($"Wrote {Markup.Escape(output)} (verified in ONNX Runtime: max |Δ| vs the Engine {result.VerificationMaxAbsDifference:G3}); history and checkpoints in {Markup.Escape(result.RunDirectory ?? "")}");
    }

    private static void Validate(TrainRequest r)
    {
        VerifiedModelWriter.EnsureNotAnInput(r.Output.FullName, [r.Model.FullName]);
        if (r.Epochs < 1) throw new UsageException("--epochs must be at least 1");
        if (r.Batch < 1) throw new UsageException("--batch must be at least 1");
        if (r.Seeds > 1 && r.Resume) throw new UsageException("--resume continues one run; it cannot be combined with --seeds");
    }

    /// <summary>The trainer options the flags describe (the task's loss is the library's choice).</summary>
    internal static TrainerOptions Trainer(TrainRequest r, string runDirectory)
    {
        // With --lr auto this is only the range test's optimizer; its rate is replaced.
        double lr = r.Lr ?? ModelTrainingOptions.DefaultLearningRate(r.Optimizer, r.Family);
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
            gradientClipping: r.ClipNorm is { } c ? GradientClipping.ByNorm(c) : null,
            seed: r.Seed,
            earlyStopping: r.EarlyStop is { } patience ? new EarlyStopping(patience) : null,
            reduceOnPlateau: r.Schedule == ScheduleChoice.Plateau ? new ReduceOnPlateau(factor: r.Gamma, patience: 2) : null,
            restoreBestWeights: true,
            runDirectory: runDirectory);
    }
}
