namespace Whittle.Quantization;

/// <summary>
/// A [K, N] weight quantized to 4 bits in blocks along K, in the layout of ONNX Runtime's
/// <c>com.microsoft.MatMulNBits</c> (bits = 4): for output column n and block b, the block's
/// block_size values are packed two per byte, the first in the low nibble.
/// </summary>
/// <param name="K">Input features (rows of the float weight).</param>
/// <param name="N">Output features (columns of the float weight).</param>
/// <param name="BlockSize">Values per block along K; the last block is padded with zeros.</param>
/// <param name="Packed">[N, blocks, BlockSize / 2] bytes.</param>
/// <param name="Scales">[N, blocks] scales.</param>
/// <param name="ZeroPoints">[N, blocks] zero points in [0, 15], unpacked.</param>
public sealed record Int4Blocks(int K, int N, int BlockSize, byte[] Packed, float[] Scales, int[] ZeroPoints)
{
    /// <summary>Blocks per column: ceil(K / BlockSize).</summary>
    public int BlocksPerColumn => (K + BlockSize - 1) / BlockSize;

    /// <summary>
    /// Zero points packed as MatMulNBits reads them: [N, ceil(blocks / 2)] bytes, block 2j in the low
    /// nibble and block 2j + 1 in the high nibble; an unused last high nibble is 0.
    /// </summary>
    public byte[] PackedZeroPoints()
    {
        int blocks = BlocksPerColumn, perColumn = (blocks + 1) / 2;
        var packed = new byte[N * perColumn];
        for (int n = 0; n < N; n++)
            for (int b = 0; b < blocks; b++)
                packed[n * perColumn + b / 2] |= (byte)(ZeroPoints[n * blocks + b] << (4 * (b % 2)));
        return packed;
    }
}

/// <summary>
/// Block-wise 4-bit round-to-nearest weight quantization, as ONNX Runtime's
/// <c>MatMulNBitsQuantizer</c> (default algorithm) lays it out: each block of BlockSize values
/// along K in one output column gets its own scale and zero point from the block's min and max
/// (through <see cref="QuantMath.ScaleZeroPoint(float, float, QuantizationType, bool, bool)"/> on
/// <see cref="QuantizationType.UInt4"/>, so 0 is exactly representable). Symmetric blocks use
/// [−absmax, absmax] with zero point 8 and scale 2·absmax/15: the grid then reaches −8·scale but
/// only +7·scale, so +absmax itself is clipped by one half step (ORT's 4-bit symmetric table has
/// the same full range). K not divisible by the block size: the last block is padded with zeros,
/// which quantize to the zero point, exactly as ORT pads the float weight.
/// </summary>
public static class BlockwiseInt4
{
    /// <summary>Quantizes a row-major [K, N] weight.</summary>
    /// <param name="weight">K·N values, row-major [K, N] (MatMul's B).</param>
    /// <param name="k">Rows (input features).</param>
    /// <param name="n">Columns (output features).</param>
    /// <param name="blockSize">Values per block along K: a power of two, at least 16.</param>
    /// <param name="symmetric">Symmetric blocks (zero point 8) instead of min/max.</param>
    /// <returns>The packed blocks.</returns>
    public static Int4Blocks Quantize(ReadOnlySpan<float> weight, int k, int n, int blockSize, bool symmetric)
    {
        CheckBlockSize(blockSize);
        if (k < 1 || n < 1 || (long)k * n != weight.Length)
            throw new ArgumentException($"[{k}, {n}] does not describe {weight.Length} values");
        int blocks = (k + blockSize - 1) / blockSize, half = blockSize / 2;
        var packed = new byte[(long)n * blocks * half];
        var scales = new float[n * blocks];
        var zeroPoints = new int[n * blocks];
        var block = new float[blockSize];
        var q = new int[blockSize];
        for (int col = 0; col < n; col++)
        {
            for (int b = 0; b < blocks; b++)
            {
                Array.Clear(block);
                int rows = Math.Min(blockSize, k - b * blockSize);
                for (int r = 0; r < rows; r++) block[r] = weight[(b * blockSize + r) * n + col];
                var (scale, zp) = ScaleZeroPoint(block, symmetric);
                QuantMath.Quantize(block, scale, zp, QuantizationType.UInt4, q);
                scales[col * blocks + b] = scale;
                zeroPoints[col * blocks + b] = zp;
                long offset = ((long)col * blocks + b) * half;
                for (int j = 0; j < half; j++) packed[offset + j] = (byte)(q[2 * j] | (q[2 * j + 1] << 4));
            }
        }
        return new Int4Blocks(k, n, blockSize, packed, scales, zeroPoints);
    }

    /// <summary>The float weight [K, N] the blocks stand for: (q − zero point) · scale, via <see cref="QuantMath.Dequantize"/>.</summary>
    public static float[] Dequantize(Int4Blocks blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        int perColumn = blocks.BlocksPerColumn, half = blocks.BlockSize / 2;
        var result = new float[(long)blocks.K * blocks.N];
        var q = new int[blocks.BlockSize];
        var x = new float[blocks.BlockSize];
        for (int col = 0; col < blocks.N; col++)
        {
            for (int b = 0; b < perColumn; b++)
            {
                long offset = ((long)col * perColumn + b) * half;
                for (int j = 0; j < half; j++)
                {
                    q[2 * j] = blocks.Packed[offset + j] & 0xF;
                    q[2 * j + 1] = blocks.Packed[offset + j] >> 4;
                }
                QuantMath.Dequantize(q, blocks.Scales[col * perColumn + b], blocks.ZeroPoints[col * perColumn + b], x);
                int rows = Math.Min(blocks.BlockSize, blocks.K - b * blocks.BlockSize);
                for (int r = 0; r < rows; r++) result[(b * blocks.BlockSize + r) * blocks.N + col] = x[r];
            }
        }
        return result;
    }

    /// <summary>Throws unless the block size is a power of two of at least 16 (MatMulNBits' rule).</summary>
    public static void CheckBlockSize(int blockSize)
    {
        if (blockSize < 16 || (blockSize & (blockSize - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "must be a power of two and at least 16 (e.g. 32, 64, 128)");
    }

    private static (float Scale, int ZeroPoint) ScaleZeroPoint(ReadOnlySpan<float> block, bool symmetric)
    {
        float min = 0, max = 0;
        foreach (var v in block)
        {
            if (v < min) min = v;
            if (v > max) max = v;
        }
        return QuantMath.ScaleZeroPoint(min, max, QuantizationType.UInt4, symmetric, reduceRange: false);
    }
}
