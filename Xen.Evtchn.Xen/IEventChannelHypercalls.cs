namespace Xen.Evtchn.Xen;

/// <summary>
/// The event-channel hypercall as a host supplies it: <c>HYPERVISOR_event_channel_op(cmd, arg)</c>.
/// A host on real Xen implements it with its hypercall page; the test project's simulated
/// hypervisor implements it in process.
/// </summary>
public interface IEventChannelHypercalls
{
    /// <summary>
    /// Issues <c>EVTCHNOP_*</c> command <paramref name="cmd"/> (see <see cref="EventChannelAbi"/>) on
    /// <paramref name="arg"/>, which points to the command's argument struct (<see cref="EvtchnAllocUnbound"/>,
    /// <see cref="EvtchnBindInterdomain"/>, <see cref="EvtchnSend"/>, <see cref="EvtchnClose"/>,
    /// <see cref="EvtchnUnmask"/> or <see cref="EvtchnStatus"/>); the hypervisor fills its out fields.
    /// </summary>
    /// <returns>0, or Xen's negative errno (<c>-EINVAL</c>, <c>-ESRCH</c>, <c>-ENOSPC</c>, ...).</returns>
    unsafe int EventChannelOp(int cmd, void* arg);
}
