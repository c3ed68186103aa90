using Whittle.Onnx;
using Whittle.Pruning;
using Whittle.Runtime;
using Whittle.Zoo;

namespace Whittle.Tests.Pruning;

public class ChannelPruningTests
{
    public static TheoryData<string> Patterns => new() { "bn", "residual", "concat-split", "depthwise", "flatten-gemm", "matmul" };

    internal static OnnxModel Pattern(string name)
    {
        switch (name)
        {
            case "bn":
            {
                var k = new PruningGraphKit(1, [1, 2, 8, 8]);
                var x = k.Relu(k.BatchNorm(k.Conv("input", "c1", 2, 12), "b1", 12));
                x = k.Relu(k.BatchNorm(k.Conv(x, "c2", 12, 10, bias: false), "b2", 10));
                return k.Build(k.Gemm(k.Flatten(k.GlobalAveragePool(x)), "fc", 10, 5), 5);
            }
            case "residual":
                return PruningGraphKit.RandomizeBatchNorms(ResNetCifar.Create(new ResNetCifarOptions(depth: 14, baseWidth: 4, inputShape: [1, 12, 12], classes: 5, seed: 2)), 2);
            case "concat-split":
            {
                var k = new PruningGraphKit(3, [1, 2, 6, 6]);
                var a = k.Relu(k.Conv("input", "a", 2, 6));
                var b = k.Relu(k.BatchNorm(k.Conv("input", "b", 2, 4, bias: false), "bnb", 4));
                var joined = k.Relu(k.Concat(a, b));
                var parts = k.Split(k.Concat(joined, k.Relu(k.Conv("input", "c", 2, 6))), [10, 6]);
                var left = k.Conv(parts[0], "d", 10, 8);
                var right = k.Conv(parts[1], "e", 6, 8);
                var x = k.Relu(k.Add(left, right));
                return k.Build(k.Gemm(k.Flatten(k.GlobalAveragePool(x)), "fc", 8, 3), 3);
            }
            case "depthwise":
                return PruningGraphKit.RandomizeBatchNorms(MobileNetV2.Create(new MobileNetV2Options(widthMultiplier: 0.25, inputShape: [1, 16, 16], classes: 4, seed: 4)), 4);
            case "flatten-gemm":
            {
                var k = new PruningGraphKit(5, [1, 1, 8, 8]);
                var x = k.MaxPool(k.Relu(k.BatchNorm(k.Conv("input", "c1", 1, 8), "b1", 8)));
                x = k.Relu(k.Conv(x, "c2", 8, 6));
                var f = k.Relu(k.Gemm(k.Flatten(x), "fc1", 6 * 16, 12));
                var r = k.Relu(k.Gemm(k.Reshape(k.Relu(k.Conv(x, "c3", 6, 4)), [0, -1]), "fc2", 4 * 16, 12));
                return k.Build(k.Gemm(k.Add(f, r), "fc3", 12, 3), 3);
            }
            case "matmul":
                return Mlp.Create(new MlpOptions(inputShape: [2, 3, 3], hiddenSizes: [16, 8], classes: 3, dropout: 0.1f, seed: 6));
            default:
                throw new ArgumentException(name);
        }
    }

    [Theory]
    [MemberData(nameof(Patterns))]
    public void Removing_dead_channels_leaves_the_outputs_unchanged(string pattern)
    {
        var model = Pattern(pattern);
        var (dead, killed) = PruningGraphKit.KillChannels(model, 0.5, seed: 11);
        Assert.NotEmpty(killed);
        var plan = ChannelPruner.Plan(dead, new ChannelPruningOptions(0.5, ImportanceCriterion.L1));
        // L1 ranks the zeroed channels last, so the plan removes exactly them.
        foreach (var (group, channels) in killed) Assert.Equal(channels, plan.Groups[group].Removed);
        Assert.Equal(killed.Values.Sum(c => c.Length), plan.ChannelsRemoved);
        var pruned = ChannelRemoval.Apply(dead, plan);
        Assert.True(plan.ParametersAfter < plan.ParametersBefore);
        Assert.Equal(plan.ParametersAfter, Whittle.Evaluation.ModelSizeReport.Measure(pruned).Parameters);
        Assert.True(plan.MacsAfter < plan.MacsBefore);
        double diff = ChannelRemoval.Verify(dead, pruned, batchSize: 3);
        Assert.True(diff <= 1e-5, $"{pattern}: max |Δ| {diff}");
        // Control: the same removal on the live model changes the outputs, so the comparison can fail.
        var live = ChannelRemoval.Apply(model, ChannelPruner.Plan(model, new ChannelPruningOptions(0.5, ImportanceCriterion.L1)));
        double control = ChannelRemoval.Verify(model, live, batchSize: 3);
        Assert.True(control > 1e-3, $"control {control}");
        // And the dead model was not modified.
        Assert.Equal(plan.ParametersBefore, Whittle.Evaluation.ModelSizeReport.Measure(dead).Parameters);
    }

