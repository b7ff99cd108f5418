using Xen.Evtchn;
using Xen.Evtchn.Xenctrl;
using Xen.Xenctrl.Native;

namespace Xen.Xenctrl.Tests;

/// <summary>How the evtchn device's errno values become the interface's errors.</summary>
public sealed class ErrorMappingTests
{
    [Fact]
    public void Binding_to_a_port_Xen_refuses_with_EINVAL_is_PortNotBound()
    {
        var e = Assert.IsType<PortNotBoundException>(EvtchnDevice.BindInterdomainFailed(3, new Port(17), Interop.Errno.EINVAL));
        Assert.Equal((ushort)3, e.RemoteDomain);
        Assert.Equal(new Port(17), e.Port);
    }

    [Fact]
    public void Binding_to_a_domain_that_does_not_exist_is_PeerClosed()
    {
        var e = Assert.IsType<PeerClosedException>(EvtchnDevice.BindInterdomainFailed(3, new Port(17), Interop.Errno.ESRCH));
        Assert.Contains("domain 3 does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Any_other_bind_failure_is_an_EventChannelException_with_the_errno()
    {
        var e = EvtchnDevice.BindInterdomainFailed(3, new Port(17), Interop.Errno.ENOSPC);
        Assert.Equal(typeof(EventChannelException), e.GetType());
        Assert.Contains("errno 28", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Interop.Errno.ENOTCONN)]
    [InlineData(Interop.Errno.EINVAL)]
    public void A_notify_on_a_port_this_handle_does_not_hold_is_ChannelClosed(int errno)
    {
        var channel = new Channel(new Port(4));
        var e = Assert.Throws<ChannelClosedException>(() => EvtchnDevice.ThrowNotifyFailed(channel, errno));
        Assert.Equal(channel, e.Channel);
    }

    [Fact]
    public void A_notify_failing_for_another_reason_is_PeerClosed()
    {
        Assert.Throws<PeerClosedException>(() => EvtchnDevice.ThrowNotifyFailed(new Channel(new Port(4)), Interop.Errno.EIO));
    }
}
