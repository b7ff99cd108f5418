using System.IO.Compression;
using System.Xml.Linq;

namespace Packages.Tests;

/// <summary>What `dotnet pack Mirage.sln` puts in the feed, package by package.</summary>
[Collection(FeedCollection.Name)]
public sealed class PackageTests(FeedFixture feed)
{
    public static TheoryData<string> Libraries => new(Repository.Libraries);

    public static TheoryData<string> Backends => new(Repository.Backends);

    [Fact]
    public void Packing_the_solution_succeeds_without_warnings()
    {
        Assert.True(feed.Pack.ExitCode == 0, feed.Pack.ToString());
        Assert.DoesNotContain(": warning ", feed.Pack.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_feed_holds_one_package_per_library_and_the_cli_tool_only()
    {
        _ = feed.Package("Xen.Evtchn");
        var packed = Directory.EnumerateFiles(Repository.Feed, "*.nupkg")
            .Select(path => Path.GetFileName(path)[..^$".{Repository.Version}.nupkg".Length])
            .Order(StringComparer.Ordinal);
        Assert.Equal(Repository.Libraries.Append("Mirage.Cli").Order(StringComparer.Ordinal), packed);
    }

    [Theory]
    [MemberData(nameof(Libraries))]
    public void Package_carries_description_license_tags_readme_and_repository(string id)
    {
        var nuspec = Nuspec(id);
        Assert.Equal(id, Field(nuspec, "id"));
        Assert.Equal(Repository.Version, Field(nuspec, "version"));
        Assert.True(Field(nuspec, "description").Length >= 40, $"{id}'s description is too thin.");
        Assert.Equal("ISC", Field(nuspec, "license"));
        Assert.Contains("xen", Field(nuspec, "tags").Split(' '));
        Assert.Equal("README.md", Field(nuspec, "readme"));
        var repository = nuspec.Descendants().Single(e => e.Name.LocalName == "repository");
        Assert.Equal("git", repository.Attribute("type")?.Value);
        Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "");
    }

    [Theory]
    [MemberData(nameof(Libraries))]
    public void Package_holds_the_assembly_its_xml_docs_and_readme(string id)
    {
        var entries = Entries(feed.Package(id));
        Assert.Contains($"lib/net10.0/{id}.dll", entries);
        Assert.Contains($"lib/net10.0/{id}.xml", entries);
        Assert.Contains("README.md", entries);
    }

    [Theory]
    [MemberData(nameof(Libraries))]
    public void Readme_shows_an_example_and_names_the_packages_that_go_with_it(string id)
    {
        using var package = ZipFile.OpenRead(feed.Package(id));
        using var reader = new StreamReader(package.GetEntry("README.md")!.Open());
        var readme = reader.ReadToEnd();
        Assert.Contains("```csharp", readme, StringComparison.Ordinal);
        var others = Repository.Libraries.Where(other => other != id && readme.Contains($"`{other}`", StringComparison.Ordinal));
        Assert.NotEmpty(others);
    }

    [Theory]
    [MemberData(nameof(Libraries))]
    public void Symbols_package_holds_the_pdb(string id)
    {
        Assert.Contains($"lib/net10.0/{id}.pdb", Entries(feed.Package(id, ".snupkg")));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Backend_package_ships_its_selection_targets_in_buildTransitive(string id)
    {
        var entries = Entries(feed.Package(id));
        Assert.Contains($"buildTransitive/{id}.targets", entries);
        Assert.Contains("buildTransitive/XenBackend.targets", entries);
    }

    [Fact]
    public void Cli_installs_as_a_dotnet_tool_named_mirage()
    {
        _ = feed.Package("Mirage.Cli");
        var work = Directory.CreateTempSubdirectory("mirage-tool-");
        try
        {
            // Only the local feed: a package of the same name elsewhere must not stand in for ours.
            var config = Path.Combine(work.FullName, "nuget.config");
            File.WriteAllText(config, $"""
                <configuration>
                  <packageSources><clear /><add key="mirage" value="{Repository.Feed}" /></packageSources>
                </configuration>
                """);
            var tools = Path.Combine(work.FullName, "tools");
            var install = DotNet.Cli(work.FullName, TimeSpan.FromMinutes(3),
                "tool", "install", "Mirage.Cli", "--version", Repository.Version, "--tool-path", tools, "--configfile", config);
            Assert.True(install.ExitCode == 0, install.ToString());

            var help = DotNet.Program(Path.Combine(tools, "mirage"), work.FullName, TimeSpan.FromMinutes(1), null, "--help");
            Assert.True(help.ExitCode == 0, help.ToString());
            Assert.Contains("mirage", help.Output, StringComparison.Ordinal);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private XElement Nuspec(string id)
    {
        using var package = ZipFile.OpenRead(feed.Package(id));
        using var stream = package.GetEntry($"{id}.nuspec")!.Open();
        return XElement.Load(stream);
    }

    private static string Field(XElement nuspec, string name) =>
        nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value ?? "";

    private static List<string> Entries(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        return [.. zip.Entries.Select(e => e.FullName)];
    }
}
