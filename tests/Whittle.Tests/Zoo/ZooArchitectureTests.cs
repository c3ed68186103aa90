using System.Text.Json;
using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Zoo;

namespace Whittle.Tests.Zoo;

public class ZooArchitectureTests
{
    /// <summary>
    /// Parameter counts PyTorch reports for the same architectures (trainable parameters, then
    /// BatchNorm running mean + variance elements), from tests/fixtures/zoo_param_counts.py:
    /// <code>
    /// mlp                                           trainable   235,146  BN buffers      0
    /// lenet5                                        trainable    61,706  BN buffers      0
    /// lenet5-32x32                                  trainable    61,706  BN buffers      0
    /// convnet                                       trainable   468,010  BN buffers    384
    /// resnet-cifar                                  trainable   272,186  BN buffers  1,568
    /// resnet-cifar-8                                trainable    77,754  BN buffers    672
    /// resnet-cifar-14                               trainable   174,970  BN buffers  1,120
    /// resnet-cifar-20-3x32x32-width32-classes100    trainable 1,096,196  BN buffers  3,136
    /// mobilenetv2                                   trainable   231,434  BN buffers  8,448
    /// mobilenetv2-width0.5                          trainable    77,642  BN buffers  4,752
    /// mobilenetv2-width1.4                          trainable   442,810  BN buffers 11,968
    /// </code>
    /// By hand for two of them: LeNet-5 = conv1 6*1*25+6 (156) + conv2 16*6*25+16 (2,416) + fc1
    /// 400*120+120 (48,120) + fc2 120*84+84 (10,164) + fc3 84*10+10 (850) = 61,706. ConvNet = convs
    /// 9*(1*32 + 32*32 + 32*64 + 64*64) (64,800) + BN 2*(32+32+64+64) (384) + fc1 3136*128+128
    /// (401,536) + fc2 128*10+10 (1,290) = 468,010, plus 384 running statistics.
    /// </summary>
    public static TheoryData<string, long, long> ReferenceCounts => new()
    {
        { "mlp", 235_146, 0 },
        { "lenet5", 61_706, 0 },
        { "lenet5-32x32", 61_706, 0 },
        { "convnet", 468_010, 384 },
        { "resnet-cifar", 272_186, 1_568 },
        { "resnet-cifar-8", 77_754, 672 },
        { "resnet-cifar-14", 174_970, 1_120 },
        { "resnet-cifar-20-3x32x32-width32-classes100", 1_096_196, 3_136 },
        { "mobilenetv2", 231_434, 8_448 },
        { "mobilenetv2-width0.5", 77_642, 4_752 },
        { "mobilenetv2-width1.4", 442_810, 11_968 },
    };

    /// <summary>The Zoo model that each entry of the reference script stands for.</summary>
    private static OnnxModel CreateReference(string key) => key switch
    {
        "mlp" => Mlp.Create(),
        "lenet5" => LeNet5.Create(),
        "lenet5-32x32" => LeNet5.Create(new LeNet5Options(inputShape: [1, 32, 32])),
        "convnet" => ConvNet.Create(),
        "resnet-cifar" => ResNetCifar.Create(),
        "resnet-cifar-8" => ResNetCifar.Create(new ResNetCifarOptions(depth: 8)),
        "resnet-cifar-14" => ResNetCifar.Create(new ResNetCifarOptions(depth: 14)),
        // Through the registry, so that --width and --input-shape are covered too.
        "resnet-cifar-20-3x32x32-width32-classes100" =>
            ModelZoo.Create("ResNet-CIFAR", new ZooModelSettings(classes: 100, inputShape: [3, 32, 32], width: 2.0, depth: 20)),
        "mobilenetv2" => MobileNetV2.Create(),
        "mobilenetv2-width0.5" => MobileNetV2.Create(new MobileNetV2Options(widthMultiplier: 0.5)),
        "mobilenetv2-width1.4" => ModelZoo.Create("mobilenetv2", new ZooModelSettings(width: 1.4)),
        _ => throw new ArgumentException(key),
    };

    private static readonly string[] AllNames = ModelZoo.Architectures.Select(a => a.Name).ToArray();

    // The image and feature models; text and recommender models have their own tests (TextAndRecommenderZooTests).
    private static readonly string[] FeatureNames = ModelZoo.Architectures.Where(a => a.InputKind == ZooInputKind.Features).Select(a => a.Name).ToArray();

    public static TheoryData<string> ArchitectureNames => new(FeatureNames);

