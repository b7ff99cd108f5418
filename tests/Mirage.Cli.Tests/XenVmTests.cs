using System.Diagnostics;
using TestSupport;
using Xunit.Abstractions;

namespace Mirage.Cli.Tests;

/// <summary>
/// <c>mirage vchan-cat --backend xenctrl</c> in a real Xen dom0: boots Xen 4.17 with a Linux dom0 under QEMU
/// (software emulation, no KVM needed; see <see cref="XenVm"/>) and runs <c>xen-vm/vchan-cat.sh</c> there, which
/// moves data between two vchan-cats through Xen's own xenstored (its socket, then <c>/dev/xen/xenbus</c>) and
/// between vchan-cat and Xen's libxenvchan (<c>vchan-socket-proxy</c>) in both roles, comparing sha256 sums, and
/// kills each end of a vchan-cat pair in turn, requiring the other to end. Every end is domain 0. A few minutes;
/// filter it out with <c>--filter Category!=XenVm</c>.
/// </summary>
[Trait("Category", "XenVm")]
public sealed class XenVmTests(ITestOutputHelper output)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(12);

    private static readonly string[] Checks =
    [
        "ours-to-ours-64MiB",
        "ours-to-ours-over-xenbus",
        "ours-server-libxenvchan-client",
        "libxenvchan-server-ours-client",
        "killed-server-ends-the-client",
        "killed-client-ends-the-server",
    ];

    [XenVmFact]
    public async Task Vchan_cat_over_xenctrl_moves_data_with_itself_and_with_libxenvchan_in_a_real_Xen_dom0()
    {
        // The repository is shared so that dom0 reaches both the script (here) and mirage.dll (Mirage.Cli's output).
        var root = XenVm.RepositoryRoot;
        Assert.True(root is not null, $"No Mirage.sln above {AppContext.BaseDirectory}.");
        var script = Path.Combine(AppContext.BaseDirectory, "xen-vm", "vchan-cat.sh");
        Assert.True(File.Exists(script), $"The checks script is not at {script}.");
        var watch = Stopwatch.StartNew();
        var (code, text) = await XenVm.RunInDom0Async(root, ["bash", script, MirageCli.Dll], RunTimeout);
        output.WriteLine($"run-in-dom0.sh took {watch.Elapsed.TotalSeconds:0} s and exited with {code}:\n{text}");
        XenVm.AssertAllPassed(code, text, Checks);
    }
}
