using System.Globalization;
using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>Argument checks and model scaffolding shared by the architectures' options and factories.</summary>
internal static class ZooOptionChecks
{
    public static int Classes(int classes, string parameterName = "classes")
    {
        if (classes < 2) throw new ArgumentOutOfRangeException(parameterName, classes, "a classifier needs at least 2 classes");
        return classes;
    }

    /// <summary>A copy of an image shape [channels, height, width] with every size positive.</summary>
    public static int[] ImageShape(IReadOnlyList<int>? shape, string architecture, string parameterName = "inputShape")
    {
        var s = (shape ?? ZooDefaults.InputShape).ToArray();
        if (s.Length != 3 || s.Any(d => d <= 0))
            throw new ArgumentException($"{architecture} takes images [channels, height, width] with positive sizes; got [{string.Join(",", s)}]", parameterName);
        return s;
    }

    public static float Probability(float p, string parameterName)
    {
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(parameterName, p, "a dropout probability must be in [0, 1)");
        return p;
    }

    public static int[] PositiveList(IReadOnlyList<int>? values, IReadOnlyList<int> defaults, string what, string parameterName, bool allowEmpty)
    {
        var list = (values ?? defaults).ToArray();
        if (!allowEmpty && list.Length == 0) throw new ArgumentException($"{what}: give at least one", parameterName);
        if (list.Any(v => v <= 0)) throw new ArgumentException($"{what} must be positive; got [{string.Join(",", list)}]", parameterName);
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
