using Whittle.Distillation;
using Whittle.Onnx;
using Whittle.Runtime;
using Whittle.Zoo;

namespace Whittle.Tests.Distillation;

public sealed class FeatureLayerPairingTests
{
    /// <summary>
    /// Student: 8×8 [c1 → r1 → c2] (c2 has no Relu), pool, 4×4 [c3 → b3] (BN, no Relu), pool,
    /// 2×2 [c4 → r4], flat [fc1 → r_fc], fc2 out.
    /// </summary>
    private static (OnnxModel Model, Dictionary<string, long[]> Shapes) Student()
    {
        var b = new OnnxGraphBuilder("student");
        var shapes = new Dictionary<string, long[]>();
        GraphValue Keep(GraphValue v)
        {
            shapes[v.Name] = [.. v.Shape];
            return v;
        }
        var x = Keep(b.Input("input", [-1, 3, 8, 8]));
        x = Keep(b.Relu(Keep(b.Conv(x, 4, kernel: 3, padding: 1, name: "c1")), name: "r1"));
        x = Keep(b.Conv(x, 4, kernel: 3, padding: 1, name: "c2"));
        x = Keep(b.MaxPool(x, 2, name: "p1"));
        x = Keep(b.BatchNorm(Keep(b.Conv(x, 8, kernel: 3, padding: 1, name: "c3")), name: "b3"));
        x = Keep(b.MaxPool(x, 2, name: "p2"));
        x = Keep(b.Relu(Keep(b.Conv(x, 8, kernel: 3, padding: 1, name: "c4")), name: "r4"));
        x = Keep(b.Flatten(x, name: "flat"));
        x = Keep(b.Relu(Keep(b.Linear(x, 10, name: "fc1")), name: "r_fc"));
        var logits = Keep(b.Output(b.Linear(x, 3, name: "fc2"), "logits"));
        return (b.Build(), shapes);
    }

    /// <summary>Teacher: 8×8 [c1 → r1 → c2 → r2], pool, 4×4 [c3 → b3 → r3], global pool (1×1), flat [fc1 → r_fc], fc2 out.</summary>
    private static (OnnxModel Model, Dictionary<string, long[]> Shapes) Teacher()
    {
        var b = new OnnxGraphBuilder("teacher");
        var shapes = new Dictionary<string, long[]>();
        GraphValue Keep(GraphValue v)
        {
            shapes[v.Name] = [.. v.Shape];
            return v;
        }
        var x = Keep(b.Input("input", [-1, 3, 8, 8]));
        x = Keep(b.Relu(Keep(b.Conv(x, 8, kernel: 3, padding: 1, name: "c1")), name: "r1"));
        x = Keep(b.Relu(Keep(b.Conv(x, 8, kernel: 3, padding: 1, name: "c2")), name: "r2"));
        x = Keep(b.MaxPool(x, 2, name: "p1"));
        x = Keep(b.Relu(Keep(b.BatchNorm(Keep(b.Conv(x, 16, kernel: 3, padding: 1, name: "c3")), name: "b3")), name: "r3"));
        x = Keep(b.Flatten(Keep(b.GlobalAveragePool(x, name: "gap")), name: "flat"));
        x = Keep(b.Relu(Keep(b.Linear(x, 12, name: "fc1")), name: "r_fc"));
        Keep(b.Output(b.Linear(x, 3, name: "fc2"), "logits"));
        return (b.Build(), shapes);
    }

    private static string Describe(IEnumerable<FeatureLayerPair> pairs) => string.Join("; ", pairs);

    [Fact]
    public void Candidates_are_relu_outputs_and_convolutions_no_relu_reads()
    {
        Assert.Equal(["r1", "c2", "b3", "r4", "r_fc"], FeatureLayerPairing.Candidates(Student().Model));
        Assert.Equal(["r1", "r2", "r3", "r_fc"], FeatureLayerPairing.Candidates(Teacher().Model));

        // A graph output is the logits' business, not a hint layer.
        var b = new OnnxGraphBuilder("relu-out");
        b.Output(b.Relu(b.Linear(b.Input("x", [-1, 4]), 3, name: "fc"), name: "r"), "y");
        Assert.Empty(FeatureLayerPairing.Candidates(b.Build()));
    }

    [Fact]
    public void By_stage_pairs_the_last_candidate_of_each_spatial_size_and_skips_stages_one_model_lacks()
    {
        var (student, studentShapes) = Student();
        var (teacher, teacherShapes) = Teacher();
        var pairs = FeatureLayerPairing.ByStage(student, studentShapes, teacher, teacherShapes);
        // The student's 2×2 stage has no teacher counterpart; the teacher's 1×1 pooled map is no candidate.
        Assert.Equal("c2=r2 ([4, 8, 8] -> [8, 8, 8]); b3=r3 ([8, 4, 4] -> [16, 4, 4]); r_fc=r_fc ([10] -> [12])", Describe(pairs));
        Assert.Equal([4L, 8, 10], pairs.Select(p => p.StudentChannels));
        Assert.Equal([8L, 16, 12], pairs.Select(p => p.TeacherChannels));
    }

