using Whittle.Data;
using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Quantization;
using Whittle.Runtime;
using Whittle.Training;
using static TorchSharp.torch;

namespace Whittle.Tests.Training;

[Collection(TorchCollection.Name)]
public class BatchNormReinsertionTests
{
    private static OnnxModel Folded() => DeployFormFixture.Folded();

    private static TensorDataset Images(int count, int seed) => DeployFormFixture.Images(count, seed);

    private static float[] RunOrt(OnnxModel model, TensorDataset data)
    {
        using var session = new OnnxRuntimeSession(model);
        return session.RunBatches(data.Features, [.. data.SampleShape]).AsFloats().ToArray();
    }

    [Fact]
    public void CandidatesAreTheLayersWithoutBatchNormExceptTheClassifier()
    {
        var folded = Folded();
        var names = BatchNormReinsertion.Candidates(folded);
        var layers = folded.Graph.Nodes.Where(n => n.OpType is "Conv" or "Gemm").ToList();
        Assert.Equal(4, layers.Count);
        // Conv, Conv, the hidden Gemm; the last Gemm writes the logits.
        Assert.Equal(layers.Take(3).Select(n => n.DisplayName), names);
        // The model with its BatchNorms has none to re-insert after the convs.
        var original = OnnxModel.Load(TestPaths.FixtureModel("pytorch_cnn_opset13.onnx"));
        Assert.Single(BatchNormReinsertion.Candidates(original));
    }

    [Fact]
    public void InsertedBatchNormsStartAsTheIdentityAndFoldBackToTheSameGraph()
    {
        var folded = Folded();
        var before = folded.ToBytes();
        var data = Images(64, 1);
        var reinserted = BatchNormReinsertion.Insert(folded, data, samples: 64, init: BatchNormInit.Identity);
        Assert.Equal(before, folded.ToBytes()); // the input is not touched
        Assert.Equal(3, reinserted.InsertedNodes.Count);
        Assert.Equal(3, reinserted.Model.Graph.Nodes.Count(n => n.OpType == "BatchNormalization"));
        Assert.True(reinserted.Model.Validate().IsValid);

        // Eval mode: the identity, so the outputs match the deploy-form model.
        var reference = RunOrt(folded, data);
        var withBn = RunOrt(reinserted.Model, data);
        Assert.True(reference.Zip(withBn).Max(p => Math.Abs(p.First - p.Second)) <= 1e-4);

        // Training mode on the calibration batch itself: batch statistics are the calibration ones, so still the identity.
        using (var module = new OnnxModule(reinserted.Model))
        using (var scope = NewDisposeScope())
        {
            module.train();
            var x = tensor(data.Features.ToArray(), [64, 1, 28, 28]);
            using var noGrad = no_grad();
            var trainOut = module.call(x).data<float>().ToArray();
            Assert.True(reference.Zip(trainOut).Max(p => Math.Abs(p.First - p.Second)) <= 1e-3);
        }

        var back = reinserted.FoldBack(reinserted.Model);
        Assert.Equal(folded.Graph.OpHistogram(), back.Graph.OpHistogram());
        Assert.DoesNotContain(BatchNormReinsertion.MetadataKey, back.Metadata.Keys);
        var roundTrip = RunOrt(back, data);
        Assert.True(reference.Zip(roundTrip).Max(p => Math.Abs(p.First - p.Second)) <= 1e-4);
    }

    [Fact]
    public void TrainingMovesTheRunningStatisticsAndFoldingKeepsWhatWasTrained()
    {
        var folded = Folded();
        var data = Images(128, 2);
        var reinserted = BatchNormReinsertion.Insert(folded, data, samples: 128, init: BatchNormInit.Identity);
        using var module = new OnnxModule(reinserted.Model);
        var trainer = new Trainer(module, new TrainerOptions(1, 32, new AdamWOptions(1e-2), restoreBestWeights: false));
        trainer.Fit(data);
        module.eval();
        var trained = module.ToOnnx();
        var back = reinserted.FoldBack(trained);
        Assert.DoesNotContain(back.Graph.Nodes, n => n.OpType == "BatchNormalization");
        // The folded model computes what the trained model with its BatchNorms computes in eval mode.
        var expected = RunOrt(trained, data);
        var actual = RunOrt(back, data);
        Assert.True(expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second)) <= 1e-3);
        Assert.False(expected.Zip(RunOrt(folded, data)).All(p => Math.Abs(p.First - p.Second) < 1e-3)); // it did train
    }

    [Fact]
    public void ZeroWeightsStayZeroWhenFolded()
    {
        var folded = Folded();
        var conv = folded.Graph.Nodes.First(n => n.OpType == "Conv");
        var w = folded.Graph.FindInitializer(conv.Inputs[1])!;
        var values = w.ToFloatArray();
        for (int i = 0; i < values.Length; i += 2) values[i] = 0;
        folded.Graph.ReplaceInitializer(OnnxTensor.FromFloats(w.Name, w.Dims, values));
        var reinserted = BatchNormReinsertion.Insert(folded, Images(32, 3), samples: 32);
        var back = reinserted.FoldBack(reinserted.Model);
        var after = back.Graph.FindInitializer(w.Name)!.ToFloatArray();
        for (int i = 0; i < after.Length; i += 2) Assert.Equal(0f, after[i]);
    }

    [Fact]
    public void AModelWithNothingToInsertIsReturnedAsACopy()
    {
        var fixture = OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx"));
        var names = BatchNormReinsertion.Candidates(fixture);
        var reinserted = BatchNormReinsertion.Insert(fixture, Images(8, 4), samples: 8);
        Assert.Equal(names.Count, reinserted.InsertedNodes.Count);
        Assert.Equal(names.Count, reinserted.Model.Graph.Nodes.Count(n => n.OpType == "BatchNormalization") - fixture.Graph.Nodes.Count(n => n.OpType == "BatchNormalization"));
    }
}

