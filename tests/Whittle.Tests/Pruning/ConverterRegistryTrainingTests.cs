using Whittle.Data;
using Whittle.Engine;
using Whittle.Onnx;
using Whittle.Pruning;
using Whittle.Tests.Training;
using Whittle.Training;
using Whittle.Zoo;
using static TorchSharp.torch;

namespace Whittle.Tests.Pruning;

/// <summary>
/// A converter the user registers reaches every place that builds an Engine module internally:
/// pruning fine-tuning (unstructured, N:M, structured) and Taylor gradients.
/// </summary>
[Collection(TorchCollection.Name)]
public class ConverterRegistryTrainingTests
{
    /// <summary>y = x·sigmoid(x), an operator of a made-up domain that only this converter knows.</summary>
    [OnnxOp("com.example", "Swish", 1)]
    private sealed class SwishConverter : IOpConverter
    {
        private int _forwards;

        public int Forwards => Volatile.Read(ref _forwards);

        public IOpKernel Compile(OpContext context) => LambdaKernel.Single(inputs =>
        {
            Interlocked.Increment(ref _forwards);
            var x = inputs[0]!;
            return x * sigmoid(x);
        });
    }

    /// <summary>Whittle's Relu, counting how often it runs (it replaces the built-in one).</summary>
    [OnnxOp("Relu", 1)]
    [OnnxOp("Relu", 6)]
    [OnnxOp("Relu", 13)]
    [OnnxOp("Relu", 14)]
    private sealed class CountingReluConverter : IOpConverter
    {
        private int _forwards;

        public int Forwards => Volatile.Read(ref _forwards);

        public IOpKernel Compile(OpContext context) => LambdaKernel.Single(inputs =>
        {
            Interlocked.Increment(ref _forwards);
            return nn.functional.relu(inputs[0]!);
        });
    }

    /// <summary>An MLP whose Relus are replaced by com.example.Swish nodes: ONNX Runtime cannot run it, the user's Engine can.</summary>
    private static OnnxModel MlpWithSwish()
    {
        var model = Mlp.Create(new MlpOptions(inputShape: [8], hiddenSizes: [32, 16], classes: 3, dropout: 0, seed: 5));
        model.SetOpset("com.example", 1);
        var relus = model.Graph.Nodes.Where(n => n.OpType == "Relu").ToList();
        Assert.Equal(2, relus.Count);
        foreach (var relu in relus)
            model.Graph.ReplaceNode(relu, new OnnxNode("Swish", relu.Inputs, relu.Outputs, relu.Name, "com.example"));
        return model;
    }

    private static TrainerOptions Trainer(int epochs) =>
        new(epochs: epochs, batchSize: 32, optimizer: new AdamOptions(1e-2), restoreBestWeights: false);

    /// <summary>Accuracy of a model on data, computed by the Engine with <paramref name="registry"/>.</summary>
    private static double EngineAccuracy(OnnxModel model, TensorDataset data, OpRegistry registry)
    {
        using var module = new OnnxModule(model, registry);
        module.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var logits = module.call(tensor(data.Features.ToArray(), [data.Count, 8]));
        var predictions = logits.argmax(1).data<long>().ToArray();
        return predictions.Zip(data.Labels.ToArray()).Count(p => p.First == p.Second) / (double)data.Count;
    }

    [Fact]
    public void Without_the_users_registry_the_made_up_operator_is_reported_by_the_preflight()
    {
        var e = Assert.Throws<UnsupportedModelException>(() => UnstructuredFineTuning.Magnitude(MlpWithSwish(), new UnstructuredPruningOptions(0.5),
            new PruningScheduleOptions(PruningSchedule.OneShot), Trainer(1), TrainingTestKit.Blobs(64, seed: 1)));
        Assert.Contains(e.Problems, p => p.Contains("com.example.Swish", StringComparison.Ordinal) && p.Contains("operator not supported", StringComparison.Ordinal));
        Assert.NotEmpty(EnginePreflight.FindProblems(MlpWithSwish()));
        Assert.Empty(EnginePreflight.FindProblems(MlpWithSwish(), OpRegistry.Default.With(new SwishConverter())));
    }

