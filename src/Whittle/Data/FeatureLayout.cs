namespace Whittle.Data;

/// <summary>How each sample's features are shaped after preprocessing.</summary>
public enum FeatureLayout
{
    /// <summary>Keep the sample shape the loader produced (images load as [C, H, W]).</summary>
    AsLoaded,

    /// <summary>
    /// Channels first: [C, H, W] per sample, so a batch is [N, C, H, W]. A [H, W] sample gains
    /// a single channel axis; a flat sample is an error because its height and width are unknown
    /// (give it a shape first with <see cref="TensorDataset.WithSampleShape"/>).
    /// </summary>
    Nchw,

    /// <summary>One axis per sample: [C·H·W], so a batch is [N, features].</summary>
    Flat,
}
