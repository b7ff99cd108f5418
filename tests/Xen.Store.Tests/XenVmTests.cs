extern alias checks;
using System.Diagnostics;
using TestSupport;
using Xunit.Abstractions;
using AllScenarios = checks::Xen.Store.Checks.Scenarios;

namespace Xen.Store.Tests;

/// <summary>
/// Xen's own Xenstore daemons against ours: boots Xen 4.17 with a Linux dom0 under QEMU (the xen-vm scripts,
/// see <see cref="XenVm"/>) and runs tests/Xen.Store.Checks there, which plays every scenario against the
/// running daemon's socket, the same daemon through <c>/dev/xen/xenbus</c>, and a <c>mirage xenstored</c>
/// started in dom0, and requires the same outcome from all three. One boot per daemon (C and OCaml), a few
/// minutes each under software emulation; filter them out with <c>--filter Category!=XenVm</c>.
/// </summary>
[Trait("Category", "XenVm")]
public sealed class XenVmTests(ITestOutputHelper output)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(10);

    [XenVmFact]
    public Task Mirage_xenstored_behaves_as_the_C_xenstored() => RunAgainst("xenstored");

    [XenVmFact]
    public Task Mirage_xenstored_behaves_as_oxenstored() => RunAgainst("oxenstored");

    private async Task RunAgainst(string daemon)
    {
        // The repository is shared so that dom0 reaches both the checks (here) and mirage.dll (Mirage.Cli's output).
        var root = XenVm.RepositoryRoot;
        Assert.True(root is not null, $"No Mirage.sln above {AppContext.BaseDirectory}.");
        var checksDll = Path.Combine(AppContext.BaseDirectory, "Xen.Store.Checks.dll");
        Assert.True(File.Exists(checksDll), $"The checks program is not at {checksDll}.");
        var watch = Stopwatch.StartNew();
        // Against oxenstored, the few steps where Xen's two daemons disagree are noted, not compared: ours follows the C one.
        string[] command = ["dotnet", checksDll, "--mirage", MirageCli.Dll, .. daemon == "oxenstored" ? ["--oxenstored"] : Array.Empty<string>()];
        var (code, text) = await XenVm.RunInDom0Async(root, command, RunTimeout,
                                                      ("XENVM_XENSTORED", daemon));
        output.WriteLine($"run-in-dom0.sh with {daemon} took {watch.Elapsed.TotalSeconds:0} s and exited with {code}:\n{text}");
        XenVm.AssertAllPassed(code, text, AllScenarios.All.Select(s => s.Name).ToArray());
    }
}
