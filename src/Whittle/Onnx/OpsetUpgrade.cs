namespace Whittle.Onnx;

/// <summary>
/// Raises a model's default-domain opset (e.g. a CNTK export at opset 8 to the opset 13 that
/// per-channel QDQ needs). Ops whose meaning did not change between their version and the target
/// are kept; ops whose attributes became inputs (Squeeze, Unsqueeze, Clip) are converted; any
/// other op whose meaning changed is listed, all at once, and nothing is written. The IR version
/// is raised to match, and initializers stop being graph inputs (an initializer that is also an
/// input can be overridden at run time, which stops ONNX Runtime from folding it as a constant).
/// </summary>
public static class OpsetUpgrade
{
    // Op type -> the earliest version whose semantics equal every later version up to 13
    // (later versions only widened types or added attributes with backward-compatible defaults).
    private static readonly Dictionary<string, int> StableSince = new(StringComparer.Ordinal)
    {
        ["Conv"] = 1, ["ConvTranspose"] = 1, ["MatMul"] = 1, ["Gemm"] = 7,
        ["Relu"] = 6, ["LeakyRelu"] = 6, ["Sigmoid"] = 6, ["Tanh"] = 6, ["Elu"] = 6, ["Softplus"] = 1,
        ["Add"] = 7, ["Sub"] = 7, ["Mul"] = 7, ["Div"] = 7, ["Pow"] = 7, ["Sum"] = 6, ["Max"] = 6, ["Min"] = 6, ["Mean"] = 6,
        ["Abs"] = 6, ["Neg"] = 6, ["Exp"] = 6, ["Log"] = 6, ["Sqrt"] = 6, ["Reciprocal"] = 6, ["Floor"] = 6, ["Ceil"] = 6,
        ["MaxPool"] = 1, ["AveragePool"] = 1, ["GlobalAveragePool"] = 1, ["GlobalMaxPool"] = 1, ["LRN"] = 1,
        ["Concat"] = 4, ["Flatten"] = 1, ["Reshape"] = 5, ["Transpose"] = 1, ["Identity"] = 1, ["Shape"] = 1,
        ["Gather"] = 1, ["Cast"] = 6, ["Dropout"] = 7, ["BatchNormalization"] = 7, ["InstanceNormalization"] = 6,
        ["ReduceMean"] = 1, ["ReduceMax"] = 1, ["ReduceMin"] = 1, ["ReduceProd"] = 1, ["ReduceL2"] = 1,
        ["Constant"] = 1, ["Expand"] = 8, ["Where"] = 9, ["Equal"] = 7, ["Greater"] = 7, ["Less"] = 7, ["Not"] = 1,
        ["Tile"] = 6, ["Erf"] = 9, ["Softsign"] = 1, ["HardSigmoid"] = 6, ["PRelu"] = 7,
    };

    /// <summary>The highest target opset the table of stable operators covers.</summary>
    public const int HighestTarget = 13;

    /// <summary>
    /// A copy of <paramref name="model"/> at default-domain opset <paramref name="targetOpset"/> (at most 13),
    /// or the model itself when it is already there or later.
    /// </summary>
    /// <exception cref="OnnxException">Some ops cannot be upgraded; all are listed.</exception>
    public static OnnxModel To(OnnxModel model, int targetOpset = HighestTarget)
    {
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
        bool crosses13 = targetOpset >= 13;

        var problems = new List<string>();
        foreach (var n in model.Graph.Nodes.Where(n => n.Domain.Length == 0))
        {
            if (n.OpType is "Squeeze" or "Unsqueeze" || (n.OpType == "Clip" && targetOpset >= 11)) continue;
            if (crosses13 && n.OpType is "Softmax" or "LogSoftmax")
            {
                // Before 13 these flatten to 2-D at `axis` (default 1); from 13 they work along `axis` (default -1).
                // The two agree on a rank-2 input with axis 1, which a Gemm or Flatten output always is.
                var producer = model.Graph.FindProducer(n.Inputs[0]);
                if (n.GetInt("axis", 1) != 1 || producer is null || producer.OpType is not ("Gemm" or "Flatten"))
                    problems.Add($"{n.OpType} ('{n.DisplayName}'): its meaning changed at opset 13 and its input is not provably 2-D");
                continue;
            }
            if (!crosses13 && ChangedAt13.TryGetValue(n.OpType, out var stable13))
            {
                if (from < stable13) problems.Add($"{n.OpType} ('{n.DisplayName}'): opset {from} predates its current form (opset {stable13})");
                continue;
            }
            if (!StableSince.TryGetValue(n.OpType, out var since))
                problems.Add($"{n.OpType} ('{n.DisplayName}'): its meaning changed before opset {targetOpset}");
            else if (from < since)
                problems.Add($"{n.OpType} ('{n.DisplayName}'): opset {from} predates its current form (opset {since})");
            else if (n.OpType == "BatchNormalization" && n.GetInt("spatial", 1) != 1)
                problems.Add($"BatchNormalization ('{n.DisplayName}'): spatial=0 has no opset {targetOpset} equivalent");
        }
        if (problems.Count > 0)
            throw new OnnxException($"cannot upgrade '{model.Graph.Name}' from opset {from} to {targetOpset}: {string.Join("; ", problems)}");

        var result = model;
        var g = result.Graph;
        foreach (var n in g.Nodes.Where(n => n.Domain.Length == 0))
        {
            switch (n.OpType)
            {
                case "BatchNormalization":
                    n.RemoveAttribute("spatial");
                    n.RemoveAttribute("consumed_inputs");
                    break;
                case "Softmax" or "LogSoftmax" when crosses13:
                    n.SetAttribute("axis", 1L);
                    break;
                case "Squeeze" or "Unsqueeze" when crosses13 && n.GetInts("axes") is { } axes:
                    n.RemoveAttribute("axes");
                    var axesName = g.UniqueName(n.DisplayName + "_axes");
                    g.AddInitializer(OnnxTensor.FromInt64s(axesName, [axes.Length], axes));
                    n.Inputs.Add(axesName);
                    break;
                case "Clip" when from < 11 && targetOpset >= 11:
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
            }
        }
        result.SetOpset("", targetOpset);
        var initializers = g.InitializerNames();
        foreach (var input in g.AllInputs.Where(i => initializers.Contains(i.Name)).ToList())
            g.RemoveInput(input.Name);
        if (result.IrVersion < IrVersionFor(targetOpset)) result.SetIrVersion(IrVersionFor(targetOpset));
        return targetOpset;
    }

    // ONNX's versioning table: the IR version that introduced each opset (7-8: IR 3, 9: 4, 10: 5, 11: 6, 12: 7, 13: 7);
    // at least 4, so initializers need not be graph inputs.
    private static long IrVersionFor(int opset) => opset switch { <= 9 => 4, 10 => 5, 11 => 6, _ => 7 };

    // Ops whose meaning changed at 13 (handled above when crossing it) -> the first version equal to opsets 11-12.
    private static readonly Dictionary<string, int> ChangedAt13 = new(StringComparer.Ordinal)
    {
        ["Softmax"] = 1, ["LogSoftmax"] = 1, ["ReduceSum"] = 1, ["Split"] = 2,
    };
}