    [Fact]
    public void Residual_branches_and_concat_offsets_form_the_expected_groups()
    {
        var plan = ChannelPruner.Plan(Pattern("residual"), new ChannelPruningOptions(0.5));
        // Stage 1 of a ResNet-14 without a downsample: the stem and both blocks' conv2 are tied by the Adds.
        var stage1 = plan.Groups.Single(g => g.Members.Contains("conv1 (Conv) output channels"));
        Assert.Equal(["conv1 (Conv) output channels", "layer1.0.conv2 (Conv) output channels", "layer1.1.conv2 (Conv) output channels"], stage1.Members);
        Assert.True(stage1.Prunable);
        var stage2 = plan.Groups.Single(g => g.Members.Contains("layer2.0.downsample.0 (Conv) output channels"));
        Assert.Equal(3, stage2.Members.Count);
        Assert.Contains(plan.LeftUnpruned, u => u.Where.StartsWith("fc (Gemm)", StringComparison.Ordinal) && u.Reason.Contains("graph output", StringComparison.Ordinal));

        var concat = ChannelPruner.Plan(Pattern("concat-split"), new ChannelPruningOptions(0.5));
        Assert.All(concat.Groups.Where(g => g.Members.Any(m => m.StartsWith("a ", StringComparison.Ordinal) || m.StartsWith("c ", StringComparison.Ordinal))), g => Assert.True(g.Prunable));
        Assert.Contains(concat.Edits, e => e.StartsWith("split", StringComparison.Ordinal));
    }

    [Fact]
    public void Groups_whose_kept_width_misses_a_runtime_block_are_listed()
    {
        var plan = ChannelPruner.Plan(Pattern("residual"), new ChannelPruningOptions(0.5));
        var pruned = plan.Groups.Where(g => g.Prunable && g.Removed.Count > 0).ToList();
        Assert.NotEmpty(pruned);
        // Block 1 divides every width; a block larger than every kept width lists every pruned group.
        Assert.Empty(plan.GroupsNotMultipleOf(1));
        int wide = pruned.Max(g => g.Kept.Count) + 1;
        Assert.Equal(pruned.Select(g => g.Id), plan.GroupsNotMultipleOf(wide).Select(g => g.Id));
        // Exactly the groups whose kept count the block does not divide.
        foreach (int block in new[] { 2, 4, 8, 16 })
            Assert.Equal(pruned.Where(g => g.Kept.Count % block != 0).Select(g => g.Id), plan.GroupsNotMultipleOf(block).Select(g => g.Id));
        Assert.Throws<ArgumentOutOfRangeException>(() => plan.GroupsNotMultipleOf(0));
        // Reports name a group by its width change, as the plan text does.
        var first = pruned[0];
        Assert.Equal($"group {first.Id}: {first.Channels} -> {first.Channels - first.Removed.Count}", first.WidthChange);
        Assert.Contains($"  {first.WidthChange} channels; ", plan.ToText());
    }

    [Fact]
    public void Unprovable_patterns_are_left_unpruned_and_named()
    {
        var k = new PruningGraphKit(7, [1, 2, 4, 4]);
        var x = k.Relu(k.Conv("input", "conv", 2, 8));
        var kept = k.Relu(k.Conv("input", "other", 2, 6));
        var r = k.Reshape(x, [0, 4, -1]);           // splits channels into a new axis: not a flatten
        var f = k.Flatten(k.GlobalAveragePool(kept));
        var split = k.Split(k.Conv(kept, "cut", 6, 6), [2, 4]); // cuts through one producer's channels
        var y = k.Gemm(k.Flatten(r), "fc", 8 * 16, 3);
        var z = k.Gemm(f, "fc2", 6, 3);
        var w = k.Gemm(k.Flatten(k.GlobalAveragePool(split[1])), "fc3", 4, 3);
        var model = k.Build(k.Add(k.Add(y, z), w), 3);
        var plan = ChannelPruner.Plan(model, new ChannelPruningOptions(0.5));
        Assert.Contains(plan.LeftUnpruned, u => u.Where.StartsWith("conv (Conv)", StringComparison.Ordinal) && u.Reason.Contains("Reshape to [0,4,-1] is not a provable flatten", StringComparison.Ordinal));
        Assert.Contains(plan.LeftUnpruned, u => u.Where.StartsWith("cut (Conv)", StringComparison.Ordinal) && u.Reason.Contains("split boundary falls inside", StringComparison.Ordinal));
        Assert.True(plan.Groups.Single(g => g.Members.Contains("other (Conv) output channels")).Prunable);
        Assert.Contains("unpruned: conv (Conv) output channels", plan.ToText());
        var pruned = ChannelRemoval.Apply(model, plan);
        Assert.Equal(8, pruned.Graph.FindInitializer("conv.weight")!.Dims[0]);
        Assert.Equal(3, pruned.Graph.FindInitializer("other.weight")!.Dims[0]);
        ChannelRemoval.Verify(model, pruned);
    }

