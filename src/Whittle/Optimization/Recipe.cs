using System.Text.Json;
using System.Text.Json.Serialization;
using Whittle.Onnx;

namespace Whittle.Optimization;

/// <summary>
/// One step of a <see cref="Recipe"/>: what one verb does, with that verb's options. Written in JSON
/// as an object whose <c>"step"</c> names it (<c>prune</c>, <c>fine-tune</c>, <c>quantize</c>,
/// <c>fold-bn</c>); every other property is optional and defaults to the verb's default.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "step", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(PruneStep), "prune")]
[JsonDerivedType(typeof(FineTuneStep), "fine-tune")]
[JsonDerivedType(typeof(QuantizeStep), "quantize")]
[JsonDerivedType(typeof(FoldBatchNormStep), "fold-bn")]
public abstract record RecipeStep
{
    /// <summary>A one-line description, as reports print it.</summary>
    public abstract string Describe();
}

/// <summary><c>whittle prune</c>: magnitude (unstructured), N:M 2:4 or channel (structured) pruning with recovery fine-tuning.</summary>
/// <param name="Method">magnitude, nm or channel.</param>
/// <param name="Amount">Sparsity (magnitude) or the fraction of channels removed (channel); ignored for nm (2:4).</param>
/// <param name="Global">Magnitude: one global LAMP ranking instead of per layer.</param>
/// <param name="Schedule">oneshot, iterative or agp.</param>
/// <param name="FineTuneEpochs">Recovery fine-tuning epochs (the source model teaching, BatchNorms re-inserted).</param>
/// <param name="LearningRate">Fine-tuning learning rate (AdamW, cosine); null for <c>prune</c>'s default of the method (4e-3 channel, 2e-3 otherwise).</param>
/// <param name="RoundTo">Channel: kept channels per group are a multiple of this (<c>prune --round-to</c>); 1 for none.</param>
/// <param name="MinChannels">Channel: every group keeps at least this many channels (<c>prune --min-channels</c>); 1 for no floor.</param>
public sealed record PruneStep(string Method = "channel", double Amount = 0.5, bool Global = false, string Schedule = "oneshot", int FineTuneEpochs = 2,
    double? LearningRate = null, int RoundTo = 1, int MinChannels = 1) : RecipeStep
{
    /// <inheritdoc />
    public override string Describe() => Method switch
    {
        "nm" => $"prune 2:4 ft{FineTuneEpochs}",
        "channel" => $"prune channel {Percent(Amount)}{(RoundTo > 1 ? $" ×{RoundTo}" : "")}{(MinChannels > 1 ? $" ≥{MinChannels}" : "")} {Schedule} ft{FineTuneEpochs}",
        _ => $"prune magnitude {Percent(Amount)}{(Global ? " global" : "")} {Schedule} ft{FineTuneEpochs}",
    };

    private static string Percent(double x) => (x * 100).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + "%";
}

/// <summary><c>whittle distill</c> of the current model from the recipe's input model (the teacher): recovery or further training.</summary>
/// <param name="Epochs">Epochs.</param>
/// <param name="LearningRate">AdamW learning rate (cosine).</param>
/// <param name="Temperature">Distillation temperature (default: <c>distill</c>'s).</param>
/// <param name="Alpha">Weight of the teacher's soft targets (default: <c>distill</c>'s; the adaptive policy may lower it when the teacher stops helping).</param>
public sealed record FineTuneStep(int Epochs = 2, double LearningRate = 2e-3, double Temperature = Distillation.ModelDistillationOptions.DefaultTemperature,
    double Alpha = Distillation.ModelDistillationOptions.DefaultAlpha) : RecipeStep
{
    /// <inheritdoc />
    public override string Describe() => $"fine-tune {Epochs}ep from input (T {Temperature}, α {Alpha})";
}

/// <summary><c>whittle quantize</c>: static int8 (or int4 weights) QDQ, or quantization-aware training.</summary>
/// <param name="Mode">static or qat.</param>
/// <param name="WeightBits">8 or 4.</param>
/// <param name="Objective">latency, size or accuracy (static placement).</param>
/// <param name="Calibration">minmax, percentile, entropy or mse.</param>
/// <param name="FineTuneEpochs">QAT epochs.</param>
public sealed record QuantizeStep(string Mode = "static", int WeightBits = 8, string Objective = "latency", string Calibration = "minmax", int FineTuneEpochs = 2) : RecipeStep
{
    /// <inheritdoc />
    public override string Describe() => Mode == "qat"
        ? $"qat int{WeightBits} {FineTuneEpochs}ep"
        : $"static int{WeightBits} {Objective}{(Calibration == "minmax" ? "" : " " + Calibration)}";
}

/// <summary><c>whittle fold-bn</c>: fold every BatchNormalization into the layer before it.</summary>
public sealed record FoldBatchNormStep : RecipeStep
{
    /// <inheritdoc />
    public override string Describe() => "fold BatchNorm";
}

/// <summary>
/// An ordered list of steps that turns a model into an optimized one; <see cref="RecipeRunner"/>
/// runs it exactly. Stored as JSON: <c>{"steps": [{"step": "prune", "method": "channel", "amount": 0.5}, {"step": "quantize"}]}</c>.
/// </summary>
/// <param name="Steps">The steps, in order; at least one.</param>
public sealed record Recipe(IReadOnlyList<RecipeStep> Steps)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowOutOfOrderMetadataProperties = true,
        RespectRequiredConstructorParameters = false,
    };

    /// <summary>The recipe as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Writes the recipe atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson() + "\n");

    /// <summary>Parses and checks a recipe.</summary>
    /// <exception cref="InvalidOptionException">The JSON is malformed, names an unknown step or property, or a step's values are out of range.</exception>
    public static Recipe Parse(string json, string label = "recipe")
    {
        Recipe? recipe;
        try
        {
            recipe = JsonSerializer.Deserialize<Recipe>(json, Json);
        }
        catch (JsonException e)
        {
            throw new InvalidOptionException("Recipe", $"{label}: {e.Message.Split(" Path:")[0].Replace("$.", "", StringComparison.Ordinal)}" +
                (e.Path is { } p ? $" (at {p})" : "") + "; steps are prune, fine-tune, quantize and fold-bn");
        }
        catch (NotSupportedException e)
        {
            throw new InvalidOptionException("Recipe", $"{label}: {e.Message}; every step needs \"step\": prune, fine-tune, quantize or fold-bn");
        }
        if (recipe?.Steps is not { Count: > 0 } steps) throw new InvalidOptionException("Recipe", $"{label}: a recipe needs \"steps\" with at least one step");
        if (steps.Any(s => s is null)) throw new InvalidOptionException("Recipe", $"{label}: a step is null");
        RecipeRunner.Check(recipe, label);
        return recipe;
    }

    /// <summary>Loads and checks a recipe file.</summary>
    public static Recipe Load(string path)
    {
        if (!File.Exists(path)) throw new InvalidOptionException("Recipe", $"recipe file '{path}' does not exist");
        return Parse(File.ReadAllText(path), path);
    }
}
