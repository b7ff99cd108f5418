using System.Runtime.CompilerServices;
using Xen.Gnt;
using Xen.Gnt.Xen;
using static Xen.Gnt.Xen.GrantTableAbi;

namespace Xen.Guest.Tests.Simulator;

/// <summary>The grant-table half of the simulated hypervisor: <c>GNTTABOP_*</c> as Xen's v1 grant tables behave.</summary>
public sealed unsafe partial class SimulatedDomain : IGrantTableHypercalls
{
    /// <summary>The most frames <c>GNTTABOP_setup_table</c> grants (Xen's <c>max_grant_frames</c> default).</summary>
    public const int MaxGrantFrames = 64;

    private readonly List<ulong> _grantFrames = [];
    private readonly List<nint> _grantViews = [];
    private readonly Dictionary<uint, Active> _active = [];
    private readonly Dictionary<uint, MapTrack> _maptrack = [];
    private readonly Dictionary<nint, uint> _hostMapped = [];
    private uint _nextHandle;

    /// <summary>Xen's pin counts of one of this domain's grants that a peer maps.</summary>
    private sealed class Active
    {
        public ushort Domid;
        public int Readers;
        public int Writers;
        public ulong Frame;
    }

    private sealed record MapTrack(SimulatedDomain Granter, uint Ref, bool ReadOnly, nint HostAddr, ulong Frame);

    /// <summary>How many grants of other domains this domain maps.</summary>
    public int MappedGrants
    {
        get
        {
            lock (_hypervisor.Lock)
                return _maptrack.Count;
        }
    }

    /// <summary>The flags of grant entry <paramref name="gref"/> as Xen reads them.</summary>
    public ushort GrantFlags(uint gref)
    {
        lock (_hypervisor.Lock)
            return Volatile.Read(ref Entry(gref).Flags);
    }

    /// <inheritdoc />
    public int GrantTableOp(int cmd, void* uop, uint count)
    {
        lock (_hypervisor.Lock)
        {
            if (_dead)
                return -Xen.Evtchn.Xen.EventChannelAbi.ESRCH;
            for (var i = 0; i < count; i++)
            {
                switch (cmd)
                {
                    case GNTTABOP_setup_table:
                        SetupTable(ref ((GnttabSetupTable*)uop)[i]);
                        break;
                    case GNTTABOP_map_grant_ref:
                        ref var map = ref ((GnttabMapGrantRef*)uop)[i];
                        map.Status = MapGrantRef(ref map);
                        break;
                    case GNTTABOP_unmap_grant_ref:
                        ref var unmap = ref ((GnttabUnmapGrantRef*)uop)[i];
                        unmap.Status = UnmapGrantRef(ref unmap);
                        break;
                    default:
                        return -Xen.Evtchn.Xen.EventChannelAbi.ENOSYS;
                }
            }
            return 0;
        }
    }

    private int GrantEntries => _grantFrames.Count * EntriesPerFrame;

    private ref GrantEntryV1 Entry(uint gref) => ref ((GrantEntryV1*)_grantViews[(int)(gref / EntriesPerFrame)])[gref % EntriesPerFrame];

    private void SetupTable(ref GnttabSetupTable op)
    {
        if (op.Dom != DOMID_SELF && op.Dom != Id)
        {
            op.Status = (short)(_hypervisor.Find(op.Dom) is null ? GrantStatus.BadDomain : GrantStatus.PermissionDenied);
            return;
        }
        if (op.NrFrames > MaxGrantFrames)
        {
            op.Status = (short)GrantStatus.GeneralError;
            return;
        }
        // The table only grows; its frames never move.
        while (_grantFrames.Count < op.NrFrames)
        {
            var frame = TakeFrames(1, FrameXen)[0];
            _grantFrames.Add(frame);
            _grantViews.Add(HypervisorView(frame));
        }
        for (var i = 0; i < op.NrFrames; i++)
            op.FrameList[i] = _grantFrames[i];
        op.Status = (short)GrantStatus.Okay;
    }

