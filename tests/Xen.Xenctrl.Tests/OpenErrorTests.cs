extern alias gnt;
using Xen.Evtchn;
using Xen.Evtchn.Xenctrl;
using Xen.Xenctrl.Native;
using Xen.Gnt;
using XenctrlMemory = gnt::Xen.Gnt.Xenctrl.XenctrlMemory;

namespace Xen.Xenctrl.Tests;

/// <summary>
/// Off Xen, opening a device says what is wrong and what to do: not a Xen domain, a module not loaded,
/// or a permission refused.
/// </summary>
public sealed class OpenErrorTests
{
    private static string MissingPath(string name) => Path.Combine(Path.GetTempPath(), "no-xen-here-" + Guid.NewGuid().ToString("N"), name);

    [Fact]
    public void A_refused_permission_says_to_run_as_root()
    {
        var message = DeviceFile.Explain("/dev/xen/evtchn", Interop.Errno.EACCES, "xen");
        Assert.Contains("/dev/xen/evtchn", message, StringComparison.Ordinal);
        Assert.Contains("Run as root", message, StringComparison.Ordinal);
    }

    [Fact]
    public void EPERM_also_says_to_run_as_root()
    {
        Assert.Contains("Run as root", DeviceFile.Explain("/dev/xen/gntdev", Interop.Errno.EPERM, "xen"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_device_in_a_Xen_domain_says_to_load_the_modules()
    {
        var message = DeviceFile.Explain("/dev/xen/gntalloc", Interop.Errno.ENOENT, "xen");
        Assert.Contains("modprobe xen-evtchn xen-gntdev xen-gntalloc", message, StringComparison.Ordinal);
        Assert.DoesNotContain("not a Xen domain", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_device_without_a_hypervisor_says_this_is_not_a_Xen_domain()
    {
        var message = DeviceFile.Explain("/dev/xen/evtchn", Interop.Errno.ENOENT, hypervisorType: null);
        Assert.Contains("not a Xen domain", message, StringComparison.Ordinal);
        Assert.Contains("/sys/hypervisor/type is missing", message, StringComparison.Ordinal);
        Assert.Contains("dom0 or a domU", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_device_under_another_hypervisor_names_it()
    {
        var message = DeviceFile.Explain("/dev/xen/evtchn", Interop.Errno.ENODEV, "kvm");
        Assert.Contains("says 'kvm'", message, StringComparison.Ordinal);
        Assert.Contains("not a Xen domain", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Any_other_failure_names_the_errno_and_the_usual_fixes()
    {
        var message = DeviceFile.Explain("/dev/xen/evtchn", Interop.Errno.EBUSY, "xen");
        Assert.Contains("errno 16", message, StringComparison.Ordinal);
        Assert.Contains("as root", message, StringComparison.Ordinal);
        Assert.Contains("modprobe", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Opening_events_on_a_missing_device_throws_the_explained_EventChannelException()
    {
        var path = MissingPath("evtchn");
        var e = Assert.Throws<EventChannelException>(() => XenctrlEvents.Open(0, path));
        Assert.Equal(DeviceFile.Explain(path, Interop.Errno.ENOENT, DeviceFile.ReadHypervisorType()), e.Message);
    }

    [Fact]
    public void Opening_memory_on_a_missing_gntalloc_throws_a_GrantException_naming_it()
    {
        var path = MissingPath("gntalloc");
        var e = Assert.Throws<GrantException>(() => XenctrlMemory.Open(0, path, "/dev/null"));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Opening_memory_on_a_missing_gntdev_throws_a_GrantException_naming_it()
    {
        var path = MissingPath("gntdev");
        var e = Assert.Throws<GrantException>(() => XenctrlMemory.Open(0, "/dev/null", path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void On_this_host_without_xen_the_default_devices_explain_what_to_do()
    {
        // The CI host and development machines are not Xen domains; inside one this test does not apply.
        if (File.Exists(XenctrlEvents.DefaultDevicePath))
            return;
        var e = Assert.Throws<EventChannelException>(() => XenctrlEvents.Open(0));
        Assert.Contains(XenctrlEvents.DefaultDevicePath, e.Message, StringComparison.Ordinal);
        Assert.True(e.Message.Contains("not a Xen domain", StringComparison.Ordinal) || e.Message.Contains("modprobe", StringComparison.Ordinal), e.Message);
    }

    [Fact]
    public async Task A_device_that_is_not_evtchn_fails_binds_with_an_EventChannelException_and_still_disposes()
    {
        var events = XenctrlEvents.Open(0, "/dev/null");
        Assert.ThrowsAny<EventChannelException>(() => events.Listen(0));
        await Task.Run(events.Dispose).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void The_default_value_says_to_use_Open()
    {
        var e = Assert.Throws<InvalidOperationException>(() => default(XenctrlEvents).Listen(0));
        Assert.Contains("XenctrlEvents.Open", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => default(XenctrlMemory).Share(0, 1, true));
    }
}
