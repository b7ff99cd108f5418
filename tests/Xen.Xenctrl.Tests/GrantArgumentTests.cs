extern alias gnt;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xen.Gnt;
using gnt::Xen.Gnt.Xenctrl;
using GntInterop = gnt::Interop;

namespace Xen.Xenctrl.Tests;

/// <summary>
/// What the grant backend checks and builds before it asks the kernel: arguments, the variable-length
/// ioctl buffers, unmap-notify requests, and the errors it reports. The devices here are /dev/null, which
/// answers every ioctl with ENOTTY.
/// </summary>
public sealed class GrantArgumentTests : IDisposable
{
    private readonly GrantDevices _devices = new(
        GntInterop.Libc.Open("/dev/null", GntInterop.Libc.O_RDWR), GntInterop.Libc.Open("/dev/null", GntInterop.Libc.O_RDWR),
        "/dev/null", "/dev/null", localDomain: 0);

    public void Dispose() => _devices.Dispose();

    [Fact]
    public void Mapping_no_refs_is_refused()
    {
        Assert.Throws<ArgumentException>(() => XenctrlMapping.Create(_devices, 1, [], writable: true, default));
    }

    [Fact]
    public void A_read_only_mapping_may_not_ask_to_clear_a_byte()
    {
        var e = Assert.Throws<ArgumentException>(() => XenctrlMapping.Create(_devices, 1, [new GrantRef(9)], writable: false, UnmapNotify.ClearByte(0)));
        Assert.Contains("read-only", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_byte_to_clear_outside_the_pages_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => XenctrlMapping.Create(_devices, 1, [new GrantRef(9)], writable: true, UnmapNotify.ClearByte(PageBuffer.PageSize)));
        Assert.Throws<ArgumentOutOfRangeException>(() => XenctrlShare.Create(_devices, 1, 2, writable: true, UnmapNotify.ClearByte(2 * PageBuffer.PageSize)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Sharing_no_pages_is_refused(int pages)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => XenctrlShare.Create(_devices, 1, pages, writable: true, default));
    }

    [Fact]
    public void A_share_the_device_refuses_is_a_GrantException_with_the_reason()
    {
        var e = Assert.Throws<GrantException>(() => XenctrlShare.Create(_devices, 1, 1, writable: true, default));
        Assert.Equal(GrantStatus.GeneralError, e.Status);
        Assert.Contains("errno 25", e.Message, StringComparison.Ordinal); // ENOTTY
    }

    [Fact]
    public void A_map_the_device_refuses_is_a_GrantException_with_the_reason()
    {
        var e = Assert.Throws<GrantException>(() => XenctrlMapping.Create(_devices, 1, [new GrantRef(9)], writable: true, default));
        Assert.Contains("errno 25", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_refused_grant_map_names_the_refs_the_domain_and_the_possible_causes()
    {
        var e = XenctrlMapping.MapFailed(4, [new GrantRef(10), new GrantRef(11)], writable: true, GntInterop.Errno.EINVAL);
        Assert.Equal(GrantStatus.GeneralError, e.Status);
        Assert.Contains("[10, 11]", e.Message, StringComparison.Ordinal);
        Assert.Contains("domain 4", e.Message, StringComparison.Ordinal);
        Assert.Contains("read-only", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Running_out_of_mapping_room_is_NoDeviceSpace()
    {
        Assert.Equal(GrantStatus.NoDeviceSpace, XenctrlMapping.MapFailed(4, [new GrantRef(10)], writable: false, GntInterop.Errno.ENOMEM).Status);
    }

    [Fact]
    public void Clearing_a_byte_and_sending_an_event_asks_for_both_actions_at_that_byte()
    {
        var notify = UnmapNotify.ClearByteAndSendEvent(4100, 33);
        Assert.Equal(GntInterop.Gntdev.UNMAP_NOTIFY_CLEAR_BYTE | GntInterop.Gntdev.UNMAP_NOTIFY_SEND_EVENT, NotifyRequest.Action(notify));
        Assert.Equal(8192ul + 4100, NotifyRequest.Index(8192, notify));
        Assert.Equal(33u, NotifyRequest.Port(notify));
    }

    [Fact]
    public void Only_an_event_asks_for_the_event_at_the_first_byte()
    {
        var notify = UnmapNotify.SendEvent(7);
        Assert.Equal(GntInterop.Gntdev.UNMAP_NOTIFY_SEND_EVENT, NotifyRequest.Action(notify));
        Assert.Equal(8192ul, NotifyRequest.Index(8192, notify));
        Assert.Equal(7u, NotifyRequest.Port(notify));
    }

    [Fact]
    public void Only_clearing_a_byte_asks_for_no_event()
    {
        var notify = UnmapNotify.ClearByte(3);
        Assert.Equal(GntInterop.Gntdev.UNMAP_NOTIFY_CLEAR_BYTE, NotifyRequest.Action(notify));
        Assert.Equal(0u, NotifyRequest.Port(notify));
    }

    [Fact]
    public void A_refused_event_port_says_it_must_be_bound_through_evtchn()
    {
        Assert.Contains("/dev/xen/evtchn", NotifyRequest.Explain(UnmapNotify.SendEvent(5), GntInterop.Errno.EINVAL), StringComparison.Ordinal);
    }

    // The kernel copies the whole C struct in (and, for gntalloc, out) before the tail: a buffer is never
    // smaller than the struct, and always holds count entries after the tail's offset.
    [Property(MaxTest = 200, Arbitrary = [typeof(RefCounts)])]
    public bool The_ioctl_buffers_hold_the_C_struct_and_every_ref(int count) =>
        GntInterop.Gntdev.MapGrantRefSize(count) == Math.Max(24, 16 + 8 * count)
        && GntInterop.Gntalloc.AllocGrefSize(count) == Math.Max(24, 16 + 4 * count);

    /// <summary>Ref counts a caller may ask for: at least one, up to far more than any grant table holds.</summary>
    public static class RefCounts
    {
        public static Arbitrary<int> Count() => Gen.Choose(1, 1_000_000).ToArbitrary();
    }
}
