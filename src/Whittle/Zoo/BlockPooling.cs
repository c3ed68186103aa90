namespace Whittle.Zoo;

/// <summary>What a <see cref="ConvNet"/> does after each block of convolutions.</summary>
public enum BlockPooling
{
    /// <summary>2x2 max pooling, stride 2: halves height and width.</summary>
    Max,
    /// <summary>2x2 average pooling, stride 2: halves height and width.</summary>
    Average,
    /// <summary>No pooling: the blocks keep the input's height and width.</summary>
    None,
}
