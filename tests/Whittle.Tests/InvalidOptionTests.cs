using Whittle.Data;
using Whittle.Pruning;
using Whittle.Quantization;
using Whittle.Runtime;
using Whittle.Training;
using Whittle.Zoo;

namespace Whittle.Tests;

/// <summary>
/// Option values out of range, NaN or contradicting each other are <see cref="InvalidOptionException"/>s
/// that name the option as the library spells it and say the bad value, in one line.
/// </summary>
public class InvalidOptionTests
{
    private static readonly Dictionary<string, Action> Cases = new()
    {
        ["adam lr NaN"] = () => _ = new AdamOptions(learningRate: double.NaN),
        ["sgd lr infinite"] = () => _ = new SgdOptions(double.PositiveInfinity),
        ["sgd momentum 1"] = () => _ = new SgdOptions(0.1, momentum: 1),
        ["sgd dampening 1.5"] = () => _ = new SgdOptions(0.1, dampening: 1.5),
        ["sgd nesterov without momentum"] = () => _ = new SgdOptions(0.1, nesterov: true),
        ["adamw weight decay negative"] = () => _ = new AdamWOptions(weightDecay: -0.1),
        ["rmsprop epsilon 0"] = () => _ = new RmsPropOptions(epsilon: 0),
        ["trainer epochs 0"] = () => _ = new TrainerOptions(epochs: 0),
        ["trainer batch size -3"] = () => _ = new TrainerOptions(epochs: 1, batchSize: -3),
        ["early stopping patience 0"] = () => _ = new EarlyStopping(patience: 0),
        ["clipping threshold infinite"] = () => _ = GradientClipping.ByNorm(double.PositiveInfinity),
        ["clipping norm type NaN"] = () => _ = GradientClipping.ByNorm(1, normType: double.NaN),
        ["plateau factor 0"] = () => _ = new ReduceOnPlateau(factor: 0),
        ["one-cycle momentum order"] = () => _ = new OneCycleSchedule(baseMomentum: 0.9, maximumMomentum: 0.5),
        ["warm-up ticks 0"] = () => _ = new LinearWarmupSchedule(0, LearningRateSchedule.Constant),
        ["cosine minimum NaN"] = () => _ = new CosineAnnealingSchedule(minimumLearningRate: double.NaN),
        ["label smoothing NaN"] = () => _ = new CrossEntropy(labelSmoothing: double.NaN),
        ["channel ratio 1"] = () => _ = new ChannelPruningOptions(1.0),
        ["channel ratio NaN"] = () => _ = new ChannelPruningOptions(double.NaN),
        ["channel round-to 0"] = () => _ = new ChannelPruningOptions(0.5, roundTo: 0),
        ["channel importance 7"] = () => _ = new ChannelPruningOptions(0.5, (ImportanceCriterion)7),
        ["n:m 4:4"] = () => _ = new NmSparsityOptions(4, 4),
        ["agp end 0"] = () => _ = new PruningScheduleOptions(PruningSchedule.Agp, agpEndFraction: 0),
        ["exclusion blank"] = () => _ = new PruningExclusions(nodeNames: [" "]),
        ["layer cap 1.5"] = () => _ = new UnstructuredPruningOptions(0.5, layerCaps: new Dictionary<string, double> { ["fc1"] = 1.5 }),
        ["calibration samples 0"] = () => new StaticQuantizationOptions(calibrationSamples: 0),
        ["percentile NaN"] = () => new StaticQuantizationOptions(percentile: double.NaN),
        ["activation type int4"] = () => new StaticQuantizationOptions(activationType: QuantizationType.UInt4),
        ["dynamic exclusion blank"] = () => _ = new DynamicQuantizationOptions(exclude: [""]),
        ["int4 accuracy level 9"] = () => _ = new Int4QuantizationOptions(accuracyLevel: (Int4AccuracyLevel)9),
        ["intra-op threads -1"] = () => new RuntimeOptions(intraOpThreads: -1),
        ["benchmark runs 0"] = () => new LatencyBenchmarkOptions(runs: 0),
        ["tokenizer max size 2"] = () => _ = new TokenizerOptions(maxSize: 2),
        ["synthetic density 0.6"] = () => _ = new SyntheticRecsysOptions(density: 0.6),
        ["mlp dropout -0.1"] = () => _ = new MlpOptions(dropout: -0.1f),
        ["zoo width NaN"] = () => _ = new ZooModelSettings(width: double.NaN),
        ["zoo classes 1"] = () => _ = new ZooModelSettings(classes: 1),
        ["transformer heads"] = () => _ = new TransformerClassifierOptions(modelDim: 10, heads: 4),
        ["lenet width"] = () => ModelZoo.Create("lenet5", new ZooModelSettings(width: 2)),
        ["recovery alpha 1.5"] = () => _ = new Whittle.Distillation.RecoveryOptions(alpha: 1.5),
        ["recovery teacher model missing"] = () => _ = new Whittle.Distillation.RecoveryOptions(teacher: Whittle.Distillation.TeacherChoice.Model),
        ["distill alpha 0"] = () => _ = new Whittle.Distillation.ModelDistillationOptions(alpha: 0),
        ["distill temperature 0"] = () => _ = new Whittle.Distillation.ModelDistillationOptions(temperature: 0),
        ["global ranking undefined"] = () => _ = new UnstructuredPruningOptions(0.5, ranking: (GlobalRanking)7),
        ["iterative without trainer"] = () => UnstructuredFineTuning.Magnitude(SmallMlp(), new UnstructuredPruningOptions(0.5),
            new PruningScheduleOptions(PruningSchedule.Iterative), null, null),
        ["fine-tuning restores best weights"] = () => UnstructuredFineTuning.Magnitude(SmallMlp(), new UnstructuredPruningOptions(0.5),
            new PruningScheduleOptions(), new TrainerOptions(epochs: 1), new TensorDataset(new float[8], [8], new int[1])),
    };

