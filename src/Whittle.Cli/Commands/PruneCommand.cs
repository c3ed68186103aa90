using System.CommandLine;
using Spectre.Console;
using Whittle.Data;
using Whittle.Engine;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Pruning;
using Whittle.Runtime;
using Whittle.Training;
using static TorchSharp.torch;

namespace Whittle.Cli.Commands;

/// <summary>Which pruning <c>--method</c> names.</summary>
public enum PruneMethod { Magnitude, Nm, Channel }

/// <summary>Which channel importance <c>--importance</c> names.</summary>
public enum ImportanceChoice { L1, L2, Bn, Taylor }

/// <summary>
/// <c>whittle prune MODEL --method magnitude|nm|channel ... -o OUT</c>: unstructured, N:M or
/// structured channel pruning with optional fine-tuning; the output is verified in ONNX Runtime
/// before it is written atomically.
/// </summary>
internal static class PruneCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<FileInfo>("MODEL") { Description = "The .onnx model to prune" };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Where to write the pruned model (required unless --plan-only)" };
        var method = new Option<PruneMethod>("--method", "-m") { Description = "magnitude (unstructured), nm (N:M) or channel (structured, physically smaller)", DefaultValueFactory = _ => PruneMethod.Magnitude };
        var sparsity = new Option<double?>("--sparsity", "-s") { Description = "magnitude: fraction of weights to zero, in [0,1)" };
        var ratio = new Option<double?>("--ratio", "-r") { Description = "channel: fraction of channels to remove, in [0,1)" };
        var nm = new Option<string>("--nm") { Description = "nm: the N:M pattern", DefaultValueFactory = _ => "2:4" };
        var importance = new Option<ImportanceChoice>("--importance") { Description = "channel: l1, l2, bn (BatchNorm |gamma|) or taylor (needs --data)", DefaultValueFactory = _ => ImportanceChoice.L1 };
        var global = new Option<bool>("--global") { Description = "Rank all layers together instead of one ratio per layer" };
        var schedule = new Option<PruningSchedule>("--schedule") { Description = "oneshot, iterative or agp (agp: magnitude only; iterative/agp need --finetune-epochs)", DefaultValueFactory = _ => PruningSchedule.OneShot };
        var finetune = new Option<int>("--finetune-epochs") { Description = "Epochs of fine-tuning with the Engine (needs --data)", DefaultValueFactory = _ => 0 };
        var dataArgs = new DataArguments(null);
        var exclude = new Option<string[]>("--exclude") { Description = "Node names to leave unpruned, exact or glob (* and ?), e.g. \"features.*.conv.2\" (repeatable)", AllowMultipleArgumentsPerToken = true };
        var excludeOp = new Option<string[]>("--exclude-op") { Description = "Operator types to leave unpruned (Conv, Gemm, MatMul, ...)", AllowMultipleArgumentsPerToken = true };
        var excludeFirst = new Option<bool>("--exclude-first") { Description = "Leave the first prunable layer unpruned" };
        var excludeLast = new Option<bool>("--exclude-last") { Description = "Leave the last prunable layer unpruned" };
        var roundTo = new Option<int>("--round-to") { Description = "channel: kept channels per group are a multiple of this", DefaultValueFactory = _ => 1 };
        var planOnly = new Option<bool>("--plan-only") { Description = "Print the plan (groups, kept/removed channels, params, MACs, unpruned layers) and write nothing" };
        var batch = new Option<int>("--batch", "-b") { Description = "Fine-tuning batch size", DefaultValueFactory = _ => 128 };
        var lr = new Option<double>("--lr") { Description = "Fine-tuning learning rate (AdamW, cosine)", DefaultValueFactory = _ => 1e-3 };
        var clip = new Option<double?>("--clip-norm") { Description = "Fine-tuning: clip the gradient norm to this value (a model whose BatchNorms were folded away can diverge without it)" };
        var limit = new Option<int?>("--limit") { Description = "Use only the first N training samples" };
        var threads = new Option<int>("--threads", "-t") { Description = "libtorch threads (0 = libtorch's default)", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var cmd = new Command("prune", "Prune a model: unstructured magnitude, N:M, or structured channel removal that makes the ONNX graph smaller and faster")
        {
            model, output, method, sparsity, ratio, nm, importance, global, schedule, finetune, exclude, excludeOp, excludeFirst, excludeLast,
            roundTo, planOnly, batch, lr, clip, limit, threads, json,
        };
        dataArgs.AddTo(cmd);
        cmd.SetAction(parse => Execute(console, new PruneRequest(parse.GetRequiredValue(model), parse.GetValue(output), parse.GetValue(method),
            parse.GetValue(sparsity), parse.GetValue(ratio), parse.GetValue(nm)!, parse.GetValue(importance), parse.GetValue(global),
            parse.GetValue(schedule), parse.GetValue(finetune), parse.GetValue(dataArgs.Data), parse.GetValue(dataArgs.Normalize), parse.GetValue(dataArgs.Scale),
            parse.GetValue(exclude) ?? [], parse.GetValue(excludeOp) ?? [], parse.GetValue(excludeFirst), parse.GetValue(excludeLast),
            parse.GetValue(roundTo), parse.GetValue(planOnly), parse.GetValue(batch), parse.GetValue(lr), parse.GetValue(limit), parse.GetValue(threads), parse.GetValue(clip)),
            parse.GetValue(json)));
        return cmd;
    }

    internal sealed record PruneRequest(FileInfo Model, FileInfo? Output, PruneMethod Method, double? Sparsity, double? Ratio, string Nm,
        ImportanceChoice Importance, bool Global, PruningSchedule Schedule, int FinetuneEpochs, string? Data, string? Normalize, float? Scale,
        string[] Exclude, string[] ExcludeOp, bool ExcludeFirst, bool ExcludeLast, int RoundTo, bool PlanOnly, int Batch, double Lr, int? Limit, int Threads,
        double? ClipNorm = null);

    public sealed record LayerJson(string Layer, long Weights, long Zeros, double Sparsity, string? SkipReason);

    public sealed record GroupJson(int Id, IReadOnlyList<string> Members, int Channels, int Kept, IReadOnlyList<int> Removed);

    public sealed record PruneJson(string Model, string? Output, string Method, bool PlanOnly, long ParametersBefore, long ParametersAfter,
        long NonZeroBefore, long? NonZeroAfter, long? MacsBefore, long? MacsAfter, long BytesBefore, long BytesAfter, long GzipBefore, long GzipAfter,
        long BrotliBefore, long BrotliAfter, double? AccuracyBefore, double? AccuracyAfter, IReadOnlyList<LayerJson>? Layers,
        IReadOnlyList<GroupJson>? Groups, IReadOnlyList<UnprunedLayer>? LeftUnpruned, IReadOnlyList<string>? Edits, string? Plan,
        IReadOnlyList<EpochRecord>? FineTuning, string? RuntimeNote);

    private static int Execute(CliConsole console, PruneRequest r, bool json)
    {
        Validate(r);
        if (r.Threads > 0 && r.Threads != get_num_threads()) set_num_threads(r.Threads);
        var source = OnnxModel.Load(r.Model.FullName);
        var exclusions = new PruningExclusions(r.ExcludeFirst, r.ExcludeLast, r.Exclude, r.ExcludeOp);

        // Data: training split (minus 10 % validation) for fine-tuning and Taylor; test split to report accuracy.
        TensorDataset? train = null, validation = null, test = null;
        if (r.Data is not null)
        {
            var spec = DatasetSpec.Parse(r.Data);
            var dataSource = spec.Open();
            var preprocessing = DataArguments.Preprocessing(spec, r.Normalize, r.Scale);
            var full = dataSource.Load(DatasetSplit.Train, preprocessing).Dataset;
            if (!full.HasLabels) throw new DataFormatException($"{r.Data}: pruning with data needs labels");
            if (r.Limit is { } n) full = full.Take(n);
            using var probe = new OnnxRuntimeSession(source);
            if (probe.Inputs.Count != 1) throw new UsageException($"--data feeds one input; {r.Model.Name} takes {probe.Inputs.Count}");
            var shape = EvalCommand.MatchSampleShape(probe.Inputs[0], full, r.Model.FullName);
            (train, validation) = full.WithSampleShape(shape).Split(0.1, 0, stratified: true);
            test = dataSource.HasTestSplit ? dataSource.Load(DatasetSplit.Test, preprocessing).Dataset.WithSampleShape(shape) : validation;
        }
        TrainerOptions? trainer = r.FinetuneEpochs > 0
            ? new TrainerOptions(r.FinetuneEpochs, r.Batch, new AdamWOptions(r.Lr), new CosineAnnealingSchedule(unit: ScheduleUnit.Step),
                gradientClipping: r.ClipNorm is { } c ? GradientClipping.ByNorm(c) : null, restoreBestWeights: false)
            : null;
        var progress = new SyncProgress<TrainingProgress>(p =>
        {
            if (p.Kind == TrainingProgressKind.EpochEnd && !json)
                console.Out.MarkupLine($"  fine-tune epoch {p.Epoch}/{p.TotalEpochs}: loss {p.Loss:0.0000}, validation accuracy {Format.Percent(p.ValidationAccuracy ?? double.NaN)}");
        });

        OnnxModel pruned;
        IReadOnlyList<LayerJson>? layers = null;
        IReadOnlyList<GroupJson>? groups = null;
        ChannelPruningPlan? firstPlan = null;
        IReadOnlyList<EpochRecord>? history = null;
        long? macsAfter = null;
        switch (r.Method)
        {
            case PruneMethod.Channel:
            {
                var options = new ChannelPruningOptions(r.Ratio!.Value, Criterion(r.Importance), r.Global ? MagnitudeScope.Global : MagnitudeScope.LayerWise, r.RoundTo, exclusions);
                if (r.PlanOnly)
                {
                    var gradients = options.Importance == ImportanceCriterion.Taylor ? TaylorGradients.Accumulate(source, train!) : null;
                    firstPlan = ChannelPruner.Plan(source, options, gradients);
                    return Report(console, r, json, source, null, firstPlan, null, null, null, null);
                }
                var result = StructuredFineTuning.Run(source, options, new PruningScheduleOptions(r.Schedule), trainer, train, validation, progress);
                pruned = result.Model;
                firstPlan = result.Plans[0];
                macsAfter = ChannelPruner.Plan(pruned, new ChannelPruningOptions(0)).MacsBefore;
                groups = result.Plans[^1].Groups.Where(g => g.Prunable).Select(g => new GroupJson(g.Id, g.Members, g.Channels, g.Kept.Count, g.Removed)).ToList();
                history = result.Training.SelectMany(t => t.History).ToList();
                break;
            }
            case PruneMethod.Nm:
            {
                var (n, m) = ParseNm(r.Nm);
                var options = new NmSparsityOptions(n, m, exclusions);
                if (r.PlanOnly) return Report(console, r, json, source, null, null, Layers(UnstructuredPruner.NmMasks(source, options)), null, null, null);
                var result = UnstructuredFineTuning.NM(source, options, trainer, train, validation, progress);
                pruned = result.Model;
                layers = Layers(result.Masks);
                history = result.Training?.History;
                break;
            }
            default:
            {
                var options = new UnstructuredPruningOptions(r.Sparsity!.Value, r.Global ? MagnitudeScope.Global : MagnitudeScope.LayerWise, exclusions);
                if (r.PlanOnly) return Report(console, r, json, source, null, null, Layers(UnstructuredPruner.MagnitudeMasks(source, options)), null, null, null);
                var result = UnstructuredFineTuning.Magnitude(source, options, new PruningScheduleOptions(r.Schedule), trainer, train, validation, progress);
                pruned = result.Model;
                layers = Layers(result.Masks);
                history = result.Training?.History;
                break;
            }
        }

        // Verified in ONNX Runtime (loads, runs, same output shapes) before anything is written.
        pruned.SetMetadata("whittle.pruned.method", r.Method.ToString().ToLowerInvariant());
        pruned.Validate().ThrowIfInvalid(r.Output!.FullName);
        ChannelRemoval.Verify(source, pruned);
        pruned.Save(r.Output.FullName);
        double? before = test is null ? null : SensitivityAnalysis.Evaluate(source, test).Accuracy;
        double? after = test is null ? null : SensitivityAnalysis.Evaluate(pruned, test).Accuracy;
        return Report(console, r, json, source, pruned, firstPlan, layers, (before, after), macsAfter, history, groups);
    }

    private static int Report(CliConsole console, PruneRequest r, bool json, OnnxModel source, OnnxModel? pruned, ChannelPruningPlan? plan,
        IReadOnlyList<LayerJson>? layers, (double? Before, double? After)? accuracy, long? macsAfter, IReadOnlyList<EpochRecord>? history,
        IReadOnlyList<GroupJson>? groups = null)
    {
        var sizeBefore = ModelSizeReport.Measure(source);
        var fileBefore = ModelFileSize.Measure(source);
        var sizeAfter = pruned is null ? null : ModelSizeReport.Measure(pruned);
        var fileAfter = pruned is null ? null : ModelFileSize.Measure(pruned);
        groups ??= plan?.Groups.Where(g => g.Prunable).Select(g => new GroupJson(g.Id, g.Members, g.Channels, g.Kept.Count, g.Removed)).ToList();
        var report = new PruneJson(r.Model.FullName, pruned is null ? null : r.Output?.FullName, r.Method.ToString().ToLowerInvariant(), pruned is null,
            sizeBefore.Parameters, sizeAfter?.Parameters ?? plan?.ParametersAfter ?? sizeBefore.Parameters,
            sizeBefore.NonZeroParameters, sizeAfter?.NonZeroParameters ?? (layers is null ? null : sizeBefore.NonZeroParameters - layers.Sum(l => l.Zeros)),
            plan?.MacsBefore, macsAfter ?? plan?.MacsAfter, fileBefore.Bytes, fileAfter?.Bytes ?? fileBefore.Bytes, fileBefore.GzipBytes,
            fileAfter?.GzipBytes ?? fileBefore.GzipBytes, fileBefore.BrotliBytes, fileAfter?.BrotliBytes ?? fileBefore.BrotliBytes,
            accuracy?.Before, accuracy?.After, layers, groups, plan?.LeftUnpruned, plan?.Edits, plan?.ToText(), history,
            plan is null ? null : RuntimeNote(plan));
        if (json)
        {
            JsonOutput.Write(console, report);
            return WhittleCli.Ok;
        }
        var o = console.Out;
        if (plan is not null) o.Write(new Text(plan.ToText()));
        if (report.RuntimeNote is { } note) o.MarkupLine($"[yellow]{Markup.Escape(note)}[/]");
        if (layers is not null)
        {
            var table = new Table().AddColumns("layer", "weights", "zeros", "sparsity", "note");
            foreach (var l in layers) table.AddRow(Markup.Escape(l.Layer), Format.Count(l.Weights), Format.Count(l.Zeros), Format.Percent(l.Sparsity), Markup.Escape(l.SkipReason ?? ""));
            o.Write(table);
        }
        var summary = new Table().AddColumns("", "before", "after");
        summary.AddRow("parameters", Format.Count(report.ParametersBefore), Format.Count(report.ParametersAfter));
        summary.AddRow("non-zero parameters", Format.Count(report.NonZeroBefore), report.NonZeroAfter is { } nz ? Format.Count(nz) : "n/a");
        if (report.MacsBefore is { } mb) summary.AddRow("MACs / sample", Format.Count(mb), Format.Count(report.MacsAfter ?? mb));
        if (pruned is not null)
        {
            summary.AddRow("file bytes", Format.Count(report.BytesBefore), Format.Count(report.BytesAfter));
            summary.AddRow("gzip bytes", Format.Count(report.GzipBefore), Format.Count(report.GzipAfter));
            summary.AddRow("brotli bytes", Format.Count(report.BrotliBefore), Format.Count(report.BrotliAfter));
        }
        if (report.AccuracyBefore is { } ab) summary.AddRow("test accuracy (ONNX Runtime)", Format.Percent(ab), Format.Percent(report.AccuracyAfter ?? double.NaN));
        o.Write(summary);
        o.MarkupLine(pruned is null ? "[grey]plan only: nothing written[/]" : $"Wrote {Markup.Escape(r.Output!.FullName)} (verified in ONNX Runtime)");
        return WhittleCli.Ok;
    }

    /// <summary>Says which kept widths ONNX Runtime on this CPU will pad back up to its channel block, if any.</summary>
    private static string? RuntimeNote(ChannelPruningPlan plan)
    {
        if (OnnxRuntimeCpu.NchwcBlockSize is not { } block) return null;
        var misfits = plan.GroupsNotMultipleOf(block);
        if (misfits.Count == 0) return null;
        var list = string.Join(", ", misfits.Select(g => g.WidthChange));
        return $"ONNX Runtime on this CPU computes convolutions in blocks of {block} channels (NCHWc): {misfits.Count} group(s) keep a width that is not a multiple of {block} ({list}) "
            + $"and will run as if padded up to it, so they save parameters but less time. --round-to {block} keeps whole blocks.";
    }

    private static void Validate(PruneRequest r)
    {
        if (!r.PlanOnly && r.Output is null) throw new UsageException("--output is required (or use --plan-only)");
        if (r.Output is not null && Path.GetFullPath(r.Output.FullName) == Path.GetFullPath(r.Model.FullName))
            throw new UsageException("--output must differ from the input model (Whittle never modifies an input file)");
        switch (r.Method)
        {
            case PruneMethod.Magnitude:
                if (r.Sparsity is null) throw new UsageException("--method magnitude needs --sparsity (e.g. 0.9)");
                if (r.Ratio is not null) throw new UsageException("--ratio is for --method channel; magnitude takes --sparsity");
                if (!(r.Sparsity >= 0 && r.Sparsity < 1)) throw new UsageException($"--sparsity must be in [0, 1); got {r.Sparsity}");
                break;
            case PruneMethod.Nm:
                if (r.Sparsity is not null || r.Ratio is not null) throw new UsageException("--method nm takes --nm N:M, not --sparsity or --ratio");
                if (r.Schedule != PruningSchedule.OneShot) throw new UsageException("--method nm is one-shot (masks fixed while fine-tuning); drop --schedule");
                ParseNm(r.Nm);
                break;
            case PruneMethod.Channel:
                if (r.Ratio is null) throw new UsageException("--method channel needs --ratio (e.g. 0.5)");
                if (r.Sparsity is not null) throw new UsageException("--sparsity is for --method magnitude; channel takes --ratio");
                if (!(r.Ratio >= 0 && r.Ratio < 1)) throw new UsageException($"--ratio must be in [0, 1); got {r.Ratio}");
                if (r.Schedule == PruningSchedule.Agp) throw new UsageException("--schedule agp is for --method magnitude; channel pruning is oneshot or iterative");
                if (r.Importance == ImportanceChoice.Taylor && r.Data is null) throw new UsageException("--importance taylor needs --data (gradients from a few batches)");
                break;
        }
        if (r.Method != PruneMethod.Channel && (r.Importance != ImportanceChoice.L1 || r.RoundTo != 1))
            throw new UsageException("--importance and --round-to apply to --method channel");
        if (r.RoundTo < 1) throw new UsageException("--round-to must be at least 1");
        if (r.FinetuneEpochs < 0) throw new UsageException("--finetune-epochs must be 0 or positive");
        if (r.FinetuneEpochs > 0 && r.Data is null) throw new UsageException("--finetune-epochs needs --data");
        if (r.Schedule != PruningSchedule.OneShot && r.FinetuneEpochs == 0) throw new UsageException($"--schedule {r.Schedule.ToString().ToLowerInvariant()} prunes during fine-tuning; give --finetune-epochs and --data");
        if (r.PlanOnly && r.FinetuneEpochs > 0) throw new UsageException("--plan-only writes nothing; drop --finetune-epochs");
        if (r.Batch < 1) throw new UsageException("--batch must be at least 1");
        if (!(r.Lr > 0)) throw new UsageException("--lr must be positive");
        if (r.ClipNorm is { } clipNorm && !(clipNorm > 0)) throw new UsageException("--clip-norm must be positive");
        if (r.Limit is < 2) throw new UsageException("--limit must be at least 2");
    }

    private static (int N, int M) ParseNm(string text)
    {
        var parts = text.Split(':');
        if (parts.Length == 2 && int.TryParse(parts[0], out var n) && int.TryParse(parts[1], out var m) && n >= 1 && m >= 2 && n < m) return (n, m);
        throw new UsageException($"--nm must be N:M with 1 <= N < M (e.g. 2:4); got '{text}'");
    }

    private static ImportanceCriterion Criterion(ImportanceChoice c) => c switch
    {
        ImportanceChoice.L2 => ImportanceCriterion.L2,
        ImportanceChoice.Bn => ImportanceCriterion.BatchNormScale,
        ImportanceChoice.Taylor => ImportanceCriterion.Taylor,
        _ => ImportanceCriterion.L1,
    };

    private static IReadOnlyList<LayerJson> Layers(SparsityMasks masks) =>
        masks.Layers.Select(l => new LayerJson(l.NodeName, l.Weights, l.Zeros, l.Sparsity, l.SkipReason)).ToList();
}
