namespace Xen.Gnt.InHeap;

/// <summary>
/// The grant tables of many domains that live in one process: it plays the hypervisor. Each domain
/// opens its own <see cref="InHeapMemory"/> with <see cref="Open"/>. Granted pages live in a Linux
/// memfd per domain, so shares and mappings are real <c>mmap</c> views of the same pages and a
/// read-only mapping is really read-only.
/// </summary>
/// <remarks>Thread-safe. Disposing the hub kills every domain still open.</remarks>
public sealed partial class InHeapGrantHub : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ushort, GrantDomain> _domains = [];
    private readonly int _maxPagesPerDomain;
    private int _liveGrants;
    private int _liveShares;
    private int _liveMappings;
    private int _pagesHeld;

    /// <summary>Creates a hub.</summary>
    /// <param name="maxPagesPerDomain">How many pages one domain may have granted at once; past it,
    /// <see cref="IMemory.Share"/> fails with <see cref="GrantStatus.NoSpace"/>.</param>
    public InHeapGrantHub(int maxPagesPerDomain = 1 << 18)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPagesPerDomain);
        _maxPagesPerDomain = maxPagesPerDomain;
    }

    /// <summary>Opens <paramref name="domain"/> on this hub.</summary>
    /// <param name="domain">The domain id.</param>
    /// <param name="sendEvent">How the domain sends an event on one of its local ports, for
    /// <see cref="UnmapNotify.EventPort"/>; wire it to the domain's events, e.g.
    /// <c>port =&gt; events.Send(new Channel(new Port(port)))</c>. Without it, event notifications are not sent.</param>
    /// <exception cref="InvalidOperationException">The domain is already open.</exception>
    public InHeapMemory Open(ushort domain, Action<uint>? sendEvent = null)
    {
        lock (_gate)
        {
            if (_domains.ContainsKey(domain))
                throw new InvalidOperationException($"Domain {domain} is already open on this grant hub; dispose it first.");
            var opened = new GrantDomain(this, domain, sendEvent, _maxPagesPerDomain);
            _domains.Add(domain, opened);
            return new InHeapMemory(opened);
        }
    }

    /// <summary>
    /// Simulates the crash of <paramref name="domain"/>: its mappings and shares go away and their
    /// unmap notifications fire. Pages that peers still map stay valid for them until they unmap.
    /// The dead domain's own views stay addressable, as private zero pages, until they are disposed:
    /// its drivers, if still running in this process, read zeros and write to no one instead of
    /// faulting. Killing a domain that is not open does nothing.
    /// </summary>
    public void Kill(ushort domain)
    {
        GrantDomain? victim;
        lock (_gate)
            _domains.TryGetValue(domain, out victim);
        if (victim is not null)
            Close(victim);
    }

    /// <summary>Whether <paramref name="domain"/> is open.</summary>
    public bool IsOpen(ushort domain)
    {
        lock (_gate)
            return _domains.ContainsKey(domain);
    }

    /// <summary>Grants that can still be mapped, in all domains.</summary>
    public int LiveGrants => Read(ref _liveGrants);

    /// <summary>Shares not yet ended, in all domains.</summary>
    public int LiveShares => Read(ref _liveShares);

    /// <summary>Mappings not yet unmapped, in all domains.</summary>
    public int LiveMappings => Read(ref _liveMappings);

    /// <summary>Granted pages whose memory is still held: live grants, and ended grants that a peer still maps.</summary>
    public int PagesHeld => Read(ref _pagesHeld);

    /// <summary>Kills every domain still open.</summary>
    public void Dispose()
    {
        GrantDomain[] all;
        lock (_gate)
            all = [.. _domains.Values];
        foreach (var domain in all)
            Close(domain);
    }

    internal Share Share(GrantDomain owner, ushort remoteDomain, int pageCount, bool writable, UnmapNotify notify)
    {
        if (pageCount <= 0 || pageCount > int.MaxValue / PageBuffer.PageSize)
            throw new ArgumentOutOfRangeException(nameof(pageCount), pageCount, "A share holds at least one page and less than 2 GiB.");
        notify.Validate(pageCount * PageBuffer.PageSize);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(owner.Dead, owner);
            var pages = owner.Pages.Allocate(pageCount);
            nint view;
            try
            {
                var slots = new (SafeFd, long)[pageCount];
                for (var i = 0; i < pageCount; i++)
                    slots[i] = (owner.Pages.Descriptor, pages[i]);
                // The owner always maps its own pages writable: read-only is what the peer gets.
                view = View.Create(slots, writable: true);
            }
            catch
            {
                foreach (var page in pages)
                    owner.Pages.Free(page);
                throw;
            }
            var grants = owner.AddGrants(remoteDomain, writable, pages);
            var share = new InHeapShare(view, owner, grants, writable, notify);
            owner.Shares.Add(share);
            _liveShares++;
            _liveGrants += pageCount;
            _pagesHeld += pageCount;
            return share;
        }
    }

    internal Mapping Map(GrantDomain mapper, ushort remoteDomain, ReadOnlySpan<GrantRef> refs, bool writable, UnmapNotify notify)
    {
        if (refs.IsEmpty)
            throw new ArgumentException("Map at least one grant ref.", nameof(refs));
        if (refs.Length > int.MaxValue / PageBuffer.PageSize)
            throw new ArgumentOutOfRangeException(nameof(refs), refs.Length, "A mapping is less than 2 GiB.");
        notify.Validate(refs.Length * PageBuffer.PageSize);
        if (notify.ClearByteAt is not null && !writable)
            throw new ArgumentException("A read-only mapping cannot clear a byte when it goes away (Linux's gntdev refuses it too).", nameof(notify));
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(mapper.Dead, mapper);
            if (!_domains.TryGetValue(remoteDomain, out var granter))
                throw new GrantException(GrantStatus.BadDomain, $"Domain {remoteDomain} is not there.");
            // Check every ref before mapping any: all or nothing.
            var grants = new Grant[refs.Length];
            var slots = new (SafeFd, long)[refs.Length];
            for (var i = 0; i < refs.Length; i++)
            {
                var grant = granter.FindShared(refs[i])
                    ?? throw new GrantException(GrantStatus.BadGntref, $"Domain {remoteDomain} has not granted ref {refs[i]}.");
                if (grant.RemoteDomain != mapper.Id)
                    throw new GrantException(GrantStatus.PermissionDenied, $"Ref {refs[i]} of domain {remoteDomain} is granted to domain {grant.RemoteDomain}, not to {mapper.Id}.");
                if (writable && !grant.Writable)
                    throw new GrantException(GrantStatus.PermissionDenied, $"Ref {refs[i]} of domain {remoteDomain} is read-only; map it read-only.");
                grants[i] = grant;
                slots[i] = (granter.Pages.Descriptor, grant.Page);
            }
            var view = View.Create(slots, writable);
            foreach (var grant in grants)
                grant.MapCount++;
            var mapping = new InHeapMapping(view, mapper, remoteDomain, grants, writable, notify);
            mapper.Mappings.Add(mapping);
            _liveMappings++;
            return mapping;
        }
    }

    internal void Release(InHeapShare share)
    {
        lock (_gate)
        {
            var attached = Detach(share);
            View.Destroy(share.Base, share.PageCount);
            if (!attached)
                return;
        }
        SendEvent(share.Owner, share.Notify);
    }

    internal void Release(InHeapMapping mapping)
    {
        lock (_gate)
        {
            var attached = Detach(mapping);
            View.Destroy(mapping.Base, mapping.PageCount);
            if (!attached)
                return;
        }
        SendEvent(mapping.Mapper, mapping.Notify);
    }

    // A dead domain's share or mapping lets go of the pages as if released, but its view becomes
    // private zero pages until it is disposed: code of the dead domain that still runs in this process
    // then touches nothing shared, instead of faulting on an unmapped address.
    private void Orphan(InHeapShare share)
    {
        lock (_gate)
        {
            if (!Detach(share))
                return;
            View.Blank(share.Base, share.PageCount, share.Writable);
        }
        SendEvent(share.Owner, share.Notify);
    }

    private void Orphan(InHeapMapping mapping)
    {
        lock (_gate)
        {
            if (!Detach(mapping))
                return;
            View.Blank(mapping.Base, mapping.PageCount, mapping.Writable);
        }
        SendEvent(mapping.Mapper, mapping.Notify);
    }

    // Gives the share's pages back, after clearing its notification byte; false if that was done already.
    private bool Detach(InHeapShare share)
    {
        if (!share.Owner.Shares.Remove(share))
            return false;
        ClearByte(share.Base, share.Notify);
        foreach (var grant in share.Grants)
        {
            grant.Shared = false;
            // A page that a peer still maps stays taken, ref and all, until the peer unmaps.
            if (grant.MapCount == 0)
                Forget(grant);
        }
        _liveShares--;
        _liveGrants -= share.PageCount;
        return true;
    }

    private bool Detach(InHeapMapping mapping)
    {
        if (!mapping.Mapper.Mappings.Remove(mapping))
            return false;
        ClearByte(mapping.Base, mapping.Notify);
        foreach (var grant in mapping.Grants)
        {
            if (--grant.MapCount == 0 && !grant.Shared)
                Forget(grant);
        }
        _liveMappings--;
        return true;
    }

    internal void Close(GrantDomain domain)
    {
        InHeapShare[] shares;
        InHeapMapping[] mappings;
        lock (_gate)
        {
            if (domain.Dead)
                return;
            domain.Dead = true;
            if (_domains.TryGetValue(domain.Id, out var current) && current == domain)
                _domains.Remove(domain.Id);
            shares = [.. domain.Shares];
            mappings = [.. domain.Mappings];
        }
        // Each fires its notification, as the kernel does when a process dies.
        foreach (var mapping in mappings)
            Orphan(mapping);
        foreach (var share in shares)
            Orphan(share);
        lock (_gate)
        {
            if (domain.Pages.InUse == 0)
                domain.Pages.Dispose();
        }
    }

    private void Forget(Grant grant)
    {
        grant.Owner.RemoveGrant(grant);
        _pagesHeld--;
    }

    private static unsafe void ClearByte(nint view, UnmapNotify notify)
    {
        // The view is still mapped and writable here (a read-only mapping may not ask for this).
        if (notify.ClearByteAt is { } offset)
            Volatile.Write(ref ((byte*)view)[offset], 0);
    }

    private static void SendEvent(GrantDomain domain, UnmapNotify notify)
    {
        if (notify.EventPort is not { } port || domain.SendEvent is not { } send)
            return;
        try
        {
            send(port);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The port is closed or the peer is gone: the kernel drops such a notification too.
        }
    }

    private int Read(ref int counter)
    {
        lock (_gate)
            return counter;
    }
}
