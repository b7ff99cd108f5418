using System.Diagnostics;
using TestSupport;
using Xunit.Abstractions;

namespace Mirage.Cli.Tests;

/// <summary>
/// <c>mirage xenstored --backend xenctrl</c> as a real Xen host's Xenstore: runs
/// <c>xen-vm/check-host-xenstored.sh</c>, which boots the rig once with our daemon in place of Xen's
/// (<c>XENVM_XENSTORED=mirage</c>) and checks dom0's ring, <c>xl create</c>, a Linux guest's xenbus,
/// netfront and blkfront (through Linux's backends: <c>--linux-backends</c> leaves out ours, which LinuxPeersTests
/// proves against Linux's frontends, for the suite's time), <c>xl destroy</c> releasing the domain,
/// a second guest, and a guest whose page is written as a hostile guest would. docs/xenstore.md says
/// what each check proves. Filter it out with <c>--filter Category!=XenVm</c>.
/// </summary>
[Trait("Category", "XenVm")]
public sealed class HostXenstoredTests(ITestOutputHelper output)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(30);

    private static readonly string[] Checks =
    [
        "dom0-ring",
        "xl-create",
        "guest-xenbus",
        "guest-netfront",
        "guest-blkfront",
        "xl-destroy-release",
        "second-guest",
        "hostile-guest",
    ];

    [XenVmFact]
    public async Task Our_xenstored_runs_a_real_Xen_host()
    {
        var root = XenVm.RepositoryRoot;
        Assert.True(root is not null, $"No Mirage.sln above {AppContext.BaseDirectory}.");
        var script = Path.Combine(XenVm.ScriptsDirectory, "check-host-xenstored.sh");
        Assert.True(File.Exists(script), $"The checks script is not at {script}.");
        using var slot = await XenVm.AcquireSlotAsync();
        var watch = Stopwatch.StartNew();
        var (code, text) = await XenVm.RunAsync("bash", [script, "--linux-backends"], RunTimeout, ("MIRAGE_DLL", MirageCli.Dll));
        output.WriteLine($"check-host-xenstored.sh took {watch.Elapsed.TotalSeconds:0} s and exited with {code}:\n{text}");
        XenVm.AssertAllPassed(code, text, Checks);
    }
}
