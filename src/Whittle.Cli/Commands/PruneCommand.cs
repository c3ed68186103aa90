using System.CommandLine;
using Spectre.Console;
using Whittle.Data;
using Whittle.Distillation;
using Whittle.Engine;
using Whittle.Evaluation;
using Whittle.Onnx;
using Whittle.Pruning;
using Whittle.Runtime;
using Whittle.Training;
using static TorchSharp.torch;

namespace Whittle.Cli.Commands;

/// <summary>Which channel importance <c>--importance</c> names.</summary>
public enum ImportanceChoice { Auto, L1, L2, Bn, Taylor }

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
        var method = new Option<PruningMethod>("--method", "-m") { Description = "magnitude (unstructured), nm (N:M) or channel (structured, physically smaller)", DefaultValueFactory = _ => PruningMethod.Magnitude };
        var sparsity = new Option<double?>("--sparsity", "-s") { Description = "magnitude: fraction of weights to zero, in [0,1)" };
        var ratio = new Option<double?>("--ratio", "-r") { Description = "channel: fraction of channels to remove, in [0,1)" };
        var nm = new Option<string>("--nm") { Description = "nm: the N:M pattern", DefaultValueFactory = _ => "2:4" };
        var importance = new Option<ImportanceChoice>("--importance") { Description = "channel: auto (taylor when fine-tuning, l1 otherwise), l1, l2, bn (BatchNorm |gamma|) or taylor (needs --data)", DefaultValueFactory = _ => ImportanceChoice.Auto };
        var global = new Option<bool>("--global") { Description = "Rank all layers together instead of one ratio per layer" };
        var schedule = new Option<PruningSchedule>("--schedule") { Description = "oneshot, iterative or agp (channel: one removal step per epoch; iterative/agp need --finetune-epochs)", DefaultValueFactory = _ => PruningSchedule.OneShot };
        var finetune = new Option<int>("--finetune-epochs") { Description = "Epochs of fine-tuning with the Engine (needs --data)", DefaultValueFactory = _ => 0 };
        var dataArgs = new DataArguments(null);
        var exclude = new Option<string[]>("--exclude") { Description = "Node names to leave unpruned, exact or glob (* and ?), e.g. \"features.*.conv.2\" (repeatable)", AllowMultipleArgumentsPerToken = true };
        var excludeOp = new Option<string[]>("--exclude-op") { Description = "Operator types to leave unpruned (Conv, Gemm, MatMul, ...)", AllowMultipleArgumentsPerToken = true };
        var excludeFirst = new Option<bool>("--exclude-first") { Description = "Leave the first prunable layer unpruned" };
        var excludeLast = new Option<bool>("--exclude-last") { Description = "Leave the last prunable layer unpruned" };
        var roundTo = new Option<int>("--round-to") { Description = "channel: kept channels per group are a multiple of this", DefaultValueFactory = _ => 1 };
        var minChannels = new Option<int>("--min-channels") { Description = "channel: every group keeps at least this many channels (16 keeps ORT's fast int8 convolution kernel)", DefaultValueFactory = _ => 1 };
        var planOnly = new Option<bool>("--plan-only") { Description = "Print the plan (groups, kept/removed channels, params, MACs, unpruned layers) and write nothing" };
        var batch = new Option<int>("--batch", "-b") { Description = "Fine-tuning batch size", DefaultValueFactory = _ => ModelPruningOptions.DefaultBatchSize };
        var lr = new Option<double?>("--lr") { Description = $"Fine-tuning learning rate (AdamW, cosine) [default: {ModelPruningOptions.DefaultChannelLearningRate:0e0} for channel, {ModelPruningOptions.DefaultLearningRate:0e0} otherwise]" };
        var clip = new Option<double?>("--clip-norm") { Description = "Fine-tuning: clip the gradient norm to this value (a model whose BatchNorms were folded away can diverge without it)" };
        var limit = new Option<int?>("--limit") { Description = "Use only the first N training samples" };
        var threads = new Option<int>("--threads", "-t") { Description = "libtorch threads (0 = libtorch's default)", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var seed = new Option<int>("--seed") { Description = "Fine-tuning seed (data order, new parameters); the validation split does not change", DefaultValueFactory = _ => 0 };
        var recovery = new RecoveryArguments();
        var agpEnd = new Option<double>("--agp-end") { Description = "agp: the share of the fine-tuning steps by which the target sparsity is reached (the rest recovers at it)", DefaultValueFactory = _ => PruningScheduleOptions.DefaultAgpEndFraction };
        var ranking = new Option<GlobalRanking>("--global-ranking") { Description = "magnitude --global: lamp (layer-adaptive, never empties a layer) or magnitude (raw |w|)", DefaultValueFactory = _ => GlobalRanking.Lamp };
        var cmd = new Command("prune", "Prune a model: unstructured magnitude, N:M, or structured channel removal that makes the ONNX graph smaller and faster")
        {
            model, output, method, sparsity, ratio, nm, importance, global, schedule, finetune, exclude, excludeOp, excludeFirst, excludeLast,
            roundTo, minChannels, planOnly, batch, lr, clip, limit, threads, json, ranking, agpEnd, seed,
        };
        recovery.AddTo(cmd);
        dataArgs.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var r = new PruneRequest(parse.GetRequiredValue(model), parse.GetValue(output), parse.GetValue(method),
                parse.GetValue(sparsity), parse.GetValue(ratio), parse.GetValue(nm)!, parse.GetValue(importance), parse.GetValue(global),
                parse.GetValue(schedule), parse.GetValue(finetune), dataArgs.SpecFrom(parse),
                parse.GetValue(exclude) ?? [], parse.GetValue(excludeOp) ?? [], parse.GetValue(excludeFirst), parse.GetValue(excludeLast),
                parse.GetValue(roundTo), parse.GetValue(minChannels), parse.GetValue(planOnly), parse.GetValue(batch), parse.GetValue(lr), parse.GetValue(limit), parse.GetValue(threads), parse.GetValue(clip),
                recovery.From(parse), parse.GetValue(ranking), parse.GetValue(agpEnd), parse.GetValue(seed));
            Validate(r);
            var options = Options(r);
            var source = OnnxModel.Load(r.Model.FullName);
            var data = r.Data is null ? null : dataArgs.Bind(parse, source);
            bool asJson = parse.GetValue(json);
            if (r.PlanOnly) return Report(console, ModelPruner.Plan(source, data, options), r, asJson);
            var result = console.RunJob(p => ModelPruner.Prune(source, data, options, p), quiet: asJson);
            result.Save(r.Output!.FullName);
            return Report(console, result, r, asJson);
        });
        return cmd;
    }

    internal sealed record PruneRequest(FileInfo Model, FileInfo? Output, PruningMethod Method, double? Sparsity, double? Ratio, string Nm,
        ImportanceChoice Importance, bool Global, PruningSchedule Schedule, int FinetuneEpochs, string? Data,
        string[] Exclude, string[] ExcludeOp, bool ExcludeFirst, bool ExcludeLast, int RoundTo, int MinChannels, bool PlanOnly, int Batch, double? Lr, int? Limit, int Threads,
        double? ClipNorm = null, RecoveryOptions? Recovery = null, GlobalRanking Ranking = GlobalRanking.Lamp,
        double AgpEnd = PruningScheduleOptions.DefaultAgpEndFraction, int Seed = 0);

    /// <summary>The library options the flags describe.</summary>
    private static ModelPruningOptions Options(PruneRequest r)
    {
        var exclusions = new PruningExclusions(r.ExcludeFirst, r.ExcludeLast, r.Exclude, r.ExcludeOp);
        var scope = r.Global ? MagnitudeScope.Global : MagnitudeScope.LayerWise;
        return CliParsing.Library(() => new ModelPruningOptions(
                magnitude: r.Method == PruningMethod.Magnitude ? new UnstructuredPruningOptions(r.Sparsity!.Value, scope, exclusions, ranking: r.Ranking) : null,
                nm: r.Method == PruningMethod.Nm ? new NmSparsityOptions(ParseNm(r.Nm).N, ParseNm(r.Nm).M, exclusions) : null,
                channel: r.Method == PruningMethod.Channel ? new ChannelPruningOptions(r.Ratio!.Value, Criterion(r.Importance), scope, r.RoundTo, exclusions, minChannels: r.MinChannels) : null,
                schedule: new PruningScheduleOptions(r.Schedule, r.AgpEnd), fineTuneEpochs: r.FinetuneEpochs, batchSize: r.Batch, learningRate: r.Lr,
                clipNorm: r.ClipNorm, limit: r.Limit, threads: r.Threads, recovery: r.Recovery, seed: r.Seed),
            ("Schedule", "--schedule"), ("AgpEndFraction", "--agp-end"), ("FineTuneEpochs", "--finetune-epochs"), ("BatchSize", "--batch"), ("LearningRate", "--lr"), ("ClipNorm", "--clip-norm"),
            ("Limit", "--limit"), ("Threads", "--threads"), ("sparsity", "--sparsity"), ("ratio", "--ratio"), ("roundTo", "--round-to"), ("MinChannels", "--min-channels"));
    }

    private static int Report(CliConsole console, ModelPruningResult report, PruneRequest r, bool json)
    {
        string? written = report.PlanOnly ? null : r.Output!.FullName;
        if (json)
        {
            JsonOutput.Write(console, report, ("model", r.Model.FullName), ("output", written));
            return WhittleCli.Ok;
        }
        var o = console.Out;
        if (report.Plan is { } plan) o.Write(new Text(plan));
        if (report.RuntimeNote is { } note) o.MarkupLine($"[yellow]{Markup.Escape(note)}[/]");
        if (report.Recovery is { } recovery) o.MarkupLine($"recovery: {Markup.Escape(recovery)}");
        if (report.Layers is { } layers)
        {
            var table = new Table().AddColumns("layer", "weights", "zeros", "sparsity", "note");
            foreach (var l in layers) table.AddRow(Markup.Escape(l.NodeName), Format.Count(l.Weights), Format.Count(l.Zeros), Format.Percent(l.Sparsity), Markup.Escape(l.SkipReason ?? ""));
            o.Write(table);
        }
        var summary = new Table().AddColumns("", "before", "after");
        summary.AddRow("parameters", Format.Count(report.ParametersBefore), Format.Count(report.ParametersAfter));
        summary.AddRow("non-zero parameters", Format.Count(report.NonZeroBefore), report.NonZeroAfter is { } nz ? Format.Count(nz) : "n/a");
        if (report.MacsBefore is { } mb) summary.AddRow("MACs / sample", Format.Count(mb), Format.Count(report.MacsAfter ?? mb));
        if (!report.PlanOnly)
        {
            summary.AddRow("file bytes", Format.Count(report.BytesBefore), Format.Count(report.BytesAfter));
            summary.AddRow("gzip bytes", Format.Count(report.GzipBefore), Format.Count(report.GzipAfter));
            summary.AddRow("brotli bytes", Format.Count(report.BrotliBefore), Format.Count(report.BrotliAfter));
        }
        if (report.AccuracyBefore is { } ab) summary.AddRow("test accuracy (ONNX Runtime)", Format.Percent(ab), Format.Percent(report.AccuracyAfter ?? double.NaN));
        o.Write(summary);
        o.MarkupLine(written is null ? "[grey]plan only: nothing written[/]" : $"Wrote {Markup.Escape(written)} (verified in ONNX Runtime)");
        return WhittleCli.Ok;
    }

    private static void Validate(PruneRequest r)
    {
        if (!r.PlanOnly && r.Output is null) throw new UsageException("--output is required (or use --plan-only)");
        if (r.Output is not null) VerifiedModelWriter.EnsureNotAnInput(r.Output.FullName, [r.Model.FullName]);
        switch (r.Method)
        {
            case PruningMethod.Magnitude:
                if (r.Sparsity is null) throw new UsageException("--method magnitude needs --sparsity (e.g. 0.9)");
                if (r.Ratio is not null) throw new UsageException("--ratio is for --method channel; magnitude takes --sparsity");
                if (!(r.Sparsity >= 0 && r.Sparsity < 1)) throw new UsageException($"--sparsity must be in [0, 1); got {r.Sparsity}");
                break;
            case PruningMethod.Nm:
                if (r.Sparsity is not null || r.Ratio is not null) throw new UsageException("--method nm takes --nm N:M, not --sparsity or --ratio");
                if (r.Schedule != PruningSchedule.OneShot) throw new UsageException("--method nm is one-shot (masks fixed while fine-tuning); drop --schedule");
                ParseNm(r.Nm);
                break;
            case PruningMethod.Channel:
                if (r.Ratio is null) throw new UsageException("--method channel needs --ratio (e.g. 0.5)");
                if (r.Sparsity is not null) throw new UsageException("--sparsity is for --method magnitude; channel takes --ratio");
                if (!(r.Ratio >= 0 && r.Ratio < 1)) throw new UsageException($"--ratio must be in [0, 1); got {r.Ratio}");
                if (r.Importance == ImportanceChoice.Taylor && r.Data is null) throw new UsageException("--importance taylor needs --data (gradients from a few batches)");
                break;
        }
        if (r.Method != PruningMethod.Channel && (r.Importance is not (ImportanceChoice.Auto or ImportanceChoice.L1) || r.RoundTo != 1 || r.MinChannels != 1))
            throw new UsageException("--importance, --round-to and --min-channels apply to --method channel");
        if (r.RoundTo < 1) throw new UsageException("--round-to must be at least 1");
        if (r.MinChannels < 1) throw new UsageException("--min-channels must be at least 1");
        if (r.FinetuneEpochs < 0) throw new UsageException("--finetune-epochs must be 0 or positive");
        if (r.FinetuneEpochs > 0 && r.Data is null) throw new UsageException("--finetune-epochs needs --data");
        if (r.Schedule != PruningSchedule.OneShot && r.FinetuneEpochs == 0) throw new UsageException($"--schedule {r.Schedule.ToString().ToLowerInvariant()} prunes during fine-tuning; give --finetune-epochs and --data");
        if (r.PlanOnly && r.FinetuneEpochs > 0) throw new UsageException("--plan-only writes nothing; drop --finetune-epochs");
        if (r.Batch < 1) throw new UsageException("--batch must be at least 1");
        if (r.Lr is { } lrValue && !(lrValue > 0)) throw new UsageException("--lr must be positive");
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
        ImportanceChoice.Auto => ImportanceCriterion.Auto,
        _ => ImportanceCriterion.L1,
    };
}
