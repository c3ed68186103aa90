using System.Reflection;
using System.Runtime.InteropServices;

namespace Whittle.Reporting;

/// <summary>
/// The machine a report was written on and the versions of what measured it: latency ratios and
/// int8 speed-ups depend on the CPU and on ONNX Runtime's kernels, so a report says where it came from.
/// </summary>
/// <param name="Cores">Logical processors this process may use.</param>
/// <param name="OperatingSystem">The operating system as .NET describes it.</param>
/// <param name="Cpu">The CPU model (<c>/proc/cpuinfo</c> on Linux), or null where it cannot be read.</param>
/// <param name="MemoryBytes">Memory available to this process.</param>
/// <param name="Whittle">Whittle's version.</param>
/// <param name="OnnxRuntime">ONNX Runtime's native version.</param>
/// <param name="TorchSharp">TorchSharp's version (libtorch is not loaded to ask it).</param>
/// <param name="DotNet">The .NET runtime.</param>
public sealed record MachineInfo(int Cores, string OperatingSystem, string? Cpu, long MemoryBytes, string Whittle, string OnnxRuntime, string TorchSharp, string DotNet)
{
    /// <summary>This machine and this process's libraries.</summary>
    public static MachineInfo Current() => new(
        Environment.ProcessorCount,
        RuntimeInformation.OSDescription,
        ReadCpuModel(),
        GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
        Version(typeof(MachineInfo).Assembly),
        OnnxRuntimeVersion(),
        Version(typeof(TorchSharp.torch).Assembly),
        RuntimeInformation.FrameworkDescription);

    /// <summary>The first <c>model name</c> (x86) or <c>Model</c>/<c>Hardware</c> (ARM) line of <c>/proc/cpuinfo</c> text, or null.</summary>
    internal static string? CpuModel(string cpuinfo)
    {
        string? fallback = null;
        foreach (var line in cpuinfo.Split('\n'))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) continue;
            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (value.Length == 0) continue;
            if (key == "model name") return value;
            if (key is "Model" or "Hardware" or "cpu model") fallback ??= value;
        }
        return fallback;
    }

    private static string? ReadCpuModel()
    {
        try
        {
            return File.Exists("/proc/cpuinfo") ? CpuModel(File.ReadAllText("/proc/cpuinfo")) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string Version(Assembly assembly)
    {
        var v = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? assembly.GetName().Version?.ToString() ?? "unknown";
        // The source revision SourceLink appends (+<commit>) is not a version.
        int plus = v.IndexOf('+', StringComparison.Ordinal);
        return plus > 0 ? v[..plus] : v;
    }

    private static string OnnxRuntimeVersion()
    {
        try
        {
            return Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString();
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            return Version(typeof(Microsoft.ML.OnnxRuntime.OrtEnv).Assembly) + " (managed; the native library did not load)";
        }
    }
}
