namespace Whittle.Data;

/// <summary>Which of a dataset's predefined parts to load.</summary>
public enum DatasetSplit
{
    /// <summary>The training part (IDX prefix <c>train</c>).</summary>
    Train,

    /// <summary>The held-out test part (IDX prefix <c>t10k</c> or <c>test</c>).</summary>
    Test,
}
