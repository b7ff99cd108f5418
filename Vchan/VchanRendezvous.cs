using Xen.Evtchn;
using Xen.Gnt;

namespace Vchan;

/// <summary>
/// What a client needs to find a server's vchan: the grant ref of the control page and the event
/// port, published by the server (in Xenstore as <c>ring-ref</c> and <c>event-channel</c>).
/// </summary>
/// <param name="ControlPage">The grant of the control page.</param>
/// <param name="EventChannel">The port the server listens on.</param>
public readonly record struct VchanRendezvous(GrantRef ControlPage, Port EventChannel);
