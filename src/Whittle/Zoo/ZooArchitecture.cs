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
    /// <exception cref="InvalidOptionException">A setting the architecture does not have, or a value it cannot take.</exception>
    public OnnxModel Create(ZooModelSettings? settings = null)
    {
        settings ??= new ZooModelSettings();
        if (settings.Width is { } width && WidthMeaning is null)
            throw new InvalidOptionException(nameof(ZooModelSettings.Width), $"{Name} has no width setting, got Width {OptionChecks.Format(width)}");
        if (settings.Depth is { } depth && DepthMeaning is null)
            throw new InvalidOptionException(nameof(ZooModelSettings.Depth), $"{Name} has no depth setting, got Depth {depth}");
        if (InputKind != ZooInputKind.TokenIds && settings.VocabularySize is { } vocabulary)
            throw new InvalidOptionException(nameof(ZooModelSettings.VocabularySize), $"{Name} takes no vocabulary size (it is not a text model), got VocabularySize {vocabulary}");
        if (InputKind != ZooInputKind.UserItemIds && (settings.Users is not null || settings.Items is not null))
            throw new InvalidOptionException(settings.Users is not null ? nameof(ZooModelSettings.Users) : nameof(ZooModelSettings.Items),
                $"{Name} takes no user or item count (it is not a recommender), got Users {settings.Users?.ToString() ?? "null"} and Items {settings.Items?.ToString() ?? "null"}");
        if (InputKind == ZooInputKind.UserItemIds && (settings.Classes is not null || settings.InputShape is not null))
            throw new InvalidOptionException(settings.Classes is not null ? nameof(ZooModelSettings.Classes) : nameof(ZooModelSettings.InputShape),
                $"{Name} scores user-item pairs; it takes no classes or input shape, got Classes {settings.Classes?.ToString() ?? "null"} and InputShape {(settings.InputShape is { } s ? $"[{string.Join(",", s)}]" : "null")}");
        if (InputKind == ZooInputKind.TokenIds && settings.InputShape is { Count: not 1 })
            throw new InvalidOptionException(nameof(ZooModelSettings.InputShape), $"{Name} takes token ids [sequence length], got InputShape [{string.Join(",", settings.InputShape)}]");
        return _create(settings);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {Description}";
}