    private static Whittle.Onnx.OnnxModel SmallMlp() => Mlp.Create(new MlpOptions(inputShape: [8], hiddenSizes: [4], classes: 2, dropout: 0));

    [Theory]
    [InlineData("adam lr NaN", "LearningRate", "LearningRate must be positive and finite, got NaN")]
    [InlineData("sgd lr infinite", "LearningRate", "LearningRate must be positive and finite, got Infinity")]
    [InlineData("sgd momentum 1", "Momentum", "Momentum must be in [0, 1), got 1")]
    [InlineData("sgd dampening 1.5", "Dampening", "Dampening must be in [0, 1], got 1.5")]
    [InlineData("sgd nesterov without momentum", "Nesterov", "Nesterov momentum needs a positive Momentum and zero Dampening, got Momentum 0 and Dampening 0")]
    [InlineData("adamw weight decay negative", "WeightDecay", "WeightDecay must be zero or positive and finite, got -0.1")]
    [InlineData("rmsprop epsilon 0", "Epsilon", "Epsilon must be positive and finite, got 0")]
    [InlineData("trainer epochs 0", "Epochs", "Epochs must be positive, got 0")]
    [InlineData("trainer batch size -3", "BatchSize", "BatchSize must be positive, got -3")]
    [InlineData("early stopping patience 0", "Patience", "Patience must be positive, got 0")]
    [InlineData("clipping threshold infinite", "Threshold", "Threshold must be positive and finite, got Infinity")]
    [InlineData("clipping norm type NaN", "NormType", "NormType must be positive (infinity allowed), got NaN")]
    [InlineData("plateau factor 0", "Factor", "Factor must be in (0, 1), got 0")]
    [InlineData("one-cycle momentum order", "MaximumMomentum", "MaximumMomentum must be in [0.9, 1), got 0.5")]
    [InlineData("warm-up ticks 0", "WarmupTicks", "WarmupTicks must be positive, got 0")]
    [InlineData("cosine minimum NaN", "MinimumLearningRate", "MinimumLearningRate must be zero or positive and finite, got NaN")]
    [InlineData("label smoothing NaN", "LabelSmoothing", "LabelSmoothing must be in [0, 1), got NaN")]
    [InlineData("channel ratio 1", "Ratio", "Ratio must be in [0, 1), got 1")]
    [InlineData("channel ratio NaN", "Ratio", "Ratio must be in [0, 1), got NaN")]
    [InlineData("channel round-to 0", "RoundTo", "RoundTo must be positive, got 0")]
    [InlineData("channel importance 7", "Importance", "Importance must be one of L1, L2, BatchNormScale, Taylor, Auto, got 7")]
    [InlineData("n:m 4:4", "N", "N must be in [1, M) = [1, 4), got 4")]
    [InlineData("agp end 0", "AgpEndFraction", "AgpEndFraction must be in (0, 1], got 0")]
    [InlineData("exclusion blank", "NodeNames", "NodeNames must not hold a blank name, got ' '")]
    [InlineData("layer cap 1.5", "LayerCaps", "LayerCaps must be in [0, 1], got 1.5 for 'fc1'")]
    [InlineData("calibration samples 0", "CalibrationSamples", "CalibrationSamples must be positive, got 0")]
    [InlineData("percentile NaN", "Percentile", "Percentile must be in (0, 100], got NaN")]
    [InlineData("activation type int4", "ActivationType", "ActivationType must be UInt8 or Int8, got UInt4")]
    [InlineData("dynamic exclusion blank", "Exclude", "Exclude: a rule is blank ('')")]
    [InlineData("int4 accuracy level 9", "AccuracyLevel", "AccuracyLevel must be one of Unset, Float32, Float16, BFloat16, Int8, got 9")]
    [InlineData("intra-op threads -1", "IntraOpThreads", "IntraOpThreads must be 0 (the default) or positive, got -1")]
    [InlineData("benchmark runs 0", "Runs", "Runs must be positive, got 0")]
    [InlineData("tokenizer max size 2", "MaxSize", "MaxSize must be at least 3, got 2")]
    [InlineData("synthetic density 0.6", "Density", "Density must be in (0, 0.5], got 0.6")]
    [InlineData("mlp dropout -0.1", "Dropout", "Dropout must be in [0, 1), got -0.1")]
    [InlineData("zoo width NaN", "Width", "Width must be positive and finite, got NaN")]
    [InlineData("zoo classes 1", "Classes", "Classes must be at least 2 (a classifier needs two classes), got 1")]
    [InlineData("transformer heads", "Heads", "Heads must divide ModelDim, got 4 heads for a width of 10")]
    [InlineData("lenet width", "Width", "lenet5 has no width setting, got Width 2")]
    [InlineData("recovery alpha 1.5", "Alpha", "Alpha must be in [0, 1], got 1.5")]
    [InlineData("recovery teacher model missing", "TeacherModel", "Teacher is Model, but no teacher model was given")]
    [InlineData("distill alpha 0", "Alpha", "Alpha must be in (0, 1], got 0")]
    [InlineData("distill temperature 0", "Temperature", "Temperature must be positive and finite, got 0")]
    [InlineData("global ranking undefined", "Ranking", "Ranking must be one of Lamp, Magnitude, got 7")]
    [InlineData("iterative without trainer", "Schedule", "Schedule Iterative prunes during fine-tuning, but no trainer options were given; give them and training data, or use OneShot")]
    [InlineData("fine-tuning restores best weights", "RestoreBestWeights", "RestoreBestWeights is true, but fine-tuning a pruned model must not restore the best epoch's weights (they may be less sparse); create the TrainerOptions with restoreBestWeights: false")]
    public void A_bad_value_names_its_option_and_itself(string name, string option, string message)
    {
        var e = Assert.Throws<InvalidOptionException>(Cases[name]);
        Assert.Equal(option, e.Option);
        Assert.Equal(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Every_case_is_in_the_table()
    {
        var tested = typeof(InvalidOptionTests).GetMethod(nameof(A_bad_value_names_its_option_and_itself))!
            .GetCustomAttributes(typeof(InlineDataAttribute), false).Cast<InlineDataAttribute>().Select(a => (string)a.GetData(null!).First()[0]);
        Assert.Equal(Cases.Keys.Order(), tested.Order());
    }

    [Fact]
    public void Null_arguments_stay_api_misuse()
    {
        Assert.Throws<ArgumentNullException>(() => new MultiStepSchedule(null!));
        Assert.Same(OpQuantizerRegistry.Default, new StaticQuantizationOptions(opQuantizers: null).OpQuantizers); // null is the default registry, not a mistake
        Assert.Throws<ArgumentNullException>(() => new OpQuantizerRegistry(null!));
        // An option error is a Whittle error, which the CLI reports as a usage error.
        Assert.IsAssignableFrom<WhittleException>(Assert.Throws<InvalidOptionException>(() => new TrainerOptions(epochs: -1)));
    }
}
