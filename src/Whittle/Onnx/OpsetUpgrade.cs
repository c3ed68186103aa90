namespace Whittle.Onnx;

/// <summary>
/// Raises a model's default-domain opset (e.g. a CNTK export at opset 8 to the opset 13 that
/// per-channel QDQ needs, or an opset-13 export to the opset 21 that int4 QDQ needs). Ops whose
/// meaning did not change between their version and the target are kept; ops whose attributes
/// became inputs (Squeeze, Unsqueeze, ReduceSum and Split at 13; Clip at 11; Dropout's ratio at 12;
/// the other Reduce ops at 18) or whose defaults or spelling changed (Split's <c>num_outputs</c> at 18,
/// RoiAlign's coordinate mode at 16, GridSample's mode names at 20) are converted; any other op whose
/// meaning changed is listed, all at once, and nothing is written. The IR version is raised to
/// match, and initializers stop being graph inputs (an initializer that is also an input can be
/// overridden at run time, which stops ONNX Runtime from folding it as a constant).
/// </summary>
public static class OpsetUpgrade
{
    // Op type -> the earliest version whose semantics equal every later version up to 21, once the
    // conversions below are applied (later versions only widened types, added inputs or attributes
    // with backward-compatible defaults, or changed a signature a conversion below rewrites).
    // Checked against the ONNX Changelog.md, versions 1-21.
    private static readonly Dictionary<string, int> StableSince = new(StringComparer.Ordinal)
    {
        // Convolution, pooling, linear algebra
        ["Conv"] = 1, ["ConvTranspose"] = 1, ["MatMul"] = 1, ["Gemm"] = 7, ["Einsum"] = 12,
        ["MaxPool"] = 1, ["AveragePool"] = 1, ["GlobalAveragePool"] = 1, ["GlobalMaxPool"] = 1, ["LRN"] = 1,
        // Activations
        ["Relu"] = 6, ["LeakyRelu"] = 6, ["Sigmoid"] = 6, ["Tanh"] = 6, ["Elu"] = 6, ["Selu"] = 6, ["Softplus"] = 1,
        ["Softsign"] = 1, ["HardSigmoid"] = 6, ["HardSwish"] = 14, ["PRelu"] = 7, ["Celu"] = 12, ["Mish"] = 18,
        ["Gelu"] = 20, ["ThresholdedRelu"] = 10, ["Erf"] = 9,
        ["Softmax"] = 1, ["LogSoftmax"] = 1, ["Hardmax"] = 1, // meaning changed at 13: checked below
        // Elementwise arithmetic and logic
        ["Add"] = 7, ["Sub"] = 7, ["Mul"] = 7, ["Div"] = 7, ["Pow"] = 7, ["Mod"] = 10,
        ["Sum"] = 6, ["Max"] = 6, ["Min"] = 6, ["Mean"] = 6,
        ["Abs"] = 6, ["Neg"] = 6, ["Exp"] = 6, ["Log"] = 6, ["Sqrt"] = 6, ["Reciprocal"] = 6, ["Floor"] = 6, ["Ceil"] = 6,
        ["Round"] = 11, ["Sign"] = 9, ["Sin"] = 7, ["Cos"] = 7,
        ["Equal"] = 7, ["Greater"] = 7, ["Less"] = 7, ["GreaterOrEqual"] = 12, ["LessOrEqual"] = 12,
        ["Not"] = 1, ["And"] = 7, ["Or"] = 7, ["Xor"] = 7, ["Where"] = 9, ["Clip"] = 6, // Clip: attributes became inputs at 11
        // Normalization and regularization
        ["BatchNormalization"] = 7, ["InstanceNormalization"] = 6, ["LayerNormalization"] = 17,
        ["GroupNormalization"] = 18, // scale and bias changed meaning at 21: checked below
        ["Dropout"] = 7, // ratio became an input at 12
        // Reductions (axes became an input: ReduceSum at 13, the others at 18)
        ["ReduceMean"] = 1, ["ReduceMax"] = 1, ["ReduceMin"] = 1, ["ReduceProd"] = 1, ["ReduceSum"] = 1,
        ["ReduceL1"] = 1, ["ReduceL2"] = 1, ["ReduceLogSum"] = 1, ["ReduceLogSumExp"] = 1, ["ReduceSumSquare"] = 1,
        ["ArgMax"] = 1, ["ArgMin"] = 1, ["TopK"] = 10, ["CumSum"] = 11,
        // Shape and data movement
        ["Concat"] = 4, ["Flatten"] = 1, ["Reshape"] = 5, ["Transpose"] = 1, ["Identity"] = 1, ["Shape"] = 1, ["Size"] = 1,
        ["Squeeze"] = 1, ["Unsqueeze"] = 1, ["Split"] = 2, ["Slice"] = 10, ["Pad"] = 11, ["Resize"] = 11,
        ["Gather"] = 1, ["GatherElements"] = 11, ["GatherND"] = 12, ["ScatterElements"] = 11, ["ScatterND"] = 11,
        ["Cast"] = 6, ["Constant"] = 1, ["ConstantOfShape"] = 9, ["Expand"] = 8, ["Tile"] = 6, ["Range"] = 11,
        ["DepthToSpace"] = 1, ["SpaceToDepth"] = 1, ["Trilu"] = 14, ["OneHot"] = 9, ["NonZero"] = 9,
        ["RoiAlign"] = 10, ["GridSample"] = 16,
        // Recurrent
        ["LSTM"] = 7, ["GRU"] = 7, ["RNN"] = 7,
        // Quantization
        ["QuantizeLinear"] = 10, ["DequantizeLinear"] = 10, ["DynamicQuantizeLinear"] = 11,
        ["QLinearConv"] = 10, ["QLinearMatMul"] = 10, ["MatMulInteger"] = 10, ["ConvInteger"] = 10,
    };