    [Fact]
    public void By_stage_pairs_resnet_stages_with_shapes_from_onnx_runtime()
    {
        var student = ResNetCifar.Create(new ResNetCifarOptions(depth: 8, baseWidth: 8));
        var teacher = ResNetCifar.Create(new ResNetCifarOptions(depth: 14, baseWidth: 16));
        var pairs = FeatureLayerPairing.ByStage(student, teacher);
        // Each stage hands on the Relu after its last residual Add.
        Assert.Equal("layer1.0.relu_1=layer1.1.relu_1 ([8, 28, 28] -> [16, 28, 28]); " +
            "layer2.0.relu_1=layer2.1.relu_1 ([16, 14, 14] -> [32, 14, 14]); " +
            "layer3.0.relu_1=layer3.1.relu_1 ([32, 7, 7] -> [64, 7, 7])", Describe(pairs));
        Assert.All(pairs, p => Assert.Equal("Add", teacher.Graph.FindProducer(teacher.Graph.FindProducer(p.TeacherValue)!.Inputs[0])!.OpType));

        // Every pair makes a projection that maps a student batch onto the teacher's shape.
        using var scope = TorchSharp.torch.NewDisposeScope();
        foreach (var pair in pairs)
        {
            using var projection = new FeatureProjection(pair);
            Assert.Equal(pair.TeacherShape, projection.forward(TorchSharp.torch.randn([2, .. pair.StudentShape])).shape.Skip(1));
        }

        // Models fed different resolutions share no stage.
        var small = ResNetCifar.Create(new ResNetCifarOptions(depth: 8, baseWidth: 8, inputShape: [1, 32, 32]));
        Assert.Empty(FeatureLayerPairing.ByStage(small, teacher));
    }

    [Fact]
    public void Value_shapes_come_batch_first_from_one_run()
    {
        var shapes = IntermediateCapture.ValueShapes(Student().Model, batchSize: 3);
        Assert.Equal([3L, 3, 8, 8], shapes["input"]);
        Assert.Equal([3L, 8, 4, 4], shapes["b3"]);
        Assert.Equal([3L, 10], shapes["r_fc"]);
        Assert.Equal([3L, 3], shapes["logits"]);
    }

    [Fact]
    public void Missing_shapes_of_candidates_are_an_argument_error()
    {
        var (student, studentShapes) = Student();
        var (teacher, teacherShapes) = Teacher();
        studentShapes.Remove("c2");
        studentShapes.Remove("r_fc");
        var e = Assert.Throws<ArgumentException>(() => FeatureLayerPairing.ByStage(student, studentShapes, teacher, teacherShapes));
        Assert.Equal("studentShapes", e.ParamName);
        Assert.StartsWith("The student's shapes lack 2 candidate feature(s): 'c2', 'r_fc'.", e.Message);
    }

    [Fact]
    public void Explicit_pairs_are_parsed_and_checked_against_both_models()
    {
        Assert.Equal([("a", "b"), ("c.d", "e_1")], FeatureLayerPairing.ParsePairs(" a = b ,c.d=e_1"));

        var (student, studentShapes) = Student();
        var (teacher, teacherShapes) = Teacher();
        var pairs = FeatureLayerPairing.Explicit("r1=r2, b3=c3,r_fc=r_fc", student, studentShapes, teacher, teacherShapes);
        // Any node output may be named, not only candidates (c3 is read by a BatchNormalization).
        Assert.Equal("r1=r2 ([4, 8, 8] -> [8, 8, 8]); b3=c3 ([8, 4, 4] -> [16, 4, 4]); r_fc=r_fc ([10] -> [12])", Describe(pairs));

        var measured = FeatureLayerPairing.Explicit("c2=r2", student, teacher);
        Assert.Equal("c2=r2 ([4, 8, 8] -> [8, 8, 8])", Describe(measured));
    }

    [Theory]
    [InlineData("", "FeaturePairs must be 'student=teacher' pairs separated by commas, got ''")]
    [InlineData("  ", "FeaturePairs must be 'student=teacher' pairs separated by commas, got ''")]
    [InlineData("r1", "FeaturePairs must be 'student=teacher' pairs separated by commas, got 'r1' in 'r1'")]
    [InlineData("r1=r2,", "FeaturePairs must be 'student=teacher' pairs separated by commas, got '' in 'r1=r2,'")]
    [InlineData("r1=", "FeaturePairs must be 'student=teacher' pairs separated by commas, got 'r1=' in 'r1='")]
    [InlineData("=r2", "FeaturePairs must be 'student=teacher' pairs separated by commas, got '=r2' in '=r2'")]
    [InlineData("r1=r2=r3", "FeaturePairs must be 'student=teacher' pairs separated by commas, got 'r1=r2=r3' in 'r1=r2=r3'")]
    [InlineData("r1=r2,r1=r3", "FeaturePairs pairs the student value 'r1' twice, in 'r1=r2,r1=r3'")]
    [InlineData("relu9=r2,r1=nope,c2=gone",
        "FeaturePairs: the student model has no node output 'relu9' (its candidate features: r1, c2, b3, r4, r_fc); " +
        "the teacher model has no node output 'nope', 'gone' (its candidate features: r1, r2, r3, r_fc)")]
    [InlineData("input=r2", "FeaturePairs: the student model has no node output 'input' (its candidate features: r1, c2, b3, r4, r_fc)")]
    [InlineData("r1=r_fc,r_fc=r3", "FeaturePairs: 'r1' [-1, 4, 8, 8] and 'r_fc' [-1, 12] differ in rank; 'r_fc' [-1, 10] and 'r3' [-1, 16, 4, 4] differ in rank")]
    [InlineData("r4=r3,c1=r1", "FeaturePairs: no shape for the student value 'r4'; the teacher value 'r1' has shape [-1, 8, 8], but a feature must be [batch, channels] or [batch, channels, height, width]")]
    public void Bad_explicit_pairs_are_option_errors_that_list_every_problem(string text, string message)
    {
        var (student, studentShapes) = Student();
        var (teacher, teacherShapes) = Teacher();
        studentShapes.Remove("r4");
        teacherShapes["r1"] = [-1, 8, 8];
        var e = Assert.Throws<InvalidOptionException>(() => FeatureLayerPairing.Explicit(text, student, studentShapes, teacher, teacherShapes));
        Assert.Equal("FeaturePairs", e.Option);
        Assert.Equal(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
