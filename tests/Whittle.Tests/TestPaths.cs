namespace Whittle.Tests;

/// <summary>Locations of the repository's bundled data and fixtures, and of optional Debian data.</summary>
internal static class TestPaths
{
    private static readonly Lazy<string> Root = new(() =>
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Whittle.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException("cannot find the repository root (Whittle.slnx) above " + AppContext.BaseDirectory);
    });

    public static string RepoRoot => Root.Value;

    public static string Fixtures => Path.Combine(RepoRoot, "tests", "fixtures");

    public static string FixtureModel(string name) => Path.Combine(Fixtures, "models", name);

    public static string Data => Path.Combine(RepoRoot, "data");

    /// <summary>Debian package libonnx-testdata (installed by .ci/run).</summary>
    public const string OnnxTestData = "/usr/share/libonnx-testdata/data";

    public static bool HasOnnxTestData => Directory.Exists(Path.Combine(OnnxTestData, "node"));

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "whittle-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