    // Reduce ops whose axes attribute became an input at 18 (ReduceSum's did at 13).
    private static readonly HashSet<string> ReduceAxesInputAt18 = new(StringComparer.Ordinal)
    {
        "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare",
    };

    /// <summary>The highest target opset the table of stable operators covers.</summary>
    public const int HighestTarget = 21;

    /// <summary>The target of <see cref="To"/> when none is given: opset 13, the first with per-channel QDQ.</summary>
    public const int DefaultTarget = 13;

    /// <summary>
    /// A copy of <paramref name="model"/> at default-domain opset <paramref name="targetOpset"/> (at most
    /// <see cref="HighestTarget"/>), or the model itself when it is already there or later.
    /// </summary>
    /// <exception cref="OnnxException">Some ops cannot be upgraded; all are listed.</exception>
    public static OnnxModel To(OnnxModel model, int targetOpset = DefaultTarget)
    {
        if (targetOpset < 1 || targetOpset > HighestTarget)
            throw new ArgumentOutOfRangeException(nameof(targetOpset), targetOpset, $"the table of stable operators covers targets up to {HighestTarget}");
        if ((model.GetOpset() ?? 1) >= targetOpset) return model;
        var result = model.Clone();
        UpgradeInPlace(result, targetOpset);
        return result;
    }

