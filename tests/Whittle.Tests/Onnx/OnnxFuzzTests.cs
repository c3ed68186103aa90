using Whittle.Onnx;

namespace Whittle.Tests.Onnx;

public class OnnxFuzzTests
{
    /// <summary>
    /// Feeds thousands of mutated model files (bit flips, byte overwrites, truncations,
    /// insertions, splices) to the loader and to the reads a tool does next (validation,
    /// tensor decoding): only <see cref="OnnxException"/> may come out.
    /// </summary>
    [Fact]
    public void MutatedModelsFailOnlyWithOnnxException()
    {
        var seeds = new List<byte[]> { OnnxModelTests.TinyConvModel().ToBytes() };
        var fixture = TestPaths.FixtureModel("pytorch_cnn_opset13.onnx");
        if (File.Exists(fixture)) seeds.Add(File.ReadAllBytes(fixture));
        var rng = new Random(12345);
        int loaded = 0, rejected = 0;
        for (int iteration = 0; iteration < 3000; iteration++)
        {
            var seed = seeds[iteration % seeds.Count];
            var bytes = Mutate(seed, rng);
            try
            {
                var model = OnnxModel.Load(bytes);
                model.Validate();
                model.Graph.OpHistogram();
                foreach (var t in model.Graph.Initializers)
                {
                    if (t.ElementCount > 10_000_000) continue;
                    if (t.DataType == OnnxDataType.Float) t.ToFloatArray();
                    else if (t.DataType == OnnxDataType.Int64) t.ToInt64Array();
                }
                foreach (var n in model.Graph.Nodes)
                    foreach (var a in n.AttributeNames)
                        _ = n.GetAttributeType(a);
                loaded++;
            }
            catch (OnnxException)
            {
                rejected++;
            }
        }
        // Both outcomes must occur, or the mutations are not exercising the loader.
        Assert.True(loaded > 100, $"only {loaded} mutants loaded");
        Assert.True(rejected > 100, $"only {rejected} mutants rejected");
    }

    private static byte[] Mutate(byte[] seed, Random rng)
    {
        var b = (byte[])seed.Clone();
        switch (rng.Next(5))
        {
            case 0: // flip a few bits
                for (int i = 0, n = rng.Next(1, 8); i < n; i++) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                return b;
            case 1: // overwrite bytes with random values
                for (int i = 0, n = rng.Next(1, 16); i < n; i++) b[rng.Next(b.Length)] = (byte)rng.Next(256);
                return b;
            case 2: // truncate
                return b[..rng.Next(b.Length)];
            case 3: // insert random bytes
            {
                int at = rng.Next(b.Length), n = rng.Next(1, 32);
                var ins = new byte[n];
                rng.NextBytes(ins);
                return [.. b[..at], .. ins, .. b[at..]];
            }
            default: // duplicate a slice
            {
                int from = rng.Next(b.Length), len = rng.Next(1, Math.Min(256, b.Length - from) + 1), at = rng.Next(b.Length);
                return [.. b[..at], .. b.AsSpan(from, len).ToArray(), .. b[at..]];
            }
        }
    }
}
