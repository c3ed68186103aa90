using System.Runtime.InteropServices;

namespace Whittle.Onnx;

/// <summary>
/// Whether two paths name the same file: the same resolved path (symbolic links of the file and
/// its directories followed), or, on Linux, the same (device, inode) pair, which also catches
/// hard links and bind mounts. Where the identity cannot be read (another OS, a file that does
/// not exist yet) the resolved paths decide.
/// </summary>
internal static class FileIdentity
{
    /// <summary>True when <paramref name="a"/> and <paramref name="b"/> are the same file.</summary>
    public static bool Same(string a, string b)
    {
        if (string.Equals(Resolve(a), Resolve(b), StringComparison.Ordinal)) return true;
        return TryGet(a, out var x) && TryGet(b, out var y) && x == y;
    }

    /// <summary>The file a path finally names: absolute, with symbolic links of the file and its directory followed.</summary>
    public static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full);
        if (directory is not null && Directory.Exists(directory))
        {
            var real = new DirectoryInfo(directory);
            var linked = real.LinkTarget is not null ? real.ResolveLinkTarget(returnFinalTarget: true) : null;
            if (linked is not null) full = Path.Combine(linked.FullName, Path.GetFileName(full));
        }
        var file = new FileInfo(full);
        if (file.Exists && file.LinkTarget is not null && file.ResolveLinkTarget(returnFinalTarget: true) is { } target) return Path.GetFullPath(target.FullName);
        return full;
    }

    /// <summary>The (device, inode) of an existing file, following symbolic links; false where it cannot be read.</summary>
    public static bool TryGet(string path, out (ulong Device, ulong Inode) identity)
    {
        identity = default;
        if (!OperatingSystem.IsLinux() || !File.Exists(path)) return false;
        try
        {
            // statx, not stat: struct statx has one layout on every Linux architecture, while
            // struct stat differs between x86-64, arm64 and 32-bit ABIs.
            var buffer = new byte[256];
            if (Statx(AtFdCwd, path, 0, StatxIno, buffer) != 0) return false;
            uint mask = BitConverter.ToUInt32(buffer, 0);
            if ((mask & StatxIno) == 0) return false;
            ulong inode = BitConverter.ToUInt64(buffer, 32);
            uint major = BitConverter.ToUInt32(buffer, 136), minor = BitConverter.ToUInt32(buffer, 140);
            identity = (((ulong)major << 32) | minor, inode);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // A C library without statx (glibc before 2.28, some musl builds): paths decide.
            return false;
        }
    }

    private const int AtFdCwd = -100;
    private const uint StatxIno = 0x100;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
}
