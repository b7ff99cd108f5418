using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Xen.Gnt;

namespace Vchan.Tests.Loopback;

/// <summary>Grants of several <see cref="LoopbackMemory"/>s in one process: a mapping is the sharer's own pages.</summary>
internal sealed class LoopbackGrantTable
{
    public readonly ConcurrentDictionary<(ushort Domain, uint Ref), (nint Address, ushort Remote, bool Writable)> Grants = new();
    private int _nextRef = (int)GrantRef.FirstUnreserved;
    public uint NextRef() => (uint)Interlocked.Increment(ref _nextRef);
}

internal sealed unsafe class LoopbackMemory(LoopbackGrantTable table, LoopbackEvents events) : IMemory
{
    public ushort LocalDomain => events.LocalDomain;

    public Share Share(ushort remoteDomain, int pageCount, bool writable, UnmapNotify notify = default)
    {
        var address = (nint)NativeMemory.AlignedAlloc((nuint)pageCount * 4096, 4096);
        NativeMemory.Clear((void*)address, (nuint)pageCount * 4096);
        var refs = new List<GrantRef>();
        for (var i = 0; i < pageCount; i++)
        {
            var r = new GrantRef(table.NextRef());
            table.Grants[(LocalDomain, r.Value)] = (address + i * 4096, remoteDomain, writable);
            refs.Add(r);
        }
        return new LoopShare(this, address, remoteDomain, refs, writable, notify);
    }

    public Mapping Map(ushort remoteDomain, GrantRef grant, bool writable, UnmapNotify notify = default) =>
        MapMany(remoteDomain, [grant], writable, notify);

    public Mapping MapMany(ushort remoteDomain, ReadOnlySpan<GrantRef> grants, bool writable, UnmapNotify notify = default)
    {
        nint first = 0;
        for (var i = 0; i < grants.Length; i++)
        {
            if (!table.Grants.TryGetValue((remoteDomain, grants[i].Value), out var g) || g.Remote != LocalDomain)
                throw new GrantException(GrantStatus.BadGntref, $"ref {grants[i]} is not granted");
            if (writable && !g.Writable)
                throw new GrantException(GrantStatus.PermissionDenied, "read-only");
            if (i == 0)
                first = g.Address;
            else if (g.Address != first + i * 4096)
                throw new GrantException(GrantStatus.GeneralError, "the loopback table maps only contiguous shares");
        }
        return new LoopMapping(this, first, remoteDomain, grants.ToArray(), writable, notify);
    }

    public void Unmap(Mapping mapping) => ((IDisposable)mapping).Dispose();

    public void Unshare(Share share) => ((IDisposable)share).Dispose();

    public void Dispose()
    {
    }

    private void Fire(byte* pages, UnmapNotify notify)
    {
        if (notify.ClearByteAt is { } at)
            pages[at] = 0;
        if (notify.EventPort is { } port)
            events.NotifyFromKernel(port);
    }

    private sealed class LoopShare(LoopbackMemory owner, nint address, ushort remote, IReadOnlyList<GrantRef> refs, bool writable, UnmapNotify notify)
        : Share(address, remote, refs, writable, notify)
    {
        // The memory stays allocated: a peer may still map it, as Xen keeps a granted page alive.
        protected override void Release(bool disposing) => owner.Fire(BaseAddress, Notify);
    }

    private sealed class LoopMapping(LoopbackMemory owner, nint address, ushort remote, IReadOnlyList<GrantRef> refs, bool writable, UnmapNotify notify)
        : Mapping(address, remote, refs, writable, notify)
    {
        protected override void Release(bool disposing) => owner.Fire(BaseAddress, Notify);
    }
}
