using System.Diagnostics;
using TestSupport;
using Xunit.Abstractions;

namespace Mirage.Cli.Tests;

/// <summary>
/// Our drivers against Linux's own in a real Xen: runs <c>xen-vm/check-linux-peers.sh</c>, which boots the rig
/// once and, in dom0, serves Linux PV guests' netfront and blkfront with our netback and blkback, runs our
/// frontends against Linux's netback and blkback, runs a vchan between a guest's libxenvchan and our
/// <c>vchan-cat</c>, and destroys and kills each side in turn. docs/xen-vm.md says what each check proves.
/// Ten minutes or more under software emulation; filter it out with <c>--filter Category!=XenVm</c>.
/// </summary>
[Trait("Category", "XenVm")]
public sealed class LinuxPeersTests(ITestOutputHelper output)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(25);

    private static readonly string[] Checks =
    [
        "netfront-ping",
        "netfront-tcp",
        "netfront-mtu9000",
        "netfront-2queues",
        "blkfront-fs",
        "blkfront-readonly",
        "blkfront-discard",
        "our-netfront-linux-netback",
        "our-blkfront-linux-blkback",
        "vchan-cross-domain",
        "guest-destroyed",
        "backend-killed",
        "frontend-killed",
    ];

    [XenVmFact]
    public async Task Linux_drivers_and_ours_agree_in_a_real_Xen()
    {
        var root = XenVm.RepositoryRoot;
        Assert.True(root is not null, $"No Mirage.sln above {AppContext.BaseDirectory}.");
        var script = Path.Combine(XenVm.ScriptsDirectory, "check-linux-peers.sh");
        Assert.True(File.Exists(script), $"The checks script is not at {script}.");
        using var slot = await XenVm.AcquireSlotAsync();
        var watch = Stopwatch.StartNew();
        var (code, text) = await XenVm.RunAsync("bash", [script, .. Checks], RunTimeout, ("MIRAGE_DLL", MirageCli.Dll));
        output.WriteLine($"check-linux-peers.sh took {watch.Elapsed.TotalSeconds:0} s and exited with {code}:\n{text}");
        XenVm.AssertAllPassed(code, text, Checks);
    }
}
