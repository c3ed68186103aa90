using System.CommandLine;
using Whittle.Distillation;
using Whittle.Onnx;

namespace Whittle.Cli.Commands;

/// <summary>
/// The recovery-training options of the verbs that fine-tune a compressed model (<c>prune</c>, and
/// later QAT): the teacher, its temperature and weight, and BatchNorm re-insertion. One definition,
/// mapped onto the library's <see cref="RecoveryOptions"/>.
/// </summary>
internal sealed class RecoveryArguments
{
    public Option<string> Teacher { get; } = new("--teacher")
    {
        Description = "Fine-tuning teacher: source (the model before compression), none (labels only) or a path to another .onnx with the same input and classes",
        DefaultValueFactory = _ => "source",
    };

    public Option<double> Temperature { get; } = new("--temperature") { Description = "Distillation temperature T", DefaultValueFactory = _ => RecoveryOptions.DefaultTemperature };

    public Option<double> Alpha { get; } = new("--alpha") { Description = "Weight of the teacher's soft targets against the labels, in [0,1]", DefaultValueFactory = _ => RecoveryOptions.DefaultAlpha };

    public Option<bool> NoBatchNorm { get; } = new("--no-reinsert-bn")
    {
        Description = "Fine-tune without re-inserting BatchNorm after the Conv/Gemm layers that have none (by default they are re-inserted for training and folded back)",
    };

    public Option<string?> FeatureLayers { get; } = new("--feature-layers")
    {
        Description = "Hint layers (FitNets) added to the teacher's logit loss during fine-tuning: 'auto' pairs the last feature of every stage (spatial size), or name compressed=teacher value pairs; projections are trained and discarded (default: logits only)",
    };

    public Option<double> FeatureWeight { get; } = new("--feature-weight")
    {
        Description = "Weight β of the mean relative hint-layer loss",
        DefaultValueFactory = _ => ModelDistillationOptions.DefaultFeatureWeight,
    };

    public Option<double> DistillFraction { get; } = new("--distill-fraction")
    {
        Description = "Share of the fine-tuning epochs the teacher teaches, then labels only (1 = throughout)",
        DefaultValueFactory = _ => RecoveryOptions.DefaultDistillFraction,
    };

    /// <summary>Adds the options; <paramref name="studentOptions"/> adds hint layers and the teacher's early stop, which only pruning's recovery trains.</summary>
    public void AddTo(Command command, bool studentOptions = true)
    {
        foreach (var option in new Option[] { Teacher, Temperature, Alpha, NoBatchNorm }) command.Add(option);
        if (studentOptions)
            foreach (var option in new Option[] { FeatureLayers, FeatureWeight, DistillFraction }) command.Add(option);
    }

    /// <summary>The library options the flags describe; a teacher path is loaded (and must not be the output).</summary>
    public RecoveryOptions From(ParseResult parse)
    {
        var teacher = parse.GetValue(Teacher) ?? "source";
        var (choice, model) = teacher.ToLowerInvariant() switch
        {
            "source" => (TeacherChoice.Source, (OnnxModel?)null),
            "none" => (TeacherChoice.None, null),
            _ => (TeacherChoice.Model, LoadTeacher(teacher)),
        };
        return CliParsing.Library(() => new RecoveryOptions(!parse.GetValue(NoBatchNorm), choice, model, parse.GetValue(Temperature), parse.GetValue(Alpha),
                parse.GetValue(FeatureLayers), parse.GetValue(FeatureWeight), parse.GetValue(DistillFraction)),
            ("Temperature", "--temperature"), ("Alpha", "--alpha"), ("TeacherModel", "--teacher"), ("FeatureLayers", "--feature-layers"),
            ("FeaturePairs", "--feature-layers"), ("FeatureWeight", "--feature-weight"), ("DistillFraction", "--distill-fraction"));
    }

    private static OnnxModel LoadTeacher(string path)
    {
        if (!File.Exists(path)) throw new UsageException($"--teacher: '{path}' is not a file (give source, none or the path of an .onnx model)");
        return OnnxModel.Load(Path.GetFullPath(path));
    }
}
