namespace Whittle.Data;

/// <summary>What kind of data a <see cref="DatasetSpec"/> names; it decides how the data opens and which task it serves.</summary>
public enum DatasetFamily
{
    /// <summary>Feature tensors with class labels (images, CSV, NPY): <see cref="DatasetSpec.Open()"/>.</summary>
    Tensors,

    /// <summary>Labelled texts: <see cref="DatasetSpec.OpenText"/>, encoded with a <see cref="Vocabulary"/>.</summary>
    Text,

    /// <summary>Recommender user-item interactions: <see cref="DatasetSpec.OpenInteractions"/>.</summary>
    Interactions,
}
