using Whittle.Data;
using Whittle.Distillation;
using Whittle.Onnx;
using Whittle.Pruning;
using Whittle.Tests.Training;
using Whittle.Training;

namespace Whittle.Tests.Distillation;

/// <summary>Hint layers in recovery fine-tuning: paired against the compressed model as it is, projections never written.</summary>
[Collection(TorchCollection.Name)]
public sealed class RecoveryTeachingTests
{
    private static OnnxModel Dense() => OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx"));

    [Fact]
    public void Hints_pair_the_pruned_model_with_the_teacher_values_chosen_on_the_dense_model()
    {
        var dense = Dense();
        var options = new RecoveryOptions(featureLayers: "auto");
        using var teaching = options.Begin(new TrainerOptions(1), dense);
        var teacher = Assert.IsType<Teacher>(teaching.Teacher);
        Assert.NotEmpty(teacher.FeatureValues);

        var pruned = ChannelRemoval.Apply(dense, ChannelPruner.Plan(dense, new ChannelPruningOptions(0.5)));
        var (trainer, hints) = teaching.For(pruned);
        Assert.NotNull(hints);
        Assert.Equal(teacher.FeatureValues, hints.TeacherValues);
        // The student side is the pruned model's: same value names, fewer channels.
        Assert.Equal(hints.Pairs.Select(p => p.TeacherValue), hints.Pairs.Select(p => p.StudentValue));
        Assert.Contains(hints.Pairs, p => p.StudentChannels < p.TeacherChannels);
        var loss = Assert.IsType<DistillationLoss>(trainer.Loss);
        Assert.Same(hints, loss.Hints);
        Assert.Contains("hint layers", teaching.Describe());
    }

    [Fact]
    public void Structured_fine_tuning_with_hints_writes_the_inputs_operators_and_no_projection()
    {
        var dense = Dense();
        var data = ModelData.Bind(dense, "fashion-mnist-mini", new DataOptions(mean: [0.2860f], std: [0.3530f]));
        var options = new ModelPruningOptions(channel: new ChannelPruningOptions(0.5), fineTuneEpochs: 1, limit: 400,
            recovery: new RecoveryOptions(featureLayers: "auto"));
        var result = ModelPruner.Prune(dense, data, options);

        Assert.Contains("hint layers", result.Recovery);
        var model = Assert.IsType<OnnxModel>(result.Model);
        Assert.Equal(Histogram(dense), Histogram(model));
        Assert.True(result.ParametersAfter < result.ParametersBefore);
        Assert.NotNull(result.FineTuning);
        Assert.All(result.FineTuning, e => Assert.True(double.IsFinite(e.TrainingLoss)));
    }

    [Fact]
    public void Hint_layers_need_a_teacher_and_a_job_that_can_train_them()
    {
        Assert.Throws<InvalidOptionException>(() => new RecoveryOptions(teacher: TeacherChoice.None, featureLayers: "auto"));
        Assert.Throws<InvalidOptionException>(() => new RecoveryOptions(featureLayers: "a=b,c"));
        var options = new RecoveryOptions(featureLayers: "auto");
        var error = Assert.Throws<InvalidOptionException>(() => options.Apply(new TrainerOptions(1), Dense()));
        Assert.Contains("hint layers", error.Message);
    }

    private static Dictionary<string, int> Histogram(OnnxModel model) =>
        model.Graph.Nodes.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
}
