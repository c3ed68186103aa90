using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Pruning;
using Whittle.Runtime;
using Whittle.Tests.Training;
using Whittle.Training;
using Whittle.Zoo;

namespace Whittle.Tests.Pruning;

public class UnstructuredPruningTests
{
    private static OnnxModel ConvNet() => Whittle.Zoo.ConvNet.Create(new ConvNetOptions(channels: [8, 16], hiddenFeatures: 32, seed: 3));

    private static long Zeros(OnnxModel model, string initializer) =>
        model.Graph.FindInitializer(initializer)!.ToFloatArray().LongCount(v => v == 0f);

    [Fact]
    public void Global_magnitude_zeroes_the_requested_count_and_only_prunable_weights()
    {
        var model = ConvNet();
        var layers = PrunableWeight.Find(model);
        Assert.Equal(["block1.conv1", "block1.conv2", "block2.conv1", "block2.conv2", "fc1", "fc2"], layers.Select(l => l.NodeName));
        var masks = UnstructuredPruner.MagnitudeMasks(model, new UnstructuredPruningOptions(0.9, MagnitudeScope.Global));
        long total = layers.Sum(l => l.Count);
        Assert.Equal(Sparsity.PrunedCount(total, 0.9), masks.Layers.Sum(l => l.Zeros));
        var pruned = masks.Apply(model);
        foreach (var l in layers) Assert.Equal(masks.Layers.Single(x => x.NodeName == l.NodeName).Zeros, Zeros(pruned, l.Initializer));
        // Biases and BatchNorm parameters are untouched; the input model is not modified.
        Assert.Equal(model.Graph.FindInitializer("fc1.bias")!.ToFloatArray(), pruned.Graph.FindInitializer("fc1.bias")!.ToFloatArray());
        Assert.Equal(0, Zeros(model, "fc1.weight"));
        // Global ranking gives layers different sparsities (here the large fc1 loses more than the first conv).
        Assert.True(masks.Layers.Single(l => l.NodeName == "fc1").Sparsity > masks.Layers.Single(l => l.NodeName == "block1.conv1").Sparsity);
    }

    [Fact]
    public void Layer_wise_magnitude_with_exclusions_and_caps()
    {
        var model = ConvNet();
        var options = new UnstructuredPruningOptions(0.5, MagnitudeScope.LayerWise,
            new PruningExclusions(firstLayer: true, lastLayer: true, opTypes: []), new Dictionary<string, double> { ["fc1"] = 0.25 });
        var masks = UnstructuredPruner.MagnitudeMasks(model, options);
        Assert.Equal("first layer", masks.Layers[0].SkipReason);
        Assert.Equal(0, masks.Layers[0].Zeros);
        Assert.Equal("last layer", masks.Layers[^1].SkipReason);
        var conv = masks.Layers.Single(l => l.NodeName == "block2.conv1");
        Assert.Equal(Sparsity.PrunedCount(conv.Weights, 0.5), conv.Zeros);
        var fc1 = masks.Layers.Single(l => l.NodeName == "fc1");
        Assert.Equal(Sparsity.PrunedCount(fc1.Weights, 0.25), fc1.Zeros);
    }

    [Fact]
    public void An_exclusion_or_cap_that_matches_nothing_is_an_error()
    {
        var model = ConvNet();
        var e = Assert.Throws<InvalidOptionException>(() => UnstructuredPruner.MagnitudeMasks(model,
            new UnstructuredPruningOptions(0.5, exclusions: new PruningExclusions(nodeNames: ["block9.conv1"]))));
        Assert.Equal("NodeNames", e.Option);
        Assert.Contains("node 'block9.conv1' matches no prunable layer", e.Message);
        Assert.Contains("block1.conv1 (Conv)", e.Message);
        e = Assert.Throws<InvalidOptionException>(() => UnstructuredPruner.MagnitudeMasks(model,
            new UnstructuredPruningOptions(0.5, exclusions: new PruningExclusions(opTypes: ["MatMul"]))));
        Assert.Equal("OpTypes", e.Option);
        Assert.Contains("operator type 'MatMul'", e.Message);
        e = Assert.Throws<InvalidOptionException>(() => UnstructuredPruner.MagnitudeMasks(model,
            new UnstructuredPruningOptions(0.5, layerCaps: new Dictionary<string, double> { ["fc9"] = 0.1 })));
        Assert.Equal("LayerCaps", e.Option);
        Assert.Contains("'fc9'", e.Message);
        Assert.Equal("Sparsity must be in [0, 1), got 1", Assert.Throws<InvalidOptionException>(() => new UnstructuredPruningOptions(1.0)).Message);
    }

    [Fact]
    public void Two_four_sparsity_along_the_reduction_axis()
    {
        var model = ConvNet();
        var masks = UnstructuredPruner.NmMasks(model, new NmSparsityOptions(2, 4));
        // The first conv reduces over 1 input channel: left dense and reported.
        Assert.Contains("not a multiple of 4", masks.Layers[0].SkipReason);
        var pruned = masks.Apply(model);
        // block2.conv1: [16, 8, 3, 3]; for every (o, kh, kw) each run of 4 input channels has exactly 2 zeros
        // (random init has no exact zeros of its own).
        var w = pruned.Graph.FindInitializer("block2.conv1.weight")!.ToFloatArray();
        for (int o = 0; o < 16; o++)
            for (int k = 0; k < 9; k++)
                for (int start = 0; start < 8; start += 4)
                    Assert.Equal(2, Enumerable.Range(start, 4).Count(i => w[(o * 8 + i) * 9 + k] == 0f));
        // Gemm fc1 (transB = 1, weight [32, 784]) groups along axis 1.
        var fc = pruned.Graph.FindInitializer("fc1.weight")!.ToFloatArray();
        for (int g = 0; g < fc.Length; g += 4) Assert.Equal(2, fc.Skip(g).Take(4).Count(v => v == 0f));
        Assert.Equal(0.5, masks.Layers.Where(l => l.SkipReason is null).Sum(l => l.Zeros) / (double)masks.Layers.Where(l => l.SkipReason is null).Sum(l => l.Weights), 12);
    }

