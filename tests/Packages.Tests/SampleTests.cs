namespace Packages.Tests;

/// <summary>samples/Consumer, restored from the feed: the backend is chosen at build time.</summary>
[Collection(FeedCollection.Name)]
public sealed class SampleTests(FeedFixture feed)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public void In_heap_the_project_default_runs_both_domains_in_one_process()
    {
        var output = RunSample(null);
        Assert.StartsWith("backend: InHeap, both domains in this process", output, StringComparison.Ordinal);
        AssertDriversWorked(output);
    }

    [Fact]
    public void The_XenBackend_property_switches_the_same_code_to_two_processes_over_unix()
    {
        var root = Directory.CreateTempSubdirectory("mirage-consumer-root-");
        try
        {
            var output = RunSample("Unix", new Dictionary<string, string> { ["XEN_ROOT"] = root.FullName });
            Assert.StartsWith("backend: Unix, domain 2 in a second process", output, StringComparison.Ordinal);
            AssertDriversWorked(output);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_XenBackend_property_switches_the_same_code_to_xenctrl()
    {
        var (build, program) = feed.BuildSample("Xenctrl");
        Assert.True(build.ExitCode == 0, build.ToString());
        var run = DotNet.Program("dotnet", Repository.Sample, RunTimeout, null, program);
        Assert.StartsWith("backend: Xenctrl, domain 2 in a second process", run.Output, StringComparison.Ordinal);
        if (!File.Exists("/dev/xen/evtchn"))
        {
            // Outside Xen the backend says so, and the sample reports it as an error, not a crash.
            Assert.Equal(1, run.ExitCode);
            Assert.Contains("error: Cannot open /dev/xen/evtchn", run.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Several_backends_and_no_choice_fail_the_build_with_a_clear_error()
    {
        var (build, _) = feed.BuildSample("");
        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("error XENBACKEND001: Several Xen backend packages are referenced", build.Output, StringComparison.Ordinal);
        Assert.Contains("-p:XenBackend=NAME", build.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_backend_that_is_not_referenced_fails_the_build_with_a_clear_error()
    {
        var (build, _) = feed.BuildSample("Nonesuch");
        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("error XENBACKEND002: XenBackend is 'Nonesuch'", build.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Referencing_one_backend_package_selects_it_with_no_property()
    {
        // The sample with only its Unix package reference and no XenBackend line: the same code.
        var work = Directory.CreateTempSubdirectory("mirage-consumer-");
        try
        {
            foreach (var source in Directory.EnumerateFiles(Repository.Sample, "*.cs"))
                File.Copy(source, Path.Combine(work.FullName, Path.GetFileName(source)));
            var project = File.ReadAllLines(Path.Combine(Repository.Sample, "Consumer.csproj"))
                .Where(line => !line.Contains("Include=\"Xen.Xenctrl\"", StringComparison.Ordinal)
                            && !line.Contains("Include=\"Xen.InHeap\"", StringComparison.Ordinal)
                            && !line.Contains("<XenBackend ", StringComparison.Ordinal));
            File.WriteAllLines(Path.Combine(work.FullName, "Consumer.csproj"), project);
            File.WriteAllText(Path.Combine(work.FullName, "nuget.config"),
                File.ReadAllText(Path.Combine(Repository.Sample, "nuget.config")).Replace("../../artifacts/feed", Repository.Feed, StringComparison.Ordinal));
            _ = feed.Package("Xen.Unix");

            var build = DotNet.Cli(work.FullName, TimeSpan.FromMinutes(5), "build", "--disable-build-servers", "-nologo",
                "--packages", feed.PackagesFolder, $"-p:MirageVersion={Repository.Version}");
            Assert.True(build.ExitCode == 0, build.ToString());
            var root = work.CreateSubdirectory("xen-root");
            root.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;   // as the backend requires
            var run = DotNet.Program("dotnet", work.FullName, RunTimeout, new Dictionary<string, string> { ["XEN_ROOT"] = root.FullName },
                Path.Combine(work.FullName, "bin", "Debug", "net10.0", "Consumer.dll"));
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.StartsWith("backend: Unix, domain 2 in a second process", run.Output, StringComparison.Ordinal);
            AssertDriversWorked(run.Output);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static void AssertDriversWorked(string output)
    {
        Assert.Contains("grant and event: domain 2 mapped grant 8, wrote \"domain 2 read 'hello from domain 1'\" and notified port 1 (counter 1)", output, StringComparison.Ordinal);
        // 16 KiB each way through 4 KiB rings; each end's checksum of what it read is that of what the other sent.
        Assert.Contains("16384 bytes each way; domain 2 received sha256 6a5b9c5d5ab72371, domain 1 received sha256 30572199160736a2", output, StringComparison.Ordinal);
        Assert.Contains("learned that 10.0.0.1 is at 02:00:00:00:00:01 and got its ping answered", output, StringComparison.Ordinal);
        Assert.Contains("netback's responder answered 1 ARP and 1 echo request(s)", output, StringComparison.Ordinal);
        Assert.EndsWith("done\n", output, StringComparison.Ordinal);
    }

    private string RunSample(string? backend, IReadOnlyDictionary<string, string>? environment = null)
    {
        var (build, program) = feed.BuildSample(backend);
        Assert.True(build.ExitCode == 0, build.ToString());
        var run = DotNet.Program("dotnet", Repository.Sample, RunTimeout, environment, program);
        Assert.True(run.ExitCode == 0, run.ToString());
        return run.Output;
    }
}
