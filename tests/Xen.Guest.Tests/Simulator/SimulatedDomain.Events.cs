using Xen.Evtchn.Xen;
using static Xen.Evtchn.Xen.EventChannelAbi;

namespace Xen.Guest.Tests.Simulator;

/// <summary>The event-channel half of the simulated hypervisor: <c>EVTCHNOP_*</c> with Xen's 2-level delivery.</summary>
public sealed unsafe partial class SimulatedDomain : IEventChannelHypercalls
{
    private readonly SharedInfo* _sharedInfo;
    private readonly EvtchnSlot[] _evtchn = new EvtchnSlot[EVTCHN_2L_NR_CHANNELS];
    private readonly long[] _raised = new long[EVTCHN_2L_NR_CHANNELS];

    private enum EvtchnState : byte { Free, Reserved, Unbound, Interdomain }

    private struct EvtchnSlot
    {
        public EvtchnState State;
        public ushort RemoteDom;
        public uint RemotePort;
    }

    /// <inheritdoc />
    public int EventChannelOp(int cmd, void* arg)
    {
        List<SimulatedDomain>? upcalls = null;
        int rc;
        lock (_hypervisor.Lock)
        {
            if (!CheckAlive(out rc))
                return rc;
            rc = cmd switch
            {
                EVTCHNOP_alloc_unbound => AllocUnbound(ref *(EvtchnAllocUnbound*)arg),
                EVTCHNOP_bind_interdomain => BindInterdomain(ref *(EvtchnBindInterdomain*)arg, ref upcalls),
                EVTCHNOP_send => Send(((EvtchnSend*)arg)->Port, ref upcalls),
                EVTCHNOP_close => Close(((EvtchnClose*)arg)->Port),
                EVTCHNOP_status => Status(ref *(EvtchnStatus*)arg),
                EVTCHNOP_unmask => Unmask(((EvtchnUnmask*)arg)->Port, ref upcalls),
                _ => -ENOSYS,
            };
        }
        // The upcall runs outside Xen's lock, as the target vCPU's interrupt would.
        if (upcalls is not null)
        {
            foreach (var domain in upcalls)
                domain.Upcall?.Invoke();
        }
        return rc;
    }

    /// <summary>The port's pending bit, as the hypervisor sees it.</summary>
    public bool IsPending(uint port) => (Volatile.Read(ref _sharedInfo->EvtchnPending[(int)(port / 64)]) & (1UL << (int)(port % 64))) != 0;

    /// <summary>How many times the port's pending bit went from 0 to 1: each is one event the guest must dispatch once.</summary>
    public long Raised(uint port) => Interlocked.Read(ref _raised[port]);

    /// <summary>The port's mask bit, as the hypervisor sees it.</summary>
    public bool IsMasked(uint port) => (Volatile.Read(ref _sharedInfo->EvtchnMask[(int)(port / 64)]) & (1UL << (int)(port % 64))) != 0;

    private int AllocUnbound(ref EvtchnAllocUnbound op)
    {
        if (op.Dom != DOMID_SELF && op.Dom != Id)
            return -EPERM; // an unprivileged domain may not allocate in another
        var port = FreePort();
        if (port == 0)
            return -ENOSPC;
        _evtchn[port] = new EvtchnSlot { State = EvtchnState.Unbound, RemoteDom = op.RemoteDom == DOMID_SELF ? Id : op.RemoteDom };
        op.Port = port;
        return 0;
    }

    private int BindInterdomain(ref EvtchnBindInterdomain op, ref List<SimulatedDomain>? upcalls)
    {
        var remote = _hypervisor.Find(op.RemoteDom == DOMID_SELF ? Id : op.RemoteDom);
        if (remote is null)
            return -ESRCH;
        if (op.RemotePort >= EVTCHN_2L_NR_CHANNELS)
            return -EINVAL;
        ref var remoteSlot = ref remote._evtchn[op.RemotePort];
        if (remoteSlot.State != EvtchnState.Unbound || remoteSlot.RemoteDom != Id)
            return -EINVAL;
        var port = FreePort();
        if (port == 0)
            return -ENOSPC;
        _evtchn[port] = new EvtchnSlot { State = EvtchnState.Interdomain, RemoteDom = remote.Id, RemotePort = op.RemotePort };
        remoteSlot = new EvtchnSlot { State = EvtchnState.Interdomain, RemoteDom = Id, RemotePort = port };
        op.LocalPort = port;
        // As Xen: the peer may have notified the unbound port, so conservatively mark the new one pending.
        SetPending(port, ref upcalls);
        return 0;
    }

