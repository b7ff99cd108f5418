using Xunit;

namespace TestSupport;

/// <summary>
/// A test that boots the Xen rig (<see cref="XenVm"/>). It needs root, to build the image and run QEMU with the
/// image's 9p shares; without root it is skipped, and the reason says how to run it. <c>XENVM_REQUIRED=1</c>
/// (set by .ci/run) never skips: there a test that cannot boot the rig fails.
/// </summary>
public sealed class XenVmFactAttribute : FactAttribute
{
    public XenVmFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("XENVM_REQUIRED") != "1" && !Environment.IsPrivilegedProcess)
            Skip = "Boots Xen under QEMU, which needs root: run the tests as root (sudo dotnet test Mirage.sln), see docs/xen-vm.md.";
    }
}