    [Fact]
    public void Compressed_size_shrinks_with_sparsity_while_the_file_does_not()
    {
        var model = ConvNet();
        var dense = ModelFileSize.Measure(model);
        var sparse = ModelFileSize.Measure(UnstructuredPruner.MagnitudeMasks(model, new UnstructuredPruningOptions(0.9, MagnitudeScope.Global)).Apply(model));
        Assert.InRange(Math.Abs(sparse.Bytes - dense.Bytes), 0, 64);
        Assert.True(sparse.GzipBytes < dense.GzipBytes * 0.5, $"{sparse.GzipBytes} vs {dense.GzipBytes}");
        Assert.True(sparse.BrotliBytes < dense.BrotliBytes * 0.5);
    }

    [Theory]
    [InlineData(PruningSchedule.OneShot, 0.0, 0.5, 0.5)]
    [InlineData(PruningSchedule.Iterative, 0.0, 0.5, 0.25)]   // epoch 1 of 2
    [InlineData(PruningSchedule.Iterative, 50.0, 0.5, 0.5)]   // epoch 2 of 2 (50 steps per epoch)
    [InlineData(PruningSchedule.Agp, 0.0, 0.8, 0.0)]
    [InlineData(PruningSchedule.Agp, 37.0, 0.8, 0.7)]         // quantized to step 30 of end 60: 0.8 - 0.8 * 0.5^3
    [InlineData(PruningSchedule.Agp, 60.0, 0.8, 0.8)]
    public void Schedules_give_the_target_in_force(PruningSchedule schedule, double step, double final, double expected)
    {
        var options = new PruningScheduleOptions(schedule, agpEndFraction: 0.6, agpFrequency: 10);
        Assert.Equal(expected, options.TargetAt((long)step, 100, 2, final), 12);
    }
}

[Collection(TorchCollection.Name)]
public class MaskedFineTuningTests
{
    [Fact]
    public void Agp_fine_tuning_ends_at_the_target_with_pruned_weights_exactly_zero()
    {
        var model = Mlp.Create(new MlpOptions(inputShape: [8], hiddenSizes: [32], classes: 3, dropout: 0, seed: 5));
        var train = TrainingTestKit.Blobs(512, seed: 1);
        var trainer = new TrainerOptions(epochs: 3, batchSize: 32, optimizer: new AdamOptions(1e-2), restoreBestWeights: false);
        var result = UnstructuredFineTuning.Magnitude(model, new UnstructuredPruningOptions(0.8, MagnitudeScope.Global),
            new PruningScheduleOptions(PruningSchedule.Agp, agpEndFraction: 0.5, agpFrequency: 4), trainer, train);
        var layers = PrunableWeight.Find(model);
        long total = layers.Sum(l => l.Count);
        long zeros = layers.Sum(l => result.Model.Graph.FindInitializer(l.Initializer)!.ToFloatArray().LongCount(v => v == 0f));
        Assert.Equal(Sparsity.PrunedCount(total, 0.8), zeros);
        // Every masked weight is zero in the written model, and training still learned the blobs.
        foreach (var (name, mask) in result.Masks.Masks)
        {
            var values = result.Model.Graph.FindInitializer(name)!.ToFloatArray();
            for (int i = 0; i < mask.Length; i++) if (!mask[i]) Assert.Equal(0f, values[i]);
        }
        using var session = new OnnxRuntimeSession(result.Model);
        var scores = session.RunBatches(train.Features, [8], 256).AsFloats();
        var predictions = Whittle.Evaluation.ClassScores.Argmax(scores, 3);
        double accuracy = predictions.Zip(train.Labels.ToArray()).Count(p => p.First == p.Second) / (double)train.Count;
        Assert.True(accuracy > 0.9, $"accuracy {accuracy}");
    }

    [Fact]
    public void Masks_are_reapplied_after_every_optimizer_step()
    {
        var model = Mlp.Create(new MlpOptions(inputShape: [8], hiddenSizes: [16], classes: 3, dropout: 0, seed: 2));
        var masks = UnstructuredPruner.NmMasks(model, new NmSparsityOptions(1, 4));
        using var module = new OnnxModule(model);
        using var callback = new SparsityMaskCallback(module, masks);
        var probe = new ZeroWatcher(masks);
        new Trainer(module, new TrainerOptions(epochs: 1, batchSize: 16, optimizer: new AdamOptions(1e-2), restoreBestWeights: false), [callback, probe])
            .Fit(TrainingTestKit.Blobs(64, seed: 3));
        Assert.Equal(4, probe.Steps);
    }

    /// <summary>Runs after the mask callback at every step and checks the masked weights are zero.</summary>
    private sealed class ZeroWatcher(SparsityMasks masks) : TrainingCallback
    {
        public int Steps { get; private set; }

        public override void OnStepEnd(TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> module, TrainingProgress progress)
        {
            var m = (OnnxModule)module;
            foreach (var (name, mask) in masks.Masks)
            {
                var values = TorchTensors.ToFloats(m.ParametersByInitializer[name]);
                for (int i = 0; i < mask.Length; i++) if (!mask[i]) Assert.Equal(0f, values[i]);
            }
            Steps++;
        }
    }
}
