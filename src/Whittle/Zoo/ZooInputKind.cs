namespace Whittle.Zoo;

/// <summary>What a Zoo architecture takes as input, so tools know which data and settings it needs.</summary>
public enum ZooInputKind
{
    /// <summary>Float32 images or features <c>input</c> [batch, ...input shape]; classification logits.</summary>
    Features,

    /// <summary>Int64 token ids <c>input</c> [batch, sequence length] from a <see cref="Whittle.Data.Vocabulary"/>; classification logits.</summary>
    TokenIds,

    /// <summary>Int64 ids <c>user</c> [batch] and <c>item</c> [batch]; one relevance logit per pair, [batch, 1].</summary>
    UserItemIds,
}
