namespace Whittle.Data;

/// <summary>The contents of an unsigned-byte IDX file: its dimensions and its elements in row-major order.</summary>
public sealed class IdxArray
{
    internal IdxArray(int[] dimensions, byte[] data)
    {
        Dimensions = dimensions;
        Data = data;
    }

    /// <summary>The dimensions from the file header, e.g. [60000, 28, 28].</summary>
    public int[] Dimensions { get; }

    /// <summary>The number of dimensions.</summary>
    public int Rank => Dimensions.Length;

    /// <summary>The elements in row-major order.</summary>
    public byte[] Data { get; }
}
