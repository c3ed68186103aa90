using System.Globalization;
using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>
/// Option checks and model scaffolding shared by the architectures' options and factories. The
/// checks throw <see cref="InvalidOptionException"/> naming the option's property.
/// </summary>
internal static class ZooOptionChecks
{
    /// <summary>A class count of at least 2.</summary>
    public static int Classes(int classes, string option = "Classes") =>
        classes >= 2 ? classes : throw OptionChecks.Invalid(option, "at least 2 (a classifier needs two classes)", classes);

    /// <summary>A copy of an image shape [channels, height, width] with every size positive.</summary>
    public static int[] ImageShape(IReadOnlyList<int>? shape, string architecture, string option = "InputShape")
    {
        var s = (shape ?? ZooDefaults.InputShape).ToArray();
        if (s.Length != 3 || s.Any(d => d <= 0))
            throw new InvalidOptionException(option, $"{architecture} takes images [channels, height, width] with positive sizes, got {option} [{string.Join(",", s)}]");
        return s;
    }

    /// <summary>A dropout probability in [0, 1).</summary>
    public static float Probability(float p, string option = "Dropout") =>
        p >= 0f && p < 1f ? p : throw OptionChecks.Invalid(option, "in [0, 1)", p);

    /// <summary>A copy of a list of positive sizes (or the defaults), non-empty unless allowed.</summary>
    public static int[] PositiveList(IReadOnlyList<int>? values, IReadOnlyList<int> defaults, string option, bool allowEmpty)
    {
        var list = (values ?? defaults).ToArray();
        if (!allowEmpty && list.Length == 0) throw new InvalidOptionException(option, $"{option} must hold at least one size, got []");
        if (list.Any(v => v <= 0)) throw new InvalidOptionException(option, $"{option} must be positive, got [{string.Join(",", list)}]");
        return list;
    }

    /// <summary>The input of a Zoo model: <see cref="ZooDefaults.InputName"/>, [batch, ...sampleShape].</summary>
    public static GraphValue ImageInput(OnnxGraphBuilder builder, IReadOnlyList<int> sampleShape) =>
        builder.Input(ZooDefaults.InputName, [GraphValue.DynamicDimension, .. sampleShape.Select(d => (long)d)]);

    /// <summary>Declares the logits output, builds, and records the architecture and seed in the metadata.</summary>
    public static OnnxModel Finish(OnnxGraphBuilder builder, GraphValue logits, string architecture)
    {
        builder.Output(logits, ZooDefaults.OutputName);
        var model = builder.Build();
        model.SetMetadata(ZooDefaults.ArchitectureMetadataKey, architecture);
        model.SetMetadata(ZooDefaults.SeedMetadataKey, builder.Seed.ToString(CultureInfo.InvariantCulture));
        return model;
    }
}
