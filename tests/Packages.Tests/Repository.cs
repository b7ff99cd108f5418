using System.Xml.Linq;

namespace Packages.Tests;

/// <summary>Where the repository is and what it holds, by the same rules as Directory.Build.props.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string Feed => Path.Combine(Root, "artifacts", "feed");

    public static string Sample => Path.Combine(Root, "samples", "Consumer");

    /// <summary>The packages' version, as Directory.Build.props sets it.</summary>
    public static string Version { get; } =
        XDocument.Load(Path.Combine(Root, "Directory.Build.props")).Descendants("Version").Single().Value;

    /// <summary>Every library: a project in a folder at the root, named after it, other than the CLI.</summary>
    public static IReadOnlyList<string> Libraries { get; } =
        [.. Directory.EnumerateDirectories(Root)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(name => name != "Mirage.Cli" && File.Exists(Path.Combine(Root, name, name + ".csproj")))
            .Order(StringComparer.Ordinal)];

    /// <summary>The backend packages: libraries that ship build-time selection.</summary>
    public static IReadOnlyList<string> Backends { get; } =
        [.. Libraries.Where(name => Directory.Exists(Path.Combine(Root, name, "buildTransitive")))];

    private static string FindRoot()
    {
        for (var dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "Mirage.sln")))
                return dir;
        }
        throw new InvalidOperationException($"No Mirage.sln above {AppContext.BaseDirectory}.");
    }
}