    [Fact]
    public void Magnitude_fine_tuning_trains_through_the_users_converter()
    {
        var swish = new SwishConverter();
        var registry = OpRegistry.Default.With(swish);
        var train = TrainingTestKit.Blobs(256, seed: 1);
        var model = MlpWithSwish();
        double before = EngineAccuracy(model, train, registry);
        int beforeForwards = swish.Forwards;

        var result = UnstructuredFineTuning.Magnitude(model, new UnstructuredPruningOptions(0.5), new PruningScheduleOptions(PruningSchedule.OneShot),
            Trainer(3), train, registry: registry);

        // 8 steps per epoch, two Swish nodes: the kernel ran in every training forward pass.
        Assert.True(swish.Forwards - beforeForwards >= 3 * 8 * 2, $"{swish.Forwards - beforeForwards} forward passes");
        Assert.Equal(2, result.Model.Graph.Nodes.Count(n => n.Domain == "com.example" && n.OpType == "Swish"));
        double after = EngineAccuracy(result.Model, train, registry);
        Assert.True(after > 0.9 && after > before, $"accuracy {before} -> {after}");
        foreach (var (name, mask) in result.Masks.Masks)
        {
            var values = result.Model.Graph.FindInitializer(name)!.ToFloatArray();
            for (int i = 0; i < mask.Length; i++) if (!mask[i]) Assert.Equal(0f, values[i]);
        }
    }

    [Fact]
    public void NM_fine_tuning_and_taylor_gradients_use_the_users_converter()
    {
        var swish = new SwishConverter();
        var registry = OpRegistry.Default.With(swish);
        var train = TrainingTestKit.Blobs(64, seed: 2);

        var nm = UnstructuredFineTuning.NM(MlpWithSwish(), new NmSparsityOptions(2, 4), Trainer(1), train, registry: registry);
        Assert.NotNull(nm.Training);
        Assert.True(swish.Forwards >= 2 * 2, $"{swish.Forwards} forward passes");

        int beforeGradients = swish.Forwards;
        var gradients = TaylorGradients.Accumulate(MlpWithSwish(), train, batches: 2, batchSize: 32, registry: registry);
        Assert.Equal(beforeGradients + 2 * 2, swish.Forwards);
        // The loss reaches the first layer only through the Swish nodes' backward pass.
        var first = PrunableWeight.Find(MlpWithSwish()).First().Initializer;
        Assert.Contains(gradients[first], g => g != 0f);
    }

    [Fact]
    public void Structured_fine_tuning_and_its_taylor_importance_build_modules_with_the_users_registry()
    {
        // The user's registry: Whittle's converters with its own Relu in place of the built-in one.
        var builtInRelu = OpRegistry.Default.Resolve("", "Relu", 17)!.Value.Converter;
        var relu = new CountingReluConverter();
        var registry = new OpRegistry(OpRegistry.Default.Converters.Where(c => !ReferenceEquals(c, builtInRelu)).Append(relu));
        Assert.Same(relu, registry.Resolve("", "Relu", 17)!.Value.Converter);

        var model = Mlp.Create(new MlpOptions(inputShape: [8], hiddenSizes: [32], classes: 3, dropout: 0, seed: 5));
        var train = TrainingTestKit.Blobs(64, seed: 3);
        var result = StructuredFineTuning.Run(model, new ChannelPruningOptions(0.25, ImportanceCriterion.Taylor), new PruningScheduleOptions(PruningSchedule.OneShot),
            Trainer(1), train, registry: registry);

        // Taylor gradients: 1 batch of 64 (batch size 64 by default); fine-tuning: 2 steps of 32.
        Assert.True(relu.Forwards >= 3, $"{relu.Forwards} forward passes");
        Assert.True(result.Plans[0].ChannelsRemoved > 0);
        Assert.Single(result.Training);
    }
}
