using static Xen.Gnt.Xen.GrantTableAbi;

namespace Xen.Gnt.Xen;

/// <summary>
/// The guest kernel's grant layer: this domain's grant table with a free list of refs, and the
/// map and unmap hypercalls for peers' grants.
/// </summary>
internal sealed unsafe class GrantTable : IDisposable
{
    private const int StackOps = 16;

    private readonly IGrantTableHypercalls _hypercalls;
    private readonly IGuestMemory _memory;
    private readonly Action<uint>? _sendEvent;
    private readonly GrantEntryV1* _entries;
    private readonly int _frameCount;
    private readonly Stack<uint> _free = new();
    private readonly List<XenShare> _deferred = [];
    private readonly HashSet<PageBuffer> _live = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    public GrantTable(IGrantTableHypercalls hypercalls, IGuestMemory memory, ushort localDomain, int frames, Action<uint>? sendEvent)
    {
        ArgumentNullException.ThrowIfNull(hypercalls);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentOutOfRangeException.ThrowIfLessThan(frames, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(frames, 1024);
        if (localDomain >= DOMID_FIRST_RESERVED)
            throw new ArgumentOutOfRangeException(nameof(localDomain), localDomain, "A domain id must be below DOMID_FIRST_RESERVED (0x7FF0).");
        _hypercalls = hypercalls;
        _memory = memory;
        _sendEvent = sendEvent;
        LocalDomain = localDomain;

        var frameList = new ulong[frames];
        fixed (ulong* list = frameList)
        {
            var setup = new GnttabSetupTable { Dom = DOMID_SELF, NrFrames = (uint)frames, FrameList = list };
            var rc = _hypercalls.GrantTableOp(GNTTABOP_setup_table, &setup, 1);
            if (rc < 0)
                throw new GrantException(GrantStatus.GeneralError, $"GNTTABOP_setup_table failed with errno {-rc}");
            if (setup.Status != 0)
                throw new GrantException((GrantStatus)setup.Status, $"GNTTABOP_setup_table refused {frames} frames");
        }
        _entries = (GrantEntryV1*)_memory.MapFrames(frameList);
        _frameCount = frames;
        Capacity = frames * EntriesPerFrame;
        // Pushed from the top so that refs are handed out lowest first.
        for (var r = Capacity - 1; r >= GNTTAB_NR_RESERVED_ENTRIES; r--)
            _free.Push((uint)r);
    }

    public ushort LocalDomain { get; }

    public int Capacity { get; }

    public int FreeCount
    {
        get
        {
            lock (_lock)
                return _free.Count;
        }
    }

    public int DeferredCount
    {
        get
        {
            lock (_lock)
                return _deferred.Sum(s => s.PendingRefs.Count);
        }
    }

    public Share Share(ushort remoteDomain, int pageCount, bool writable, UnmapNotify notify)
    {
        CheckDomain(remoteDomain);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageCount, int.MaxValue / PageBuffer.PageSize);
        notify.Validate(pageCount * PageBuffer.PageSize);
        CheckNotifyPort(notify);
        ReclaimDeferred();

        var frames = new ulong[pageCount];
        nint address;
        try
        {
            address = _memory.AllocatePages(frames);
        }
        catch (OutOfMemoryException e)
        {
            throw new GrantException(GrantStatus.NoSpace, $"No memory for {pageCount} pages to share", e);
        }
        foreach (var frame in frames)
        {
            if (frame > uint.MaxValue)
            {
                _memory.FreePages(address, frames);
                throw new GrantException(GrantStatus.AddressTooBig, $"Frame {frame:x} does not fit grant_entry_v1's 32-bit frame field");
            }
        }

        var refs = new GrantRef[pageCount];
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_free.Count < pageCount)
            {
                _memory.FreePages(address, frames);
                throw new GrantException(GrantStatus.NoSpace, $"Only {_free.Count} of the {Capacity} grant refs are free; {pageCount} were asked for");
            }
            for (var i = 0; i < pageCount; i++)
                refs[i] = new GrantRef(_free.Pop());
        }
        var flags = (ushort)(GTF_permit_access | (writable ? 0 : GTF_readonly));
        for (var i = 0; i < pageCount; i++)
        {
            ref var entry = ref _entries[refs[i].Value];
            entry.Frame = (uint)frames[i];
            entry.Domid = remoteDomain;
            // Release: the frame and domain are visible to Xen before the flags that validate them.
            Volatile.Write(ref entry.Flags, flags);
        }
        var share = new XenShare(this, address, remoteDomain, refs, frames, writable, notify);
        lock (_lock)
            _live.Add(share);
        return share;
    }

    public Mapping Map(ushort remoteDomain, ReadOnlySpan<GrantRef> grants, bool writable, UnmapNotify notify)
    {
        CheckDomain(remoteDomain);
        if (grants.IsEmpty)
            throw new ArgumentException("At least one grant ref is needed.", nameof(grants));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(grants.Length, int.MaxValue / PageBuffer.PageSize, nameof(grants));
        notify.Validate(grants.Length * PageBuffer.PageSize);
        if (notify.ClearByteAt is not null && !writable)
            throw new ArgumentException("A read-only mapping cannot clear a byte when it goes away.", nameof(notify));
        CheckNotifyPort(notify);
        lock (_lock)
            ObjectDisposedException.ThrowIf(_disposed, this);

        var count = grants.Length;
        var area = _memory.ReserveForeignArea(count);
        var ops = count <= StackOps ? stackalloc GnttabMapGrantRef[count] : new GnttabMapGrantRef[count];
        for (var i = 0; i < count; i++)
        {
            ops[i] = new GnttabMapGrantRef
            {
                HostAddr = (ulong)(area + i * PageBuffer.PageSize),
                Flags = GNTMAP_host_map | (writable ? 0 : GNTMAP_readonly),
                Ref = grants[i].Value,
                Dom = remoteDomain,
            };
        }
        int rc;
        fixed (GnttabMapGrantRef* p = ops)
            rc = _hypercalls.GrantTableOp(GNTTABOP_map_grant_ref, p, (uint)count);

        var failed = rc < 0 ? 0 : -1;
        for (var i = 0; failed < 0 && i < count; i++)
        {
            if (ops[i].Status != 0)
                failed = i;
        }
        if (failed >= 0)
        {
            // All or nothing: undo the maps that succeeded before reporting the first failure.
            var handles = new uint[count];
            var mapped = new bool[count];
            for (var i = 0; i < count; i++)
            {
                handles[i] = ops[i].Handle;
                mapped[i] = rc >= 0 && ops[i].Status == 0;
            }
            if (UnmapPages(area, handles, mapped))
                _memory.ReleaseForeignArea(area, count);
            if (rc < 0)
                throw new GrantException(GrantStatus.GeneralError, $"GNTTABOP_map_grant_ref failed with errno {-rc}");
            throw new GrantException((GrantStatus)ops[failed].Status,
                $"GNTTABOP_map_grant_ref of domain {remoteDomain}'s ref {grants[failed]} ({(writable ? "writable" : "read-only")}) failed");
        }

        var mappedHandles = new uint[count];
        for (var i = 0; i < count; i++)
            mappedHandles[i] = ops[i].Handle;
        var mapping = new XenMapping(this, area, remoteDomain, grants.ToArray(), mappedHandles, writable, notify);
        lock (_lock)
            _live.Add(mapping);
        return mapping;
    }

    /// <summary>Ends a share: fires its notification, then ends each grant whose peer no longer maps it;
    /// the others stay granted, with their pages, until <see cref="ReclaimDeferred"/> finds them idle.</summary>
    public void Release(XenShare share)
    {
        var notify = share.Notify;
        if (notify.ClearByteAt is { } at)
            Volatile.Write(ref share.Base[at], 0);
        try
        {
            SendNotify(notify);
        }
        finally
        {
            EndGrants(share);
        }
    }

    private void EndGrants(XenShare share)
    {
        lock (_lock)
        {
            _live.Remove(share);
            foreach (var r in share.Refs)
            {
                if (TryEndAccess(r.Value))
                    _free.Push(r.Value);
                else
                    share.PendingRefs.Add(r.Value);
            }
            if (share.PendingRefs.Count == 0)
                _memory.FreePages((nint)share.Base, share.Frames);
            else
                _deferred.Add(share);
        }
    }

    /// <summary>Unmaps a mapping: clears its byte through the mapping, unmaps, then sends its event.</summary>
    public void Release(XenMapping mapping)
    {
        var notify = mapping.Notify;
        if (notify.ClearByteAt is { } at)
            Volatile.Write(ref mapping.Base[at], 0);
        var all = new bool[mapping.Handles.Length];
        Array.Fill(all, true);
        if (UnmapPages((nint)mapping.Base, mapping.Handles, all))
            _memory.ReleaseForeignArea((nint)mapping.Base, mapping.Handles.Length);
        lock (_lock)
            _live.Remove(mapping);
        SendNotify(notify);
    }

    /// <summary>
    /// Sends an unmap notification's event. A port this guest already closed cannot carry it: as a guest
    /// kernel's <c>EVTCHNOP_send</c> on a closed port fails unnoticed, the event is then skipped.
    /// </summary>
    private void SendNotify(UnmapNotify notify)
    {
        if (notify.EventPort is not { } port)
            return;
        try
        {
            _sendEvent!(port);
        }
        catch (IOException)
        {
            // The channel is closed (or its peer gone): there is nobody left to notify on it.
        }
    }

    /// <summary>Retries ending the grants of shares whose peer still mapped them; returns how many remain.</summary>
    public bool Owns(PageBuffer buffer) => buffer is XenShare s ? s.Table == this : buffer is XenMapping m && m.Table == this;

    public int ReclaimDeferred()
    {
        lock (_lock)
        {
            var remaining = 0;
            for (var i = _deferred.Count - 1; i >= 0; i--)
            {
                var share = _deferred[i];
                share.PendingRefs.RemoveAll(r =>
                {
                    if (!TryEndAccess(r))
                        return false;
                    _free.Push(r);
                    return true;
                });
                if (share.PendingRefs.Count == 0)
                {
                    _memory.FreePages((nint)share.Base, share.Frames);
                    _deferred.RemoveAt(i);
                }
                remaining += share.PendingRefs.Count;
            }
            return remaining;
        }
    }

    public void Dispose()
    {
        PageBuffer[] live;
        lock (_lock)
        {
            if (_disposed)
                return;
            live = [.. _live];
        }
        foreach (var buffer in live)
            buffer.Dispose();
        lock (_lock)
        {
            _disposed = true;
            ReclaimDeferred();
            // Grants still in use keep their table entries: Xen reads them until the peer unmaps,
            // so the table stays mapped when any are left.
            if (_deferred.Count == 0)
                _memory.UnmapFrames((nint)_entries, _frameCount);
        }
    }

    /// <summary>
    /// Ends one grant unless the peer maps it: clears the flags with a compare-and-swap that fails if
    /// Xen set <c>GTF_reading</c> or <c>GTF_writing</c> meanwhile.
    /// </summary>
    private bool TryEndAccess(uint gref)
    {
        ref var flags = ref _entries[gref].Flags;
        var seen = Volatile.Read(ref flags);
        while (true)
        {
            if ((seen & (GTF_reading | GTF_writing)) != 0)
                return false;
            var was = Interlocked.CompareExchange(ref flags, (ushort)0, seen);
            if (was == seen)
                return true;
            seen = was;
        }
    }

    /// <summary>Unmaps the pages marked in <paramref name="which"/>; true if every one came off.</summary>
    private bool UnmapPages(nint area, uint[] handles, bool[] which)
    {
        var ops = new List<GnttabUnmapGrantRef>();
        for (var i = 0; i < handles.Length; i++)
        {
            if (which[i])
                ops.Add(new GnttabUnmapGrantRef { HostAddr = (ulong)(area + i * PageBuffer.PageSize), Handle = handles[i] });
        }
        if (ops.Count == 0)
            return true;
        var array = ops.ToArray();
        int rc;
        fixed (GnttabUnmapGrantRef* p = array)
            rc = _hypercalls.GrantTableOp(GNTTABOP_unmap_grant_ref, p, (uint)array.Length);
        // A page Xen would not unmap still holds a peer's frame: keep the area reserved rather than reuse it.
        return rc == 0 && Array.TrueForAll(array, op => op.Status == 0);
    }

    private void CheckNotifyPort(UnmapNotify notify)
    {
        if (notify.EventPort is not null && _sendEvent is null)
            throw new ArgumentException("An unmap notification that sends an event needs the sendEvent hook given to XenMemory.", nameof(notify));
    }

    private static void CheckDomain(ushort domain)
    {
        if (domain >= DOMID_FIRST_RESERVED)
            throw new GrantException(GrantStatus.BadDomain, $"Domain {domain} is a reserved domain id");
    }
}
