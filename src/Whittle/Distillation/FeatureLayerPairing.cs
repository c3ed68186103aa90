using Whittle.Onnx;
using Whittle.Runtime;

namespace Whittle.Distillation;

/// <summary>
/// Chooses which student values learn from which teacher values in hint-layer distillation
/// (<see cref="FeatureDistillation"/>): automatically, one pair per stage, or from an explicit
/// list. Data only: it reads the two graphs and the shapes of their values, and changes neither.
/// </summary>
/// <remarks>
/// <para>
/// <b>Candidates</b> are the features a layer hands on: the output of every Relu, and the output
/// of every Conv (or of the one BatchNormalization right after it) that no Relu reads, such as
/// the last convolution of a residual branch before its Add. Graph outputs are left out (the
/// logits are <see cref="LogitDistillation"/>'s), and so are values that are not [B, C] or
/// [B, C, H, W], the two shapes <see cref="FeatureProjection"/> maps.
/// </para>
/// <para>
/// <b>Stages</b> are groups of candidates of one spatial size H×W (all flat [B, C] candidates
/// are one stage). A CNN's stages are its resolutions between downsamplings, and the last feature
/// of a stage is what the stage hands on, so <see cref="ByStage(OnnxModel, IReadOnlyDictionary{string, long[]}, OnnxModel, IReadOnlyDictionary{string, long[]})"/>
/// pairs the student's last candidate (in topological order) of each stage with the teacher's
/// last candidate of the same size. A stage only one of the models has is skipped, so models fed
/// different input resolutions may share no stage at all (the result is then empty).
/// </para>
/// <para>
/// Shapes are whole value shapes with the batch axis first, as ONNX Runtime reports them
/// (<see cref="IntermediateCapture.ValueShapes"/>); the batch size is ignored.
/// </para>
/// </remarks>
public static class FeatureLayerPairing
{
    private const string Option = "FeaturePairs";
    private const int CandidatesShown = 10;

    /// <summary>
    /// The candidate features of <paramref name="model"/> in topological order: Relu outputs,
    /// and Conv outputs (or their BatchNormalization's) that no Relu reads; graph outputs left out.
    /// </summary>
    /// <param name="model">The model; it is not changed.</param>
    public static IReadOnlyList<string> Candidates(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        var outputs = graph.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var order = graph.TopologicalOrder();
        var position = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < order.Count; i++)
            foreach (var o in order[i].Outputs)
                if (o.Length > 0) position.TryAdd(o, i);