    [Theory]
    [MemberData(nameof(ArchitectureNames))]
    public void DefaultModelValidatesAndRunsInOnnxRuntimeForBatchesOfTwoAndFive(string name)
    {
        var model = ModelZoo.Create(name);
        var validation = model.Validate();
        Assert.True(validation.IsValid, string.Join("; ", validation.Errors));
        Assert.Empty(validation.Warnings);
        Assert.Equal(OnnxGraphBuilder.Opset, model.GetOpset());
        Assert.Equal(OnnxGraphBuilder.IrVersion, model.IrVersion);
        Assert.Equal(name, model.Metadata[ZooDefaults.ArchitectureMetadataKey]);

        using var session = new OnnxRuntimeSession(model);
        var input = Assert.Single(session.Inputs);
        Assert.Equal(ZooDefaults.InputName, input.Name);
        Assert.Equal(new long[] { -1, 1, 28, 28 }, input.Shape);
        Assert.Equal(ZooDefaults.OutputName, Assert.Single(session.Outputs).Name);
        foreach (var batch in new[] { 2, 5 })
        {
            var logits = session.Run(session.SampleInput(input, batch, seed: batch));
            Assert.Equal(new long[] { batch, ZooDefaults.Classes }, logits.Shape);
            Assert.All(logits.AsFloats(), v => Assert.True(float.IsFinite(v)));
            // Different images must give different logits, or the graph ignores its input.
            var rows = logits.AsFloats().Chunk(ZooDefaults.Classes).ToList();
            Assert.NotEqual(rows[0], rows[1]);
        }
    }

    [Theory]
    [MemberData(nameof(ReferenceCounts))]
    public void ParameterCountsEqualPyTorchs(string key, long trainable, long batchNormBuffers)
    {
        var model = CreateReference(key);
        var floats = model.Graph.Initializers.Where(t => t.DataType == OnnxDataType.Float).ToList();
        bool IsRunningStatistic(OnnxTensor t) => t.Name.EndsWith(".running_mean", StringComparison.Ordinal) || t.Name.EndsWith(".running_var", StringComparison.Ordinal);
        Assert.Equal(trainable, floats.Where(t => !IsRunningStatistic(t)).Sum(t => t.ElementCount));
        Assert.Equal(batchNormBuffers, floats.Where(IsRunningStatistic).Sum(t => t.ElementCount));
        // Every float initializer is a weight (no scalar constants hidden among them).
        Assert.Equal(trainable + batchNormBuffers, Whittle.Evaluation.ModelSizeReport.Measure(model).Parameters);
    }