    /// <summary>
    /// Raises <paramref name="model"/>'s default-domain opset to at least <paramref name="targetOpset"/> in place
    /// (for a quantizer that already works on its own copy); returns the opset now imported.
    /// </summary>
    /// <exception cref="OnnxException">Some ops cannot be upgraded; all are listed and the model is unchanged.</exception>
    public static long UpgradeInPlace(OnnxModel model, int targetOpset)
    {
        if (targetOpset < 1 || targetOpset > HighestTarget)
            throw new ArgumentOutOfRangeException(nameof(targetOpset), targetOpset, $"the table of stable operators covers targets up to {HighestTarget}");
        var from = (int)(model.GetOpset() ?? 1);
        if (from >= targetOpset) return from;
        // Whether the upgrade passes version v, where some op changed.
        bool Crosses(int v) => from < v && targetOpset >= v;

        var problems = new List<string>();
        var g = model.Graph;
        foreach (var n in g.Nodes.Where(n => n.Domain.Length == 0))
        {
            var label = $"{n.OpType} ('{n.DisplayName}')";
            if (!StableSince.TryGetValue(n.OpType, out var since))
            {
                problems.Add($"{label}: no upgrade rule from opset {from} to {targetOpset} (its meaning may have changed)");
                continue;
            }
            if (from < since)
            {
                problems.Add($"{label}: opset {from} predates its current form (opset {since})");
                continue;
            }
            switch (n.OpType)
            {
                case "Softmax" or "LogSoftmax" or "Hardmax" when Crosses(13):
                {
                    // Before 13 these flatten to 2-D at `axis` (default 1); from 13 they work along `axis` (default -1).
                    // The two agree on a rank-2 input with axis 1, which a Gemm or Flatten output always is.
                    var producer = g.FindProducer(n.Inputs[0]);
                    if (n.GetInt("axis", 1) != 1 || producer is null || producer.OpType is not ("Gemm" or "Flatten"))
                        problems.Add($"{label}: its meaning changed at opset 13 and its input is not provably 2-D");
                    break;
                }
                case "BatchNormalization":
                    if (from < 9 && n.GetInt("spatial", 1) != 1)
                        problems.Add($"{label}: spatial=0 has no opset {targetOpset} equivalent");
                    // Before 14 extra outputs meant training mode, with five outputs; from 14 it is an attribute, with three.
                    if (Crosses(14) && n.Outputs.Skip(1).Any(o => o.Length > 0))
                        problems.Add($"{label}: its training-mode outputs changed at opset 14");
                    break;
                case "Dropout" when Crosses(10) && n.Outputs.Count > 1 && n.Outputs[1].Length > 0:
                    problems.Add($"{label}: its mask output became boolean at opset 10");
                    break;
                case "Resize" when Crosses(13) && n.GetString("coordinate_transformation_mode", "half_pixel") == "tf_half_pixel_for_nn":
                    problems.Add($"{label}: coordinate_transformation_mode tf_half_pixel_for_nn was removed at opset 13");
                    break;
                case "GroupNormalization" when Crosses(21):
                    // Scale and bias are per group before 21 and per channel from 21; the channel count is not known here.
                    problems.Add($"{label}: scale and bias changed from per-group to per-channel at opset 21");
                    break;
            }
        }
        if (problems.Count > 0)
            throw new OnnxException($"cannot upgrade '{g.Name}' from opset {from} to {targetOpset}: {string.Join("; ", problems)}");

        foreach (var n in g.Nodes.Where(n => n.Domain.Length == 0))
        {
            switch (n.OpType)
            {
                case "BatchNormalization":
                    n.RemoveAttribute("spatial");
                    n.RemoveAttribute("consumed_inputs");
                    break;
                case "Softmax" or "LogSoftmax" or "Hardmax" when Crosses(13):
                    n.SetAttribute("axis", 1L);
                    break;
                case "Squeeze" or "Unsqueeze" or "ReduceSum" when Crosses(13):
                    MoveIntsToInput(g, n, "axes", 1);
                    break;
                case var op when Crosses(18) && ReduceAxesInputAt18.Contains(op):
                    MoveIntsToInput(g, n, "axes", 1);
                    break;
                case "Split":
                    if (Crosses(13)) MoveIntsToInput(g, n, "split", 1);
                    // From 18 a Split without sizes must say how many parts it makes.
                    if (Crosses(18) && (n.Inputs.Count < 2 || n.Inputs[1].Length == 0) && !n.HasAttribute("num_outputs"))
                        n.SetAttribute("num_outputs", (long)n.Outputs.Count);
                    break;
                case "Clip" when Crosses(11):
                    var min = n.GetFloat("min", float.NegativeInfinity);
                    var max = n.GetFloat("max", float.PositiveInfinity);
                    n.RemoveAttribute("min");
                    n.RemoveAttribute("max");
                    var minName = g.UniqueName(n.DisplayName + "_min");
                    var maxName = g.UniqueName(n.DisplayName + "_max");
                    g.AddInitializer(OnnxTensor.FromFloats(minName, [], [min]));
                    g.AddInitializer(OnnxTensor.FromFloats(maxName, [], [max]));
                    n.Inputs.Add(minName);
                    n.Inputs.Add(maxName);
                    break;
                case "Dropout" when Crosses(12) && n.HasAttribute("ratio"):
                    // The ratio only matters in training (the Engine's); inference ignores it either way.
                    var ratio = n.GetFloat("ratio");
                    n.RemoveAttribute("ratio");
                    var ratioName = g.UniqueName(n.DisplayName + "_ratio");
                    g.AddInitializer(OnnxTensor.FromFloats(ratioName, [], [ratio]));
                    n.Inputs.Insert(1, ratioName);
                    break;
                case "RoiAlign" when Crosses(16) && !n.HasAttribute("coordinate_transformation_mode"):
                    // Opset 10's behaviour; 16's default shifts the input coordinates by half a pixel.
                    n.SetAttribute("coordinate_transformation_mode", "output_half_pixel");
                    break;
                case "GridSample" when Crosses(20) && n.HasAttribute("mode"):
                    var mode = n.GetString("mode");
                    n.SetAttribute("mode", mode switch { "bilinear" => "linear", "bicubic" => "cubic", _ => mode });
                    break;
            }
        }
        model.SetOpset("", targetOpset);
        var initializers = g.InitializerNames();
        foreach (var input in g.AllInputs.Where(i => initializers.Contains(i.Name)).ToList())
            g.RemoveInput(input.Name);
        if (model.IrVersion < IrVersionFor(targetOpset)) model.SetIrVersion(IrVersionFor(targetOpset));
        return targetOpset;
    }

    /// <summary>
    /// Moves an ints attribute (axes, split) into an int64 initializer at input <paramref name="index"/>;
    /// an absent attribute stays absent (the input is optional and means the same default).
    /// </summary>
    private static void MoveIntsToInput(OnnxGraph g, OnnxNode n, string attribute, int index)
    {
        if (n.GetInts(attribute) is not { } values) return;
        n.RemoveAttribute(attribute);
        var name = g.UniqueName(n.DisplayName + "_" + attribute);
        g.AddInitializer(OnnxTensor.FromInt64s(name, [values.Length], values));
        while (n.Inputs.Count < index) n.Inputs.Add("");
        if (n.Inputs.Count == index) n.Inputs.Add(name);
        else n.Inputs[index] = name;
    }

    // ONNX's versioning table (docs/Versioning.md): the IR version that introduced each opset
    // (7-8: IR 3, 9: 4, 10: 5, 11: 6, 12-14: 7, 15-18: 8, 19-20: 9, 21: 10); at least 4, so
    // initializers need not be graph inputs.
    private static long IrVersionFor(int opset) => opset switch { <= 9 => 4, 10 => 5, 11 => 6, <= 14 => 7, <= 18 => 8, <= 20 => 9, _ => 10 };
}
