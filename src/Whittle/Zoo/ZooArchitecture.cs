using Whittle.Onnx;

namespace Whittle.Zoo;

/// <summary>One entry of <see cref="ModelZoo"/>: a named architecture that builds models from <see cref="ZooModelSettings"/>.</summary>
public sealed class ZooArchitecture
{
    private readonly Func<ZooModelSettings, OnnxModel> _create;

    internal ZooArchitecture(string name, string description, string? widthMeaning, string? depthMeaning, Func<ZooModelSettings, OnnxModel> create,
        ZooInputKind inputKind = ZooInputKind.Features)
    {
        InputKind = inputKind;
        Name = name;
        Description = description;
        WidthMeaning = widthMeaning;
        DepthMeaning = depthMeaning;
        _create = create;
    }

    /// <summary>What the models take: features, token ids or user and item ids.</summary>
    public ZooInputKind InputKind { get; }

    /// <summary>The registry name, e.g. <c>resnet-cifar</c>.</summary>
    public string Name { get; }

    /// <summary>One line on what the architecture is and its default size.</summary>
    public string Description { get; }

    /// <summary>What <see cref="ZooModelSettings.Width"/> scales, or null when the architecture has no width setting.</summary>
    public string? WidthMeaning { get; }

    /// <summary>What <see cref="ZooModelSettings.Depth"/> sets, or null when the architecture has no depth setting.</summary>
    public string? DepthMeaning { get; }

    /// <summary>Builds a model; settings left null keep the architecture's defaults.</summary>
    /// <exception cref="ArgumentException">A setting the architecture does not have, or a value it cannot take.</exception>
    public OnnxModel Create(ZooModelSettings? settings = null)
    {
        settings ??= new ZooModelSettings();
        if (settings.Width is not null && WidthMeaning is null)
            throw new ArgumentException($"{Name} has no width setting", nameof(settings));
        if (settings.Depth is not null && DepthMeaning is null)
            throw new ArgumentException($"{Name} has no depth setting", nameof(settings));
        if (InputKind != ZooInputKind.TokenIds && settings.VocabularySize is not null)
            throw new ArgumentException($"{Name} takes no vocabulary size (it is not a text model)", nameof(settings));
        if (InputKind != ZooInputKind.UserItemIds && (settings.Users is not null || settings.Items is not null))
            throw new ArgumentException($"{Name} takes no user or item count (it is not a recommender)", nameof(settings));
        if (InputKind == ZooInputKind.UserItemIds && (settings.Classes is not null || settings.InputShape is not null))
            throw new ArgumentException($"{Name} scores user-item pairs; it takes no classes or input shape", nameof(settings));
        if (InputKind == ZooInputKind.TokenIds && settings.InputShape is { Count: not 1 })
            throw new ArgumentException($"{Name} takes token ids [sequence length]; got an input shape of [{string.Join(",", settings.InputShape)}]", nameof(settings));
        return _create(settings);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {Description}";
}