    [Fact]
    public void Exclusions_rounding_and_never_a_whole_layer()
    {
        var model = Pattern("bn");
        var plan = ChannelPruner.Plan(model, new ChannelPruningOptions(0.5, roundTo: 8, exclusions: new PruningExclusions(nodeNames: ["c2"])));
        Assert.Equal(8, plan.Groups.Single(g => g.Members[0].StartsWith("c1 ", StringComparison.Ordinal)).Kept.Count); // 12 * 0.5 = 6 -> 8
        Assert.Contains(plan.LeftUnpruned, u => u.Reason.Contains("c2: excluded by name", StringComparison.Ordinal));
        var e = Assert.Throws<InvalidOptionException>(() => ChannelPruner.Plan(model, new ChannelPruningOptions(0.5, exclusions: new PruningExclusions(nodeNames: ["c9"]))));
        Assert.Equal("NodeNames", e.Option);
        Assert.Contains("'c9'", e.Message);
        // A glob excludes every layer it matches and names the rule; a glob matching nothing is an error too.
        var globbed = ChannelPruner.Plan(model, new ChannelPruningOptions(0.5, exclusions: new PruningExclusions(nodeNames: ["c?"])));
        Assert.Contains(globbed.LeftUnpruned, u => u.Reason.Contains("c1: excluded by name (c?)", StringComparison.Ordinal));
        Assert.Contains(globbed.LeftUnpruned, u => u.Reason.Contains("c2: excluded by name (c?)", StringComparison.Ordinal));
        Assert.Contains("'x*'", Assert.Throws<InvalidOptionException>(() => ChannelPruner.Plan(model, new ChannelPruningOptions(0.5, exclusions: new PruningExclusions(nodeNames: ["x*"])))).Message);
        var extreme = ChannelPruner.Plan(model, new ChannelPruningOptions(0.99, scope: MagnitudeScope.Global));
        Assert.All(extreme.Groups, g => Assert.NotEmpty(g.Kept));
    }

    [Fact]
    public void Global_scope_and_bn_importance_rank_by_normalized_scores()
    {
        var model = Pattern("residual");
        var global = ChannelPruner.Plan(model, new ChannelPruningOptions(0.5, ImportanceCriterion.BatchNormScale, MagnitudeScope.Global));
        int prunable = global.Groups.Where(g => g.Prunable).Sum(g => g.Channels);
        Assert.Equal(Sparsity.PrunedCount(prunable, 0.5), global.ChannelsRemoved);
        // BN importance: the kept channels of each group have the largest summed |gamma|.
        foreach (var g in global.Groups.Where(g => g.Prunable && g.Removed.Count > 0))
            Assert.True(g.Kept.Min(c => g.Importance[c]) >= g.Removed.Max(c => g.Importance[c]));
    }

    [Theory]
    [InlineData("pytorch_resnet_opset13.onnx")]
    [InlineData("pytorch_cnn_opset13.onnx")]
    [InlineData("fmnist_classifier.onnx")]
    public void Pytorch_exports_shrink_and_still_run(string file)
    {
        var model = OnnxModel.Load(Path.Combine(TestPaths.Fixtures, "models", file));
        var plan = ChannelPruner.Plan(model, new ChannelPruningOptions(0.5));
        var pruned = ChannelRemoval.Apply(model, plan);
        Assert.True(plan.ParametersAfter < plan.ParametersBefore * 0.6, plan.ToText());
        ChannelRemoval.Verify(model, pruned);
        Assert.Equal(plan.ParametersAfter, Whittle.Evaluation.ModelSizeReport.Measure(pruned).Parameters);
    }
}