    private int Send(uint port, ref List<SimulatedDomain>? upcalls)
    {
        if (port >= EVTCHN_2L_NR_CHANNELS)
            return -EINVAL;
        var slot = _evtchn[port];
        switch (slot.State)
        {
            case EvtchnState.Interdomain:
                _hypervisor.Find(slot.RemoteDom)?.SetPending(slot.RemotePort, ref upcalls);
                return 0;
            case EvtchnState.Unbound:
                return 0; // nobody is connected: Xen drops the event silently
            default:
                return -EINVAL;
        }
    }

    private int Close(uint port)
    {
        if (port >= EVTCHN_2L_NR_CHANNELS || _evtchn[port].State is EvtchnState.Free or EvtchnState.Reserved)
            return -EINVAL;
        ClosePort(port);
        return 0;
    }

    private void ClosePort(uint port)
    {
        var slot = _evtchn[port];
        if (slot.State == EvtchnState.Interdomain && _hypervisor.Find(slot.RemoteDom) is { } remote)
        {
            // The peer's port goes back to waiting for this domain, and nothing tells it so.
            remote._evtchn[slot.RemotePort] = new EvtchnSlot { State = EvtchnState.Unbound, RemoteDom = Id };
        }
        _evtchn[port] = default;
        Interlocked.And(ref _sharedInfo->EvtchnPending[(int)(port / 64)], ~(1UL << (int)(port % 64)));
    }

    private int Status(ref EvtchnStatus op)
    {
        if (op.Dom != DOMID_SELF && op.Dom != Id)
            return _hypervisor.Find(op.Dom) is null ? -ESRCH : -EPERM;
        if (op.Port >= EVTCHN_2L_NR_CHANNELS)
            return -EINVAL;
        var slot = _evtchn[op.Port];
        op.Vcpu = 0;
        op.RemoteDom = 0;
        op.RemotePort = 0;
        switch (slot.State)
        {
            case EvtchnState.Unbound:
                op.Status = EVTCHNSTAT_unbound;
                op.RemoteDom = slot.RemoteDom;
                break;
            case EvtchnState.Interdomain:
                op.Status = EVTCHNSTAT_interdomain;
                op.RemoteDom = slot.RemoteDom;
                op.RemotePort = slot.RemotePort;
                break;
            default:
                op.Status = EVTCHNSTAT_closed;
                break;
        }
        return 0;
    }

    /// <summary>Xen's 2-level unmask: clear the mask bit; if the port is pending, raise it as a new event.</summary>
    private int Unmask(uint port, ref List<SimulatedDomain>? upcalls)
    {
        if (port >= EVTCHN_2L_NR_CHANNELS)
            return -EINVAL;
        var word = (int)(port / 64);
        var bit = 1UL << (int)(port % 64);
        if ((Interlocked.And(ref _sharedInfo->EvtchnMask[word], ~bit) & bit) != 0
            && (Volatile.Read(ref _sharedInfo->EvtchnPending[word]) & bit) != 0
            && (Interlocked.Or(ref _sharedInfo->VcpuInfo[0].EvtchnPendingSel, 1UL << word) & (1UL << word)) == 0)
            MarkEventsPending(ref upcalls);
        return 0;
    }

    /// <summary>Xen's 2-level set-pending: a 0-to-1 pending bit on an unmasked port sets its selector bit and the upcall flag.</summary>
    private void SetPending(uint port, ref List<SimulatedDomain>? upcalls)
    {
        if (_dead)
            return;
        var word = (int)(port / 64);
        var bit = 1UL << (int)(port % 64);
        if ((Interlocked.Or(ref _sharedInfo->EvtchnPending[word], bit) & bit) != 0)
            return; // already pending: the events coalesce
        Interlocked.Increment(ref _raised[port]);
        if ((Volatile.Read(ref _sharedInfo->EvtchnMask[word]) & bit) != 0)
            return; // masked: no upcall until unmasked
        if ((Interlocked.Or(ref _sharedInfo->VcpuInfo[0].EvtchnPendingSel, 1UL << word) & (1UL << word)) != 0)
            return;
        MarkEventsPending(ref upcalls);
    }

    private void MarkEventsPending(ref List<SimulatedDomain>? upcalls)
    {
        ref var vcpu = ref _sharedInfo->VcpuInfo[0];
        if (Interlocked.Exchange(ref vcpu.EvtchnUpcallPending, (byte)1) != 0)
            return; // an upcall is already due
        if (Volatile.Read(ref vcpu.EvtchnUpcallMask) == 0)
            (upcalls ??= []).Add(this);
    }

    private uint FreePort()
    {
        for (uint port = 1; port < _evtchn.Length; port++)
        {
            if (_evtchn[port].State == EvtchnState.Free)
                return port;
        }
        return 0;
    }
}