        var candidates = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in order)
        {
            if (node.Domain.Length != 0 || node.Outputs.Count == 0 || node.Outputs[0].Length == 0) continue;
            if (node.OpType == "Relu")
            {
                candidates.Add(node.Outputs[0]);
            }
            else if (node.OpType == "Conv")
            {
                var value = node.Outputs[0];
                var readers = graph.FindConsumers(value);
                if (readers.Count == 1 && readers[0].OpType == "BatchNormalization" && readers[0].Domain.Length == 0 && readers[0].Inputs[0] == value)
                {
                    value = readers[0].Outputs[0];
                    readers = graph.FindConsumers(value);
                }
                if (!readers.Any(r => r.OpType == "Relu" && r.Domain.Length == 0)) candidates.Add(value);
            }
        }
        return candidates.Where(c => !outputs.Contains(c)).OrderBy(c => position[c]).ToList();
    }

    /// <summary>
    /// One pair per stage the two models share: the student's last candidate of each spatial size
    /// with the teacher's last candidate of that size, in the student's order (see the remarks).
    /// </summary>
    /// <param name="student">The student model.</param>
    /// <param name="studentShapes">Shapes of the student's values, batch axis first; every candidate must have one.</param>
    /// <param name="teacher">The teacher model.</param>
    /// <param name="teacherShapes">Shapes of the teacher's values, batch axis first; every candidate must have one.</param>
    /// <exception cref="ArgumentException">A candidate has no shape in the dictionary.</exception>
    public static IReadOnlyList<FeatureLayerPair> ByStage(OnnxModel student, IReadOnlyDictionary<string, long[]> studentShapes,
        OnnxModel teacher, IReadOnlyDictionary<string, long[]> teacherShapes)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(studentShapes);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(teacherShapes);
        var studentStages = Stages(student, studentShapes, "student", nameof(studentShapes));
        var teacherStages = Stages(teacher, teacherShapes, "teacher", nameof(teacherShapes));
        var lastOfTeacher = new Dictionary<StageKey, string>();
        foreach (var (value, key) in teacherStages) lastOfTeacher[key] = value;

        var lastOfStudent = new Dictionary<StageKey, string>();
        var stageOrder = new List<StageKey>();
        foreach (var (value, key) in studentStages)
        {
            if (!lastOfStudent.ContainsKey(key)) stageOrder.Add(key);
            lastOfStudent[key] = value;
        }
        var pairs = new List<FeatureLayerPair>();
        foreach (var key in stageOrder)
        {
            if (!lastOfTeacher.TryGetValue(key, out var teacherValue)) continue;
            var studentValue = lastOfStudent[key];
            pairs.Add(new FeatureLayerPair(studentValue, teacherValue, studentShapes[studentValue].Skip(1).ToArray(), teacherShapes[teacherValue].Skip(1).ToArray()));
        }
        return pairs;
    }

    /// <summary>
    /// <see cref="ByStage(OnnxModel, IReadOnlyDictionary{string, long[]}, OnnxModel, IReadOnlyDictionary{string, long[]})"/>
    /// with the shapes taken from one ONNX Runtime run of each model on generated inputs
    /// (<see cref="IntermediateCapture.ValueShapes"/>).
    /// </summary>
    /// <param name="student">The student model.</param>
    /// <param name="teacher">The teacher model.</param>
    /// <exception cref="RuntimeException">ONNX Runtime refused a model.</exception>
    public static IReadOnlyList<FeatureLayerPair> ByStage(OnnxModel student, OnnxModel teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        return ByStage(student, IntermediateCapture.ValueShapes(student), teacher, IntermediateCapture.ValueShapes(teacher));
    }

    /// <summary>
    /// Reads explicit pairs, <c>"s1=t1,s2=t2"</c>: comma-separated <c>student=teacher</c> value
    /// names, spaces around names ignored. Only the syntax is checked here; see
    /// <see cref="Explicit(string, OnnxModel, IReadOnlyDictionary{string, long[]}, OnnxModel, IReadOnlyDictionary{string, long[]})"/>.
    /// </summary>
    /// <param name="pairs">The pairs as written by the user.</param>
    /// <exception cref="InvalidOptionException">The text is empty, an entry is not <c>student=teacher</c>, or a student value is paired twice.</exception>
    public static IReadOnlyList<(string Student, string Teacher)> ParsePairs(string pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Trim().Length == 0)
            throw new InvalidOptionException(Option, $"{Option} must be 'student=teacher' pairs separated by commas, got ''");
        var result = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in pairs.Split(','))
        {
            var sides = entry.Split('=');
            if (sides.Length != 2 || sides[0].Trim().Length == 0 || sides[1].Trim().Length == 0)
                throw new InvalidOptionException(Option,
                    $"{Option} must be 'student=teacher' pairs separated by commas, got '{entry.Trim()}' in '{pairs}'");
            var (s, t) = (sides[0].Trim(), sides[1].Trim());
            if (!seen.Add(s))
                throw new InvalidOptionException(Option, $"{Option} pairs the student value '{s}' twice, in '{pairs}'");
            result.Add((s, t));
        }
        return result;
    }

    /// <summary>
    /// The pairs of <paramref name="pairs"/> (<c>"s1=t1,s2=t2"</c>, see <see cref="ParsePairs"/>)
    /// checked against the two models: each name must be a node output of its model with a shape
    /// [B, C] or [B, C, H, W], and both sides of a pair the same rank. Any value may be named,
    /// not only <see cref="Candidates"/>. Every problem is reported at once.
    /// </summary>
    /// <param name="pairs">The pairs as written by the user.</param>
    /// <param name="student">The student model.</param>
    /// <param name="studentShapes">Shapes of the student's values, batch axis first.</param>
    /// <param name="teacher">The teacher model.</param>
    /// <param name="teacherShapes">Shapes of the teacher's values, batch axis first.</param>
    /// <exception cref="InvalidOptionException">The text is malformed, names an unknown value, or a value's shape does not fit.</exception>
    public static IReadOnlyList<FeatureLayerPair> Explicit(string pairs, OnnxModel student, IReadOnlyDictionary<string, long[]> studentShapes,
        OnnxModel teacher, IReadOnlyDictionary<string, long[]> teacherShapes)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(studentShapes);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(teacherShapes);
        var parsed = ParsePairs(pairs);

        var problems = new List<string>();
        var unknownStudent = parsed.Select(p => p.Student).Where(s => student.Graph.FindProducer(s) is null).Distinct().ToList();
        var unknownTeacher = parsed.Select(p => p.Teacher).Where(t => teacher.Graph.FindProducer(t) is null).Distinct().ToList();
        if (unknownStudent.Count > 0) problems.Add(Unknown("student", unknownStudent, student));
        if (unknownTeacher.Count > 0) problems.Add(Unknown("teacher", unknownTeacher, teacher));

        var result = new List<FeatureLayerPair>();
        foreach (var (s, t) in parsed)
        {
            if (unknownStudent.Contains(s) || unknownTeacher.Contains(t)) continue;
            var studentShape = FeatureShape(s, studentShapes, "student", problems);
            var teacherShape = FeatureShape(t, teacherShapes, "teacher", problems);
            if (studentShape is null || teacherShape is null) continue;
            if (studentShape.Length != teacherShape.Length)
            {
                problems.Add($"'{s}' {FeatureLayerPair.Format(studentShape)} and '{t}' {FeatureLayerPair.Format(teacherShape)} differ in rank");
                continue;
            }
            result.Add(new FeatureLayerPair(s, t, studentShape.Skip(1).ToArray(), teacherShape.Skip(1).ToArray()));
        }
        if (problems.Count > 0) throw new InvalidOptionException(Option, $"{Option}: {string.Join("; ", problems)}");
        return result;
    }

    /// <summary>
    /// <see cref="Explicit(string, OnnxModel, IReadOnlyDictionary{string, long[]}, OnnxModel, IReadOnlyDictionary{string, long[]})"/>
    /// with the shapes taken from one ONNX Runtime run of each model on generated inputs.
    /// </summary>
    /// <param name="pairs">The pairs as written by the user.</param>
    /// <param name="student">The student model.</param>
    /// <param name="teacher">The teacher model.</param>
    /// <exception cref="InvalidOptionException">The text is malformed, names an unknown value, or a value's shape does not fit.</exception>
    /// <exception cref="RuntimeException">ONNX Runtime refused a model.</exception>
    public static IReadOnlyList<FeatureLayerPair> Explicit(string pairs, OnnxModel student, OnnxModel teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        ParsePairs(pairs); // a typo should not wait for two ONNX Runtime runs
        return Explicit(pairs, student, IntermediateCapture.ValueShapes(student), teacher, IntermediateCapture.ValueShapes(teacher));
    }

    /// <summary>
    /// The pairs a hint-layer setting asks for: <c>"auto"</c> (any case) pairs by stage
    /// (<see cref="ByStage(OnnxModel, IReadOnlyDictionary{string, long[]}, OnnxModel, IReadOnlyDictionary{string, long[]})"/>),
    /// anything else is explicit <c>"s1=t1,s2=t2"</c> pairs (<see cref="Explicit(string, OnnxModel, IReadOnlyDictionary{string, long[]}, OnnxModel, IReadOnlyDictionary{string, long[]})"/>).
    /// </summary>
    /// <param name="layers">The setting, <c>"auto"</c> or explicit pairs.</param>
    /// <param name="student">The student model.</param>
    /// <param name="studentShapes">Shapes of the student's values, batch axis first.</param>
    /// <param name="teacher">The teacher model.</param>
    /// <param name="teacherShapes">Shapes of the teacher's values, batch axis first.</param>
    /// <param name="option">The option named in the error.</param>
    /// <exception cref="InvalidOptionException">No stage pairs, or the explicit pairs do not fit the models.</exception>
    public static IReadOnlyList<FeatureLayerPair> Pair(string layers, OnnxModel student, IReadOnlyDictionary<string, long[]> studentShapes,
        OnnxModel teacher, IReadOnlyDictionary<string, long[]> teacherShapes, string option)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var pairs = IsAuto(layers) ? ByStage(student, studentShapes, teacher, teacherShapes) : Explicit(layers, student, studentShapes, teacher, teacherShapes);
        if (pairs.Count == 0)
            throw new InvalidOptionException(option,
                $"no stage of the student matches one of the teacher (features of the same spatial size); name the pairs as student=teacher values. Student candidates: {string.Join(", ", Candidates(student).Take(CandidatesShown))}");
        return pairs;
    }

    /// <summary>Checks the syntax of a hint-layer setting (<c>"auto"</c> or pairs, see <see cref="ParsePairs"/>) before any model is read; null passes.</summary>
    /// <exception cref="InvalidOptionException">The pairs are malformed.</exception>
    public static void CheckSetting(string? layers)
    {
        if (layers is not null && !IsAuto(layers)) ParsePairs(layers);
    }

    private static bool IsAuto(string layers) => string.Equals(layers.Trim(), ModelDistillationOptions.AutoFeatureLayers, StringComparison.OrdinalIgnoreCase);

    private static List<(string Value, StageKey Key)> Stages(OnnxModel model, IReadOnlyDictionary<string, long[]> shapes, string role, string parameter)
    {
        var candidates = Candidates(model);
        var missing = candidates.Where(c => !shapes.ContainsKey(c)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException(
                $"The {role}'s shapes lack {missing.Count} candidate feature(s): {string.Join(", ", missing.Take(CandidatesShown).Select(m => $"'{m}'"))}{(missing.Count > CandidatesShown ? ", ..." : "")}.",
                parameter);
        var stages = new List<(string, StageKey)>();
        foreach (var c in candidates)
        {
            var shape = shapes[c];
            if (shape.Length == 2) stages.Add((c, new StageKey(2, 0, 0)));
            else if (shape.Length == 4) stages.Add((c, new StageKey(4, shape[2], shape[3])));
        }
        return stages;
    }

    private static long[]? FeatureShape(string value, IReadOnlyDictionary<string, long[]> shapes, string role, List<string> problems)
    {
        if (!shapes.TryGetValue(value, out var shape))
        {
            problems.Add($"no shape for the {role} value '{value}'");
            return null;
        }
        if ((shape.Length != 2 && shape.Length != 4) || shape.Skip(1).Any(d => d < 1))
        {
            problems.Add($"the {role} value '{value}' has shape {FeatureLayerPair.Format(shape)}, but a feature must be [batch, channels] or [batch, channels, height, width]");
            return null;
        }
        return shape;
    }

    private static string Unknown(string role, IReadOnlyList<string> names, OnnxModel model)
    {
        var candidates = Candidates(model);
        var shown = string.Join(", ", candidates.Take(CandidatesShown));
        return $"the {role} model has no node output {string.Join(", ", names.Select(n => $"'{n}'"))}"
            + (candidates.Count == 0 ? "" : $" (its candidate features: {shown}{(candidates.Count > CandidatesShown ? ", ..." : "")})");
    }

    /// <summary>A stage: flat features (rank 2), or feature maps of one height and width (rank 4).</summary>
    private readonly record struct StageKey(int Rank, long Height, long Width);
}