[Collection(TorchCollection.Name)]
public class BatchNormReinsertionInitTests
{
    private static OnnxModel Folded() => GraphPreparation.FoldBatchNorms(OnnxModel.Load(TestPaths.FixtureModel("fmnist_classifier.onnx"))).Model;

    private static TensorDataset Labelled(int count)
    {
        var data = FashionMnist.LoadBundledSubset(DatasetSplit.Test, preprocessing: FashionMnist.StandardPreprocessing()).Dataset;
        return data.Take(count);
    }

    [Fact]
    public void ATrainedModelGetsIdentityBatchNormsAndAnUntrainedOneFreshOnes()
    {
        var data = Labelled(256);
        var trained = BatchNormReinsertion.Insert(Folded(), data, samples: 256);
        Assert.Equal(BatchNormInit.Identity, trained.Init);

        // The same graph with random weights scores at chance: PyTorch's fresh BatchNorm, gamma 1 and beta 0.
        var untrained = Folded();
        var random = new Random(5);
        foreach (var init in untrained.Graph.Initializers.Where(t => t.Dims.Length > 1).ToList())
        {
            var values = init.ToFloatArray().Select(_ => (float)((random.NextDouble() - 0.5) * 0.02)).ToArray();
            untrained.Graph.ReplaceInitializer(OnnxTensor.FromFloats(init.Name, init.Dims, values));
        }
        var fresh = BatchNormReinsertion.Insert(untrained, data, samples: 256);
        Assert.Equal(BatchNormInit.Standard, fresh.Init);
        var bn = fresh.Model.Graph.Nodes.First(n => n.OpType == "BatchNormalization" && fresh.InsertedNodes.Contains(n.Name));
        Assert.All(fresh.Model.Graph.FindInitializer(bn.Inputs[1])!.ToFloatArray(), g => Assert.Equal(1f, g));
        Assert.All(fresh.Model.Graph.FindInitializer(bn.Inputs[2])!.ToFloatArray(), b => Assert.Equal(0f, b));
        // Asked for explicitly, the identity is used whatever the accuracy.
        Assert.Equal(BatchNormInit.Identity, BatchNormReinsertion.Insert(untrained, data, samples: 256, init: BatchNormInit.Identity).Init);
    }

    [Fact]
    public void MatchedStartMapsEveryKeptChannelBackOntoTheUncompressedModelsStatistics()
    {
        // Structured pruning of the deploy-form fixture shifts the kept channels' distributions; the
        // BatchNorms re-inserted with the dense model's statistics of those channels as targets put
        // each channel's mean and variance (on the calibration samples, eval mode) back where they were.
        var dense = DeployFormFixture.Folded();
        var data = DeployFormFixture.Images(128, 3);
        var plan = Whittle.Pruning.ChannelPruner.Plan(dense, new Whittle.Pruning.ChannelPruningOptions(0.5));
        var pruned = Whittle.Pruning.ChannelRemoval.Apply(dense, plan);
        var statistics = BatchNormReinsertion.LayerStatistics(dense, data, samples: 128);
        var kept = plan.KeptOutputChannels();
        var targets = statistics.Where(p => kept.ContainsKey(p.Key)).ToDictionary(p => p.Key,
            p => (kept[p.Key].Select(c => p.Value.Mean[c]).ToArray(), kept[p.Key].Select(c => p.Value.Variance[c]).ToArray()));
        Assert.Equal(3, targets.Count);
        var matched = BatchNormReinsertion.Insert(pruned, data, samples: 128, init: BatchNormInit.Identity, targets: targets);
        Assert.Equal(3, matched.InsertedNodes.Count);

        using var module = new OnnxModule(matched.Model);
        module.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var bns = matched.Model.Graph.Nodes.Where(n => n.OpType == "BatchNormalization").ToList();
        var layerOf = bns.ToDictionary(n => n.Outputs[0], n => matched.Model.Graph.Nodes.Single(l => l.Outputs[0] == n.Inputs[0]).DisplayName);
        var outputs = module.Run([tensor(data.Features.ToArray(), [128, 1, 28, 28])], bns.Select(n => n.Outputs[0]).ToList());
        for (int b = 0; b < bns.Count; b++)
        {
            var (mean, variance) = targets[layerOf[bns[b].Outputs[0]]];
            var t = outputs[b].to_type(ScalarType.Float64);
            var dims = Enumerable.Range(0, (int)t.Dimensions).Where(d => d != 1).Select(d => (long)d).ToArray();
            var m = t.mean(dims).data<double>().ToArray();
            var v = t.var(dims, unbiased: false).data<double>().ToArray();
            Assert.Equal(mean.Length, m.Length);
            for (int c = 0; c < m.Length; c++)
            {
                Assert.Equal(mean[c], m[c], 3);
                Assert.Equal(variance[c], v[c], Math.Max(1e-3, 1e-3 * variance[c]));
            }
        }
        // The pruned model alone does not have those statistics (so the test can fail).
        var shifted = BatchNormReinsertion.LayerStatistics(pruned, data, samples: 128);
        Assert.Contains(targets, p => shifted[p.Key].Mean.Zip(p.Value.Item1).Any(q => Math.Abs(q.First - q.Second) > 1e-2));
    }
}
