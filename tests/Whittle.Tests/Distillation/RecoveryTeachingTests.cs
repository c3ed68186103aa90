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
        var (trainer, hints, _) = teaching.For(pruned, 1);
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
    public void The_teacher_stops_after_its_share_of_the_epochs_counted_over_every_step()
    {
        var dense = Dense();
        var options = new RecoveryOptions(alpha: 0.7, distillFraction: 0.5);
        Assert.Equal(2, options.LastDistilledEpoch(4));
        Assert.Equal(2, options.LastDistilledEpoch(3)); // 1.5 rounds away from zero
        Assert.Equal(1, new RecoveryOptions(distillFraction: 0.1).LastDistilledEpoch(3));

        // One run of four epochs.
        using (var teaching = options.Begin(new TrainerOptions(4), dense))
        {
            var run = teaching.For(dense, 4);
            var loss = Assert.IsType<DistillationLoss>(run.Trainer.Loss);
            var callback = Assert.Single(run.Callbacks);
            var alphas = new List<double>();
            for (int epoch = 1; epoch <= 4; epoch++)
            {
                callback.OnEpochStart(null!, epoch);
                alphas.Add(loss.Alpha);
            }
            Assert.Equal([0.7, 0.7, 0, 0], alphas);
            Assert.Contains("epochs 1-2 of 4, then labels only", teaching.Describe());
        }

        // A schedule of four one-epoch steps: each step's run starts at epoch 1 again.
        using (var teaching = options.Begin(new TrainerOptions(4), dense))
        {
            var alphas = new List<double>();
            for (int step = 0; step < 4; step++)
            {
                var run = teaching.For(dense, 1);
                Assert.Single(run.Callbacks).OnEpochStart(null!, 1);
                alphas.Add(((DistillationLoss)run.Trainer.Loss!).Alpha);
            }
            Assert.Equal([0.7, 0.7, 0, 0], alphas);
        }

        // Throughout (the default fraction): no callback at all.
        using (var teaching = new RecoveryOptions().Begin(new TrainerOptions(3), dense))
            Assert.Empty(teaching.For(dense, 3).Callbacks);
    }

    [Fact]
    public void Hint_layers_need_a_teacher_and_a_job_that_can_train_them()
    {
        Assert.Throws<InvalidOptionException>(() => new RecoveryOptions(teacher: TeacherChoice.None, featureLayers: "auto"));
        Assert.Throws<InvalidOptionException>(() => new RecoveryOptions(featureLayers: "a=b,c"));
        var options = new RecoveryOptions(featureLayers: "auto");
        var error = Assert.Throws<InvalidOptionException>(() => options.Apply(new TrainerOptions(1), Dense()));
        Assert.Contains("hint layers", error.Message);
        Assert.Throws<InvalidOptionException>(() => new RecoveryOptions(distillFraction: 0));
        Assert.Throws<InvalidOptionException>(() => new RecoveryOptions(distillFraction: 0.5).Apply(new TrainerOptions(1), Dense()));
    }

    private static Dictionary<string, int> Histogram(OnnxModel model) =>
        model.Graph.Nodes.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
}
