using Google.Protobuf;
using Whittle.Onnx;

namespace Whittle.Tests.Cli;

/// <summary>
/// Seeded mutants of real fixtures (byte flips, truncations, and protobuf-aware edits: wrong data
/// types, bad dims, cut raw data, dangling inputs, wrong attribute types, odd opsets, unknown ops)
/// through every verb that reads a model: each ends with exit code 0, 1 or 2 and a one-line error,
/// never an internal error, and never writes an output that does not load.
/// </summary>
[Collection(Whittle.Tests.Training.TorchCollection.Name)]
public sealed class VerbFuzzTests
{
    private static readonly string[] Fixtures = ["fmnist_classifier.onnx", "pytorch_cnn_opset13.onnx", "pytorch_resnet_opset13.onnx"];

    [Fact]
    public void MutatedModelsThroughEveryVerbGiveOnlyUserErrors()
    {
        var dir = TestPaths.TempDir();
        var seeds = Fixtures.Select(f => OnnxModel.Load(TestPaths.FixtureModel(f)).ToBytes()).ToArray();
        var rng = new Random(20261202);
        var failures = new List<string>();
        int outcomes0 = 0, outcomes1 = 0;
        const int mutants = 1000;
        for (int i = 0; i < mutants; i++)
        {
            var bytes = Mutate(seeds[i % seeds.Length], rng, out var how);
            var path = Path.Combine(dir, $"m{i}.onnx");
            File.WriteAllBytes(path, bytes);
            var output = Path.Combine(dir, $"o{i}.onnx");
            // Every mutant through the loaders of all verbs would take minutes; each gets info and one other verb in turn.
            string[][] verbs =
            [
                ["info", path],
                (i % 5) switch
                {
                    0 => ["check", path, "--samples", "2"],
                    1 => ["fold-bn", path, "-o", output],
                    2 => ["quantize", path, "--mode", "dynamic", "--verify-samples", "8", "--latency-batch", "2", "-o", output],
                    3 => ["prune", path, "--method", "magnitude", "--sparsity", "0.5", "-o", output],
                    _ => ["bench", path, "--batch", "1", "--runs", "1", "--warmup", "0"],
                },
            ];
            foreach (var args in verbs)
            {
                var r = CliRunner.Run(args);
                if (r.ExitCode == 0) outcomes0++; else outcomes1++;
                if (r.ExitCode is not (0 or 1 or 2) || r.Error.Contains("internal error") || r.Error.Trim().Split('\n').Length > 2)
                {
                    failures.Add($"{how} | {string.Join(' ', args.Take(1))}: exit {r.ExitCode}: {r.Error.Trim().Split('\n')[0]} (mutant kept: {path}.failed)");
                    File.Copy(path, path + ".failed", overwrite: true);
                }
                if (r.ExitCode == 0 && File.Exists(output))
                {
                    try { OnnxModel.Load(output); }
                    catch (OnnxException e) { failures.Add($"{how} | {args[0]}: wrote an output that does not load: {e.Message}"); }
                    File.Delete(output);
                }
            }
            File.Delete(path);
        }
        Assert.True(failures.Count == 0, $"{failures.Count} failures, e.g.:\n{string.Join("\n", failures.Distinct().Take(25))}");
        Assert.True(outcomes0 > 100 && outcomes1 > 100, $"{outcomes0} successes and {outcomes1} refusals: the mutations do not exercise both paths");
    }

    private static byte[] Mutate(byte[] seed, Random rng, out string how)
    {
        int kind = rng.Next(10);
        if (kind < 3)
        {
            var b = (byte[])seed.Clone();
            switch (kind)
            {
                case 0:
                    how = "bit flips";
                    for (int i = 0, n = rng.Next(1, 8); i < n; i++) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                    return b;
                case 1:
                    how = "truncation";
                    return b[..rng.Next(b.Length)];
                default:
                    how = "byte overwrite";
                    for (int i = 0, n = rng.Next(1, 16); i < n; i++) b[rng.Next(b.Length)] = (byte)rng.Next(256);
                    return b;
            }
        }
        var model = Whittle.Onnx.Proto.ModelProto.Parser.ParseFrom(seed);
        var g = model.Graph;
        switch (kind)
        {
            case 3:
            {
                var t = g.Initializer[rng.Next(g.Initializer.Count)];
                how = $"initializer data type {t.DataType} -> ";
                t.DataType = rng.Next(0, 24);
                how += t.DataType;
                break;
            }
            case 4:
            {
                var t = g.Initializer[rng.Next(g.Initializer.Count)];
                how = "initializer dim";
                if (t.Dims.Count > 0) t.Dims[rng.Next(t.Dims.Count)] = new[] { 0L, -1L, 1L, 3L, 1L << 40 }[rng.Next(5)];
                break;
            }
            case 5:
            {
                var t = g.Initializer[rng.Next(g.Initializer.Count)];
                how = "raw data cut";
                if (t.RawData.Length > 1) t.RawData = ByteString.CopyFrom(t.RawData.Span[..rng.Next(t.RawData.Length)]);
                break;
            }
            case 6:
            {
                var n = g.Node[rng.Next(g.Node.Count)];
                how = $"dangling input of {n.OpType}";
                if (n.Input.Count > 0) n.Input[rng.Next(n.Input.Count)] = rng.Next(2) == 0 ? "no_such_value" : "";
                break;
            }
            case 7:
            {
                var n = g.Node[rng.Next(g.Node.Count)];
                how = $"attribute of {n.OpType}";
                if (n.Attribute.Count > 0)
                {
                    var a = n.Attribute[rng.Next(n.Attribute.Count)];
                    switch (rng.Next(3))
                    {
                        case 0: a.Type = (Whittle.Onnx.Proto.AttributeProto.Types.AttributeType)rng.Next(0, 15); break;
                        case 1: a.Ints.Clear(); a.Ints.Add(rng.Next(-3, 100)); break;
                        default: n.Attribute.Remove(a); break;
                    }
                }
                break;
            }
            case 8:
            {
                how = "opset";
                foreach (var o in model.OpsetImport) o.Version = new[] { 1L, 6L, 7L, 9L, 11L, 25L, 68L }[rng.Next(7)];
                break;
            }
            default:
            {
                var n = g.Node[rng.Next(g.Node.Count)];
                how = $"op {n.OpType} -> ";
                n.OpType = new[] { "Relu", "Conv", "Gemm", "Add", "Reshape", "Frobnicate", "MaxPool", "Softmax", "Identity" }[rng.Next(9)];
                how += n.OpType;
                break;
            }
        }
        return model.ToByteArray();
    }
}