    /// <summary>
    /// Initializer names and shapes equal the PyTorch state_dict of the same module (written by
    /// tests/fixtures/zoo_param_counts.py), so later tools show the names people know.
    /// </summary>
    [Theory]
    [MemberData(nameof(ReferenceCounts))]
    public void InitializerNamesAndShapesEqualThePyTorchStateDict(string key, long trainable, long batchNormBuffers)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixtures, "zoo_param_counts.json")));
        var reference = json.RootElement.GetProperty("architectures").GetProperty(key);
        Assert.Equal(trainable, reference.GetProperty("trainable").GetInt64());
        Assert.Equal(batchNormBuffers, reference.GetProperty("float_buffers").GetInt64());
        var expected = reference.GetProperty("state_dict").EnumerateArray().Select(e => e.GetString()!).Order(StringComparer.Ordinal).ToList();
        var actual = CreateReference(key).Graph.Initializers
            .Where(t => t.DataType == OnnxDataType.Float)
            .Select(t => $"{t.Name} {string.Join("x", t.Dims)}")
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(ArchitectureNames))]
    public void SameSeedGivesByteIdenticalModelsAndAnotherSeedOtherWeights(string name)
    {
        var first = ModelZoo.Create(name, new ZooModelSettings(seed: 42)).ToBytes();
        var again = ModelZoo.Create(name, new ZooModelSettings(seed: 42)).ToBytes();
        Assert.Equal(first, again);

        var a = ModelZoo.Create(name, new ZooModelSettings(seed: 42));
        var b = ModelZoo.Create(name, new ZooModelSettings(seed: 43));
        foreach (var weight in a.Graph.Initializers.Where(t => t.Name.EndsWith(".weight", StringComparison.Ordinal) && !IsBatchNormScale(a, t.Name)))
        {
            var other = b.Graph.FindInitializer(weight.Name)!;
            Assert.NotEqual(weight.ToFloatArray(), other.ToFloatArray());
        }
    }

    [Fact]
    public void DefaultSeedIsZeroAndRecordedInTheMetadata()
    {
        var model = ConvNet.Create();
        Assert.Equal("0", model.Metadata[ZooDefaults.SeedMetadataKey]);
        Assert.Equal(model.ToBytes(), ConvNet.Create(new ConvNetOptions(seed: 0)).ToBytes());
        Assert.Equal("7", ConvNet.Create(new ConvNetOptions(seed: 7)).Metadata[ZooDefaults.SeedMetadataKey]);
    }

    /// <summary>
    /// PyTorch's default for Conv and Linear, kaiming_uniform(a = sqrt 5), is U(-1/sqrt(fan_in),
    /// 1/sqrt(fan_in)); biases use the same bound. The draws must also fill that range, not a
    /// narrower one.
    /// </summary>
    [Theory]
    [MemberData(nameof(ArchitectureNames))]
    public void ConvAndLinearWeightsAreWithinTheKaimingUniformBound(string name)
    {
        var model = ModelZoo.Create(name);
        int checkedTensors = 0;
        foreach (var node in model.Graph.Nodes.Where(n => n.OpType is "Conv" or "Gemm"))
        {
            var weight = model.Graph.FindInitializer(node.Inputs[1])!;
            long fanIn = weight.Dims.Skip(1).Aggregate(1L, (x, y) => x * y);
            float bound = (float)(1.0 / Math.Sqrt(fanIn));
            var values = weight.ToFloatArray();
            Assert.All(values, v => Assert.InRange(v, -bound, bound));
            if (values.Length >= 100)
                Assert.True(values.Max(Math.Abs) > 0.9f * bound, $"{weight.Name}: largest |w| {values.Max(Math.Abs)} is far below the bound {bound}");
            if (node.Inputs.Count > 2)
                Assert.All(model.Graph.FindInitializer(node.Inputs[2])!.ToFloatArray(), v => Assert.InRange(v, -bound, bound));
            checkedTensors++;
        }
        Assert.True(checkedTensors >= 3);
    }

    [Fact]
    public void ResNetDepthMustBeSixNPlusTwo()
    {
        var e = Assert.Throws<InvalidOptionException>(() => new ResNetCifarOptions(depth: 10));
        Assert.Equal("Depth", e.Option);
        Assert.StartsWith("Depth must be 6n+2 (8, 14, 20, ", e.Message);
        Assert.EndsWith(", got 10", e.Message);
        Assert.Throws<InvalidOptionException>(() => new ResNetCifarOptions(depth: 2));
        Assert.Throws<InvalidOptionException>(() => ModelZoo.Create("resnet-cifar", new ZooModelSettings(depth: 21)));
        foreach (var depth in new[] { 8, 14, 20, 32 }) Assert.Equal((depth - 2) / 6, new ResNetCifarOptions(depth: depth).BlocksPerStage);
    }

    [Fact]
    public void ResNetHasResidualAddsAndProjectionShortcutsOnlyWhereTheShapeChanges()
    {
        var model = ResNetCifar.Create();
        var ops = model.Graph.OpHistogram();
        Assert.Equal(9, ops["Add"]);
        Assert.Equal(19 + 2, ops["Conv"]);
        Assert.Equal(ops["Conv"], ops["BatchNormalization"]);
        var projections = model.Graph.Nodes.Where(n => n.OpType == "Conv" && n.Name.EndsWith(".downsample.0", StringComparison.Ordinal)).ToList();
        Assert.Equal(["layer2.0.downsample.0", "layer3.0.downsample.0"], projections.Select(n => n.Name));
        Assert.All(projections, n =>
        {
            Assert.Equal([1L, 1L], n.GetInts("kernel_shape")!);
            Assert.Equal([2L, 2L], n.GetInts("strides")!);
        });
        // An identity block adds its own input: layer1.1's Add reads layer1.0's output.
        var add = model.Graph.FindNode("layer1.1.add")!;
        Assert.Contains("layer1.0.relu_1", add.Inputs);
    }

    [Fact]
    public void MobileNetV2HasDepthwiseConvolutionsAndResidualAdds()
    {
        var model = MobileNetV2.Create();
        var depthwise = model.Graph.Nodes.Where(n => n.OpType == "Conv" && n.GetInt("group", 1) > 1).ToList();
        // One depthwise convolution per inverted-residual block: 1 + 2 + 3 + 2 + 1.
        Assert.Equal(9, depthwise.Count);
        foreach (var conv in depthwise)
        {
            var weight = model.Graph.FindInitializer(conv.Inputs[1])!;
            long channels = weight.Dims[0];
            Assert.Equal(channels, conv.GetInt("group"));
            Assert.Equal([channels, 1, 3, 3], weight.Dims);
            // The input has as many channels as there are groups: it is the ReLU6 ("...2") after a BatchNorm ("...1").
            Assert.EndsWith(".2", conv.Inputs[0]);
            var producerBn = model.Graph.FindInitializer(conv.Inputs[0][..^".2".Length] + ".1.running_mean")!;
            Assert.Equal(channels, producerBn.Dims[0]);
        }
        Assert.Contains(depthwise, n => n.GetInts("strides")![0] == 2);
        // Residual Adds where stride is 1 and channels stay: the 2nd block of the 24, 32 (twice) and 64 groups.
        var adds = model.Graph.Nodes.Where(n => n.OpType == "Add").Select(n => n.Name).ToList();
        Assert.Equal(["features.3.add", "features.5.add", "features.6.add", "features.8.add"], adds);
        // ReLU6 after the stem, after each expansion (8 blocks have one) and depthwise convolution (9), and after the last convolution.
        Assert.Equal(1 + 8 + 9 + 1, model.Graph.OpHistogram()["Clip"]);
        var clip = model.Graph.Nodes.First(n => n.OpType == "Clip");
        Assert.Equal(3, clip.Inputs.Count);
    }

    [Fact]
    public void MobileNetV2ChannelRoundingMatchesTorchvision()
    {
        // torchvision's _make_divisible: nearest multiple of 8, at least 8, never 10 % below.
        Assert.Equal(32, MobileNetV2.MakeDivisible(32));
        Assert.Equal(8, MobileNetV2.MakeDivisible(16 * 0.5));
        Assert.Equal(16, MobileNetV2.MakeDivisible(24 * 0.5));
        Assert.Equal(8, MobileNetV2.MakeDivisible(16 * 0.35));
        Assert.Equal(48, MobileNetV2.MakeDivisible(32 * 1.4));
        Assert.Equal(136, MobileNetV2.MakeDivisible(96 * 1.4));
        Assert.Equal(16, MobileNetV2.MakeDivisible(11.9)); // the nearest multiple, 8, would be 33 % below
    }

    [Fact]
    public void LeNet5TakesTwentyEightOrThirtyTwoPixelImages()
    {
        var padded = LeNet5.Create().Graph.FindNode("conv1")!;
        Assert.Equal([2L, 2, 2, 2], padded.GetInts("pads")!);
        var original = LeNet5.Create(new LeNet5Options(inputShape: [3, 32, 32])).Graph.FindNode("conv1")!;
        Assert.Equal([0L, 0, 0, 0], original.GetInts("pads")!);
        var e = Assert.Throws<InvalidOptionException>(() => new LeNet5Options(inputShape: [1, 30, 30]));
        Assert.Contains("28x28 or 32x32", e.Message);
        using var session = new OnnxRuntimeSession(LeNet5.Create(new LeNet5Options(inputShape: [3, 32, 32], classes: 4)));
        Assert.Equal(new long[] { 2, 4 }, session.Run(session.SampleInput(session.Inputs[0], 2)).Shape);
    }

    [Fact]
    public void MlpFlattensImagesAndAcceptsFeatureVectors()
    {
        var image = Mlp.Create();
        Assert.Equal(1, image.Graph.OpHistogram()["Flatten"]);
        Assert.Equal(784, new MlpOptions().InputFeatures);
        var vector = Mlp.Create(new MlpOptions(inputShape: [20], hiddenSizes: [16], classes: 3, dropout: 0));
        Assert.False(vector.Graph.OpHistogram().ContainsKey("Flatten"));
        Assert.False(vector.Graph.OpHistogram().ContainsKey("Dropout"));
        Assert.Equal(20 * 16 + 16 + 16 * 3 + 3, vector.Graph.Initializers.Sum(t => t.ElementCount));
        var linear = Mlp.Create(new MlpOptions(hiddenSizes: []));
        Assert.Equal("fc1", Assert.Single(linear.Graph.Nodes, n => n.OpType == "Gemm").Name);
        using var session = new OnnxRuntimeSession(vector);
        Assert.Equal(new long[] { 5, 3 }, session.Run(session.SampleInput(session.Inputs[0], 5)).Shape);
    }

    [Fact]
    public void ConvNetOptionsShapeTheNetwork()
    {
        var model = ConvNet.Create(new ConvNetOptions(channels: [8, 16, 32], convolutionsPerBlock: 1, pooling: BlockPooling.Average,
            hiddenFeatures: 0, dropout: 0.5f, classes: 7));
        var ops = model.Graph.OpHistogram();
        Assert.Equal(3, ops["Conv"]);
        Assert.Equal(3, ops["AveragePool"]);
        Assert.Equal(1, ops["Gemm"]);
        Assert.Equal([7L, 32 * 3 * 3], model.Graph.FindInitializer("fc.weight")!.Dims);
        using var session = new OnnxRuntimeSession(model);
        Assert.Equal(new long[] { 2, 7 }, session.Run(session.SampleInput(session.Inputs[0], 2)).Shape);

        Assert.Throws<InvalidOptionException>(() => new ConvNetOptions(channels: [8, 8, 8, 8, 8, 8]));
        Assert.NotNull(new ConvNetOptions(channels: [8, 8, 8, 8, 8, 8], pooling: BlockPooling.None));
        Assert.Throws<InvalidOptionException>(() => new ConvNetOptions(dropout: 1f));
        Assert.Throws<InvalidOptionException>(() => new ConvNetOptions(convolutionsPerBlock: 0));
        Assert.Throws<InvalidOptionException>(() => new ConvNetOptions(channels: [16, 0]));
        Assert.Throws<InvalidOptionException>(() => new ConvNetOptions(inputShape: [28, 28]));
        Assert.Throws<InvalidOptionException>(() => new ConvNetOptions(classes: 1));
    }

    [Fact]
    public void RegistryListsCreatesByNameAndRejectsSettingsAnArchitectureLacks()
    {
        Assert.Equal(["mlp", "lenet5", "convnet", "resnet-cifar", "mobilenetv2", "textcnn", "transformer", "fasttext", "mf", "ncf"], AllNames);
        Assert.All(ModelZoo.Architectures, a => Assert.False(string.IsNullOrWhiteSpace(a.Description)));
        Assert.True(ModelZoo.TryGet("LeNet5", out var lenet));
        Assert.Equal("lenet5", lenet.Name);
        Assert.False(ModelZoo.TryGet("vgg16", out _));
        var unknown = Assert.Throws<ArgumentException>(() => ModelZoo.Create("vgg16"));
        Assert.Contains("mlp, lenet5, convnet, resnet-cifar, mobilenetv2", unknown.Message);

        Assert.Contains("width", Assert.Throws<InvalidOptionException>(() => ModelZoo.Create("lenet5", new ZooModelSettings(width: 2))).Message);
        Assert.Contains("depth", Assert.Throws<InvalidOptionException>(() => ModelZoo.Create("mobilenetv2", new ZooModelSettings(depth: 20))).Message);
        Assert.NotNull(ModelZoo.Get("resnet-cifar").DepthMeaning);
        Assert.Null(ModelZoo.Get("convnet").DepthMeaning);

        var resnet8 = ModelZoo.Create("resnet-cifar", new ZooModelSettings(depth: 8, classes: 3));
        Assert.Equal(3, resnet8.Graph.OpHistogram()["Add"]);
        Assert.Equal([3L, 64], resnet8.Graph.FindInitializer("fc.weight")!.Dims);
        var halfMlp = ModelZoo.Create("mlp", new ZooModelSettings(width: 0.5));
        Assert.Equal([128L, 784], halfMlp.Graph.FindInitializer("fc1.weight")!.Dims);
        var wideConvNet = ModelZoo.Create("convnet", new ZooModelSettings(width: 0.25, inputShape: [3, 32, 32]));
        Assert.Equal([8L, 3, 3, 3], wideConvNet.Graph.FindInitializer("block1.conv1.weight")!.Dims);
        Assert.Equal([128L, 16 * 8 * 8], wideConvNet.Graph.FindInitializer("fc1.weight")!.Dims);
    }

    [Fact]
    public void SettingsAreValidatedWhenMade()
    {
        Assert.Throws<InvalidOptionException>(() => new ZooModelSettings(classes: 1));
        Assert.Throws<InvalidOptionException>(() => new ZooModelSettings(width: 0));
        Assert.Throws<InvalidOptionException>(() => new ZooModelSettings(width: double.NaN));
        Assert.Throws<InvalidOptionException>(() => new ZooModelSettings(depth: -2));
        Assert.Throws<InvalidOptionException>(() => new ZooModelSettings(inputShape: [1, 0, 28]));
        Assert.Throws<InvalidOptionException>(() => new MobileNetV2Options(widthMultiplier: -1));
        Assert.Throws<InvalidOptionException>(() => new MobileNetV2Options(blocks: [new InvertedResidualSetting(6, 24, 2, 3)]));
        Assert.Throws<InvalidOptionException>(() => new ResNetCifarOptions(baseWidth: 0));
        Assert.Throws<InvalidOptionException>(() => new MlpOptions(dropout: -0.1f));
    }

    private static bool IsBatchNormScale(OnnxModel model, string initializer) =>
        model.Graph.FindConsumers(initializer).Any(n => n.OpType is "BatchNormalization" or "LayerNormalization");
}
