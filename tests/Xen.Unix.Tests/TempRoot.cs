namespace Xen.Unix.Tests;

/// <summary>A private root folder on tmpfs for one test, removed at the end.</summary>
public sealed class TempRoot : IDisposable
{
    public TempRoot()
    {
        var parent = Directory.Exists("/dev/shm") ? "/dev/shm" : System.IO.Path.GetTempPath();
        Path = System.IO.Path.Combine(parent, "xt-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public string Path { get; }

    /// <summary>Every file left under the root, relative to it.</summary>
    public string[] Leftovers() =>
        Directory.Exists(Path)
            ? [.. Directory.EnumerateFileSystemEntries(Path, "*", SearchOption.AllDirectories).Select(p => System.IO.Path.GetRelativePath(Path, p))]
            : [];

    public void Dispose()
    {
        if (Directory.Exists(Path))
            Directory.Delete(Path, recursive: true);
    }
}
