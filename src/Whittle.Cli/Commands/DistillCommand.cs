using System.CommandLine;
using Spectre.Console;
using Whittle.Distillation;
using Whittle.Evaluation;
using Whittle.Onnx;

namespace Whittle.Cli.Commands;

/// <summary>
/// <c>whittle distill STUDENT --teacher TEACHER --data DATASET -o OUT</c>: trains the student with
/// every option of <c>train</c> and logit distillation from the teacher (run in ONNX Runtime), on
/// raw or standardized logits; verified, written atomically and judged like <c>train</c>.
/// </summary>
internal static class DistillCommand
{
    public static Command Create(CliConsole console)
    {
        var teacher = new Option<FileInfo>("--teacher") { Description = "The teacher .onnx: the student's input and logits over the same classes", Required = true };
        var temperature = new Option<double>("--temperature", "-T") { Description = "Temperature T of the soft targets", DefaultValueFactory = _ => ModelDistillationOptions.DefaultTemperature };
        var alpha = new Option<double>("--alpha") { Description = "Weight of the soft (teacher) term against the labels' cross-entropy, in (0,1]", DefaultValueFactory = _ => ModelDistillationOptions.DefaultAlpha };
        var standardize = new Option<bool>("--standardize-logits")
        {
            Description = "Compare Z-scored logits in the soft term (logit standardization, Sun et al. 2024; cross-entropy stays on the raw logits) and calibrate the student's output scale on the validation data after (temperature scaling); on by default (docs/distillation.md: +1.15 points over training alone on a BN-folded CNN student); --standardize-logits false for Hinton's loss on raw logits",
            DefaultValueFactory = _ => ModelDistillationOptions.DefaultStandardizeLogits,
        };
        var policy = new Option<AlphaPolicy>("--alpha-policy")
        {
            Description = "adaptive (stop distilling when the teacher no longer leads the student on validation data by --teacher-lead, and after --distill-fraction of the epochs), earlystop (after --distill-fraction) or fixed",
            DefaultValueFactory = _ => AlphaPolicy.Adaptive,
        };
        var lead = new Option<double>("--teacher-lead") { Description = "adaptive: the validation-accuracy lead (fraction) below which the teacher stops teaching", DefaultValueFactory = _ => ModelDistillationOptions.DefaultTeacherLead };
        var fraction = new Option<double>("--distill-fraction") { Description = "adaptive/earlystop: the share of the epochs distilled at most, then labels only", DefaultValueFactory = _ => ModelDistillationOptions.DefaultEarlyStopFraction };
        var featureLayers = new Option<string?>("--feature-layers")
        {
            Description = "Hint layers (FitNets) added to the logit loss: 'auto' pairs the last feature of every stage (spatial size) the models share, or name student=teacher value pairs, e.g. 's_relu1=t_relu1,s_relu2=t_relu2' (default: logits only)",
        };
        var featureWeight = new Option<double>("--feature-weight") { Description = "Weight β of the summed hint-layer MSE losses", DefaultValueFactory = _ => ModelDistillationOptions.DefaultFeatureWeight };
        return TrainCommand.Define(console, "distill",
            "Train a student model by knowledge distillation from a teacher model (logits, temperature, alpha policy, optional hint layers), with every option of train",
            "The .onnx student to train (a zoo model, a pruned copy of the teacher, or any classifier of the data)",
            [teacher, temperature, alpha, standardize, policy, lead, fraction, featureLayers, featureWeight], (parse, student, data, training, progress) =>
            {
                var teacherFile = parse.GetRequiredValue(teacher);
                if (!teacherFile.Exists) throw new UsageException($"--teacher: '{teacherFile.FullName}' does not exist");
                var options = CliParsing.Library(() => new ModelDistillationOptions(training, parse.GetValue(temperature), parse.GetValue(alpha), parse.GetValue(policy),
                    parse.GetValue(lead), parse.GetValue(fraction), parse.GetValue(featureLayers), parse.GetValue(featureWeight), parse.GetValue(standardize)),
                    ("Temperature", "--temperature"), ("Alpha", "--alpha"), ("Policy", "--alpha-policy"), ("TeacherLead", "--teacher-lead"), ("EarlyStopFraction", "--distill-fraction"),
                    ("FeatureLayers", "--feature-layers"), ("FeaturePairs", "--feature-layers"), ("FeatureWeight", "--feature-weight"));
                var result = ModelDistiller.Distill(student, OnnxModel.Load(teacherFile.FullName), data, options, progress);
                return new TrainCommand.TrainingOutcome(result.Training, result, o =>
                {
                    o.MarkupLine($"teacher {Markup.Escape(result.Teacher)}: validation accuracy {Format.Percent(result.TeacherValidationAccuracy)}"
                        + (result.TeacherTestAccuracy is { } t ? $", test accuracy (ONNX Runtime) {Format.Percent(t)}" : "")
                        + $"; {(result.StandardizedLogits ? "standardized logits, " : "")}T {Format.Number(result.Temperature)}, α by epoch {string.Join(" ", result.AlphaByEpoch.Select(a => Format.Number(a)))}");
                    foreach (var note in result.Notes) o.MarkupLine($"[grey]{Markup.Escape(note)}[/]");
                });
            });
    }
}