    /// <summary>One map, checked in the order Xen's <c>map_grant_ref</c> checks.</summary>
    private short MapGrantRef(ref GnttabMapGrantRef op)
    {
        if ((op.Flags & (GNTMAP_device_map | GNTMAP_host_map)) == 0)
            return (short)GrantStatus.BadGntref;
        if ((op.Flags & GNTMAP_device_map) != 0)
            return (short)GrantStatus.GeneralError; // a translated guest has no device mappings
        var granter = _hypervisor.Find(op.Dom);
        if (granter is null)
            return (short)GrantStatus.BadDomain;
        if (op.Ref >= granter.GrantEntries)
            return (short)GrantStatus.BadGntref;
        var readOnly = (op.Flags & GNTMAP_readonly) != 0;

        granter._active.TryGetValue(op.Ref, out var act);
        if (act is not null && act.Domid != Id)
            return (short)GrantStatus.GeneralError;
        var setFlags = act is null || (!readOnly && act.Writers == 0);
        if (setFlags)
        {
            var status = granter.SetStatus(op.Ref, Id, readOnly, checkEntry: act is null);
            if (status != GrantStatus.Okay)
                return (short)status;
        }
        ulong frame;
        if (act is null)
        {
            frame = Volatile.Read(ref granter.Entry(op.Ref).Frame);
            var pageStatus = granter.CheckGrantedFrame(frame);
            if (pageStatus != GrantStatus.Okay)
            {
                granter.ClearFlags(op.Ref, (ushort)(GTF_reading | (readOnly ? 0 : GTF_writing)));
                return (short)pageStatus;
            }
        }
        else
        {
            frame = act.Frame;
        }

        // create_grant_host_mapping: the address must be a reserved, unused page of this domain.
        var hostAddr = (nint)op.HostAddr;
        if (hostAddr % 4096 != 0 || !InForeignArea(hostAddr) || _hostMapped.ContainsKey(hostAddr))
        {
            if (act is null)
                granter.ClearFlags(op.Ref, (ushort)(GTF_reading | (readOnly ? 0 : GTF_writing)));
            else if (setFlags)
                granter.ClearFlags(op.Ref, GTF_writing);
            return (short)GrantStatus.GeneralError;
        }
        PhysicalPages.MapPageAt(hostAddr, granter._fd, frame, writable: !readOnly);

        act ??= granter._active[op.Ref] = new Active { Domid = Id, Frame = frame };
        if (readOnly)
            act.Readers++;
        else
            act.Writers++;
        var handle = _nextHandle++;
        _maptrack.Add(handle, new MapTrack(granter, op.Ref, readOnly, hostAddr, frame));
        _hostMapped.Add(hostAddr, handle);
        op.Handle = handle;
        op.DevBusAddr = frame * 4096;
        return (short)GrantStatus.Okay;
    }

    private short UnmapGrantRef(ref GnttabUnmapGrantRef op)
    {
        if (!_maptrack.TryGetValue(op.Handle, out var track))
            return (short)GrantStatus.BadHandle;
        if (op.DevBusAddr != 0 && op.DevBusAddr != track.Frame * 4096)
            return (short)GrantStatus.GeneralError;
        if (op.HostAddr == 0)
            return (short)GrantStatus.Okay; // nothing asked to be undone
        if ((nint)op.HostAddr != track.HostAddr)
            return (short)GrantStatus.GeneralError;
        ReleaseMapping(op.Handle, track);
        return (short)GrantStatus.Okay;
    }

    private void ReleaseMapping(uint handle, MapTrack track)
    {
        PhysicalPages.UnmapPageAt(track.HostAddr);
        _hostMapped.Remove(track.HostAddr);
        _maptrack.Remove(handle);
        var granter = track.Granter;
        var act = granter._active[track.Ref];
        if (track.ReadOnly)
            act.Readers--;
        else
            act.Writers--;
        ushort clear = 0;
        if (act.Writers == 0)
            clear |= GTF_writing;
        if (act.Readers + act.Writers == 0)
        {
            clear |= GTF_reading;
            granter._active.Remove(track.Ref);
        }
        granter.ClearFlags(track.Ref, clear);
    }

    /// <summary>
    /// Xen's <c>_set_status_v1</c>: check the entry names <paramref name="mapper"/> with
    /// <c>GTF_permit_access</c> (and no <c>GTF_readonly</c> for a writable map), then set
    /// <c>GTF_reading</c> (and <c>GTF_writing</c>) with a compare-and-swap over flags and domid together.
    /// </summary>
    private GrantStatus SetStatus(uint gref, ushort mapper, bool readOnly, bool checkEntry)
    {
        ref var combo = ref *(uint*)Unsafe.AsPointer(ref Entry(gref));
        var seen = Volatile.Read(ref combo);
        for (var retries = 0; ; retries++)
        {
            var flags = (ushort)seen;
            var domid = (ushort)(seen >> 16);
            if (checkEntry && ((flags & GTF_type_mask) != GTF_permit_access || domid != mapper))
                return GrantStatus.GeneralError;
            var wanted = (ushort)(flags | GTF_reading);
            if (!readOnly)
            {
                wanted |= GTF_writing;
                if ((flags & GTF_readonly) != 0)
                    return GrantStatus.GeneralError;
            }
            var was = Interlocked.CompareExchange(ref combo, (seen & 0xFFFF0000u) | wanted, seen);
            if (was == seen)
                return GrantStatus.Okay;
            if (retries == 4)
                return GrantStatus.GeneralError; // the entry keeps changing under us: a misbehaving guest
            seen = was;
        }
    }

    private void ClearFlags(uint gref, ushort bits)
    {
        if (bits != 0)
            Interlocked.And(ref *(uint*)Unsafe.AsPointer(ref Entry(gref)), ~(uint)bits);
    }

    /// <summary>Xen's <c>get_paged_frame</c> and ownership check for a frame this domain granted.</summary>
    private GrantStatus CheckGrantedFrame(ulong frame)
    {
        if (frame >= (ulong)_frameKind.Length || _frameKind[frame] == FrameFree)
            return GrantStatus.BadPage;
        return _frameKind[frame] == FrameGuest ? GrantStatus.Okay : GrantStatus.GeneralError;
    }

    private bool InForeignArea(nint address)
    {
        foreach (var (start, pages) in _foreignAreas)
        {
            if (address >= start && address < start + pages * 4096)
                return true;
        }
        return false;
    }
}
