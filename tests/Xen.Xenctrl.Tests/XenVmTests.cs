extern alias checks;
using System.Diagnostics;
using TestSupport;
using Xunit.Abstractions;
using AllChecks = checks::Xen.Xenctrl.Checks.Checks;

namespace Xen.Xenctrl.Tests;

/// <summary>
/// The xenctrl backends against real Xen: boots Xen 4.17 with a Linux dom0 under QEMU (software emulation,
/// no KVM needed) with the xen-vm scripts, and runs the checks program (tests/Xen.Xenctrl.Checks) there
/// from this test's output folder. Builds the VM image first if it is missing (root and apt needed).
/// Takes a few minutes; filter it out with <c>--filter Category!=XenVm</c>.
/// </summary>
[Trait("Category", "XenVm")]
public sealed class XenVmTests(ITestOutputHelper output)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(12);

    [XenVmFact]
    public async Task The_xenctrl_checks_pass_inside_a_real_Xen_dom0()
    {
        var folder = AppContext.BaseDirectory;
        Assert.True(File.Exists(Path.Combine(folder, "Xen.Xenctrl.Checks.dll")), $"The checks program is not in {folder}.");
        var watch = Stopwatch.StartNew();
        var (code, text) = await XenVm.RunInDom0Async(folder, ["dotnet", "Xen.Xenctrl.Checks.dll"], RunTimeout);
        output.WriteLine($"run-in-dom0.sh took {watch.Elapsed.TotalSeconds:0} s and exited with {code}:\n{text}");
        XenVm.AssertAllPassed(code, text, AllChecks.All.Select(c => c.Name).ToArray());
    }
}
