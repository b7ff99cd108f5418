using System.Collections.Concurrent;

namespace Packages.Tests;

/// <summary>
/// Packs the solution once per test run into <c>artifacts/feed</c> (where the sample's nuget.config
/// looks), and restores the sample from it into a fresh packages folder, so that a package cached
/// under the same version by an earlier run can never hide a broken one.
/// </summary>
public sealed class FeedFixture : IDisposable
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(10);
    private readonly ConcurrentDictionary<string, Run> _builds = new();
    private readonly Lazy<Run> _restore;

    public FeedFixture()
    {
        Directory.CreateDirectory(Repository.Feed);
        foreach (var stale in Directory.EnumerateFiles(Repository.Feed, "*.*nupkg"))
            File.Delete(stale);
        // Debug, the configuration `dotnet test` has just built, so packing mostly reuses its output.
        Pack = DotNet.Cli(Repository.Root, BuildTimeout,
            "pack", "Mirage.sln", "-c", "Debug", "-o", Repository.Feed, "--disable-build-servers", "-nologo");
        PackagesFolder = Path.Combine(Path.GetTempPath(), $"mirage-packages-{Guid.NewGuid():N}");
        _restore = new Lazy<Run>(() => DotNet.Cli(Repository.Sample, BuildTimeout,
            "restore", "--packages", PackagesFolder, $"-p:MirageVersion={Repository.Version}", "--disable-build-servers"));
    }

    /// <summary>The output of <c>dotnet pack Mirage.sln</c>.</summary>
    public Run Pack { get; }

    /// <summary>Where the sample's packages are restored, fresh for this run.</summary>
    public string PackagesFolder { get; }

    /// <summary>The packed <c>.nupkg</c> of <paramref name="id"/>, after checking that packing worked.</summary>
    public string Package(string id, string extension = ".nupkg")
    {
        Assert.True(Pack.ExitCode == 0, $"dotnet pack Mirage.sln failed: {Pack}");
        var package = Path.Combine(Repository.Feed, $"{id}.{Repository.Version}{extension}");
        Assert.True(File.Exists(package), $"{id} is a library (a project folder at the repository root) but `dotnet pack Mirage.sln` did not pack it: is it in Mirage.sln?");
        return package;
    }

    /// <summary>
    /// Builds the sample with <c>-p:XenBackend=<paramref name="backend"/></c> (an empty string sets it
    /// empty; null leaves the project's choice), each into its own output folder, once per run.
    /// </summary>
    public (Run Build, string Program) BuildSample(string? backend)
    {
        Assert.True(Pack.ExitCode == 0, $"dotnet pack Mirage.sln failed: {Pack}");
        var restore = _restore.Value;
        Assert.True(restore.ExitCode == 0, $"Restoring the sample from the feed failed: {restore}");
        var variant = backend switch { null => "default", "" => "none", _ => backend };
        var build = _builds.GetOrAdd(variant, _ =>
        {
            List<string> arguments =
            [
                "build", "--no-restore", "--disable-build-servers", "-nologo",
                $"-p:MirageVersion={Repository.Version}",
                $"-p:IntermediateOutputPath=obj/{variant}/", $"-p:OutputPath=bin/{variant}/",
            ];
            if (backend is not null)
                arguments.Add($"-p:XenBackend={backend}");
            return DotNet.Cli(Repository.Sample, BuildTimeout, [.. arguments]);
        });
        return (build, Path.Combine(Repository.Sample, "bin", variant, "Consumer.dll"));
    }

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(PackagesFolder))
                Directory.Delete(PackagesFolder, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}

[CollectionDefinition(Name)]
public sealed class FeedCollection : ICollectionFixture<FeedFixture>
{
    public const string Name = "feed";
}
