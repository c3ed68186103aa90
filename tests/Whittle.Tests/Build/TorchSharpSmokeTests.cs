using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using static TorchSharp.torch;

namespace Whittle.Tests.Build;

/// <summary>
/// Proves TorchSharp's native backend loads and computes in the test output, and that
/// build/TorchSharpCompat.targets left libLibTorchSharp.so loadable on this machine's libstdc++
/// (Debian 12 lacks GLIBCXX_3.4.32, which TorchSharp 0.107 asks for).
/// </summary>
public sealed class TorchSharpSmokeTests
{
    private const string Version = "GLIBCXX_3.4.32";
    private const string LibStdCxx = "libstdc++.so.6";
    private const ushort VerFlgWeak = 0x2;

    [Fact]
    public void Matmul_OfKnownMatrices_GivesExactProduct()
    {
        using var scope = NewDisposeScope();
        using var a = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, new long[] { 2, 3 });
        using var b = tensor(new float[] { 7, 8, 9, 10, 11, 12 }, new long[] { 3, 2 });

        using var c = a.matmul(b);

        Assert.Equal(new long[] { 2, 2 }, c.shape);
        // [1 2 3; 4 5 6] x [7 8; 9 10; 11 12] = [58 64; 139 154], exact in float32.
        Assert.Equal(new float[] { 58, 64, 139, 154 }, c.data<float>().ToArray());
    }

    [Fact]
    public void Backward_OfSumOfSquaresPlusDot_GivesAnalyticGradient()
    {
        using var scope = NewDisposeScope();
        using var x = tensor(new double[] { 1, -2, 3 }, requires_grad: true);
        using var w = tensor(new double[] { 0.5, 4, -1 });

        // y = sum(x^2) + w.x  =>  dy/dx = 2x + w
        using var y = (x * x).sum() + (w * x).sum();
        y.backward();

        Assert.Equal(1 + 4 + 9 + (0.5 - 8 - 3), y.item<double>());
        using var grad = x.grad!;
        Assert.Equal(new double[] { 2.5, 0, 5 }, grad.data<double>().ToArray());
    }

    /// <summary>
    /// Either the libstdc++ this process runs with defines GLIBCXX_3.4.32, or the output copy of
    /// libLibTorchSharp.so marks that requirement weak (VER_FLG_WEAK in .gnu.version_r).
    /// </summary>
    [Fact]
    public void OutputLibTorchSharp_IsLoadableWithThisLibStdCxx()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return; // TorchSharp-cpu's Linux native library is x64 only; nothing to check elsewhere.

        string[] candidates =
        [
            Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
            Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so"),
        ];
        string[] present = candidates.Where(File.Exists).ToArray();
        Assert.True(present.Length > 0, "libLibTorchSharp.so not found in the test output: " + string.Join(", ", candidates));

        // The runtime itself links libstdc++, so /proc/self/maps names the exact file in use.
        string libstdcxx = LoadedLibStdCxx()
            ?? new[] { "/usr/lib/x86_64-linux-gnu/", "/lib/x86_64-linux-gnu/", "/usr/lib64/", "/usr/lib/" }
                .Select(dir => dir + LibStdCxx).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("cannot locate libstdc++.so.6");
        bool systemHasVersion = ElfVersions.Definitions(File.ReadAllBytes(libstdcxx)).Contains(Version);

        foreach (string path in present)
        {
            ushort? flags = ElfVersions.NeededFlags(File.ReadAllBytes(path), LibStdCxx, Version);
            if (flags is null || systemHasVersion)
                continue; // no such requirement, or satisfied as is
            Assert.True((flags.Value & VerFlgWeak) != 0,
                $"{path} requires {Version} (vna_flags 0x{flags:x}) but {libstdcxx} lacks it; " +
                "build/TorchSharpCompat.targets should have marked it weak.");
        }
    }

    private static string? LoadedLibStdCxx()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps))
            return null;
        return File.ReadLines(maps)
            .Select(line => line.IndexOf('/') is var slash and >= 0 ? line[slash..].Trim() : null)
            .FirstOrDefault(path => path is not null && Path.GetFileName(path).StartsWith("libstdc++.so.6", StringComparison.Ordinal));
    }

    /// <summary>
    /// Minimal ELF64 little-endian reader for symbol versioning, written independently of
    /// the patcher in build/TorchSharpCompat.targets so the test checks it rather than mirrors it.
    /// </summary>
    private static class ElfVersions
    {
        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;

        private readonly record struct Section(uint Type, int Offset, int Size, uint Link, uint Info);

        /// <summary>vna_flags of <paramref name="version"/> needed from <paramref name="file"/>, or null.</summary>
        public static ushort? NeededFlags(ReadOnlySpan<byte> elf, string file, string version)
        {
            Section[] sections = Sections(elf);
            foreach (Section s in sections.Where(s => s.Type == ShtGnuVerneed))
            {
                Section strtab = sections[s.Link];
                int need = s.Offset;
                for (uint i = 0; i < s.Info; i++)
                {
                    ushort count = U16(elf, need + 2);
                    if (Str(elf, strtab, U32(elf, need + 4)) == file)
                    {
                        int aux = need + (int)U32(elf, need + 8);
                        for (int k = 0; k < count; k++)
                        {
                            if (Str(elf, strtab, U32(elf, aux + 8)) == version)
                                return U16(elf, aux + 4);
                            aux += (int)U32(elf, aux + 12);
                        }
                    }
                    uint next = U32(elf, need + 12);
                    if (next == 0)
                        break;
                    need += (int)next;
                }
            }
            return null;
        }

        /// <summary>Version names a shared object defines (.gnu.version_d).</summary>
        public static HashSet<string> Definitions(ReadOnlySpan<byte> elf)
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            Section[] sections = Sections(elf);
            foreach (Section s in sections.Where(s => s.Type == ShtGnuVerdef))
            {
                Section strtab = sections[s.Link];
                int def = s.Offset;
                for (uint i = 0; i < s.Info; i++)
                {
                    if (U16(elf, def + 6) > 0)
                        names.Add(Str(elf, strtab, U32(elf, def + (int)U32(elf, def + 12))));
                    uint next = U32(elf, def + 16);
                    if (next == 0)
                        break;
                    def += (int)next;
                }
            }
            return names;
        }

        private static Section[] Sections(ReadOnlySpan<byte> elf)
        {
            Assert.True(elf.Length > 64 && elf[0] == 0x7f && elf[1..4].SequenceEqual("ELF"u8), "not an ELF file");
            Assert.True(elf[4] == 2 && elf[5] == 1, "not ELF64 little-endian");
            int shoff = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(elf[0x28..]));
            int shentsize = U16(elf, 0x3a);
            int shnum = U16(elf, 0x3c);
            var sections = new Section[shnum];
            for (int i = 0; i < shnum; i++)
            {
                int h = shoff + i * shentsize;
                sections[i] = new Section(
                    Type: U32(elf, h + 4),
                    Offset: checked((int)BinaryPrimitives.ReadUInt64LittleEndian(elf[(h + 24)..])),
                    Size: checked((int)BinaryPrimitives.ReadUInt64LittleEndian(elf[(h + 32)..])),
                    Link: U32(elf, h + 40),
                    Info: U32(elf, h + 44));
            }
            return sections;
        }

        private static string Str(ReadOnlySpan<byte> elf, Section strtab, uint offset)
        {
            ReadOnlySpan<byte> rest = elf.Slice(strtab.Offset, strtab.Size)[(int)offset..];
            int end = rest.IndexOf((byte)0);
            return Encoding.ASCII.GetString(end < 0 ? rest : rest[..end]);
        }

        private static ushort U16(ReadOnlySpan<byte> elf, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(elf[offset..]);

        private static uint U32(ReadOnlySpan<byte> elf, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(elf[offset..]);
    }
}
