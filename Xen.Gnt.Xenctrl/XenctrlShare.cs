using System.Runtime.InteropServices;
using Xen.Xenctrl.Native;
using static Interop.Gntalloc;

namespace Xen.Gnt.Xenctrl;

/// <summary>
/// Pages shared through <c>/dev/xen/gntalloc</c>: <c>IOCTL_GNTALLOC_ALLOC_GREF</c> allocates zeroed pages
/// and their grant refs, <c>mmap</c> at the returned index gives the local view, and releasing the share
/// unmaps it and deallocates the refs (Linux ends the grants once the peer has unmapped them too).
/// </summary>
internal sealed unsafe class XenctrlShare : Share
{
    private readonly SafeFd _gntalloc;
    private readonly ulong _index;

    private XenctrlShare(nint address, ushort remoteDomain, GrantRef[] refs, bool peerWritable, UnmapNotify notify,
                         SafeFd gntalloc, ulong index)
        : base(address, remoteDomain, refs, peerWritable, notify)
    {
        _gntalloc = gntalloc;
        _index = index;
    }

    /// <summary>The offset in the gntalloc file where the pages are mapped.</summary>
    internal ulong Index => _index;

    internal static XenctrlShare Create(GrantDevices devices, ushort remoteDomain, int pageCount, bool writable, UnmapNotify notify)
    {
        if (pageCount <= 0 || pageCount > int.MaxValue / PageSize)
            throw new ArgumentOutOfRangeException(nameof(pageCount), pageCount, "A share holds at least one page and less than 2 GiB.");
        notify.Validate(pageCount * PageSize);

        var fd = devices.Gntalloc;
        var added = false;
        fd.DangerousAddRef(ref added);
        try
        {
            var (index, refs) = AllocGref(devices, remoteDomain, pageCount, writable);
            var length = (nuint)pageCount * PageSize;
            var address = Interop.Libc.MMap(0, length, Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE, Interop.Libc.MAP_SHARED, fd, (long)index);
            if (address == Interop.Libc.MAP_FAILED)
            {
                var errno = Interop.Errno.Last;
                DeallocGref(fd, index, pageCount);
                throw new GrantException(errno == Interop.Errno.ENOMEM ? GrantStatus.NoSpace : GrantStatus.GeneralError,
                    $"Cannot map {pageCount} shared pages from {devices.GntallocPath}: {Interop.Errno.Describe(errno)} (errno {errno})");
            }
            if (!notify.IsNone)
            {
                var arg = new ioctl_gntalloc_unmap_notify
                {
                    index = NotifyRequest.Index(index, notify),
                    action = NotifyRequest.Action(notify),
                    event_channel_port = NotifyRequest.Port(notify),
                };
                if (Interop.Libc.Ioctl(fd, IOCTL_GNTALLOC_SET_UNMAP_NOTIFY, &arg) < 0)
                {
                    var errno = Interop.Errno.Last;
                    _ = Interop.Libc.MUnmap(address, length);
                    DeallocGref(fd, index, pageCount);
                    throw new GrantException(GrantStatus.GeneralError, NotifyRequest.Explain(notify, errno));
                }
            }
            var share = new XenctrlShare(address, remoteDomain, refs, writable, notify, fd, index);
            added = false; // the share owns the reference now
            return share;
        }
        finally
        {
            if (added)
                fd.DangerousRelease();
        }
    }

    /// <summary><c>IOCTL_GNTALLOC_ALLOC_GREF</c>: the index to mmap at, and one new grant ref per page.</summary>
    private static (ulong Index, GrantRef[] Refs) AllocGref(GrantDevices devices, ushort remoteDomain, int pageCount, bool writable)
    {
        var size = AllocGrefSize(pageCount);
        var buffer = (byte*)NativeMemory.AllocZeroed((nuint)size);
        try
        {
            var op = (ioctl_gntalloc_alloc_gref*)buffer;
            op->domid = remoteDomain;
            op->flags = writable ? GNTALLOC_FLAG_WRITABLE : (ushort)0;
            op->count = (uint)pageCount;
            if (Interop.Libc.Ioctl(devices.Gntalloc, IOCTL_GNTALLOC_ALLOC_GREF, op) < 0)
            {
                var errno = Interop.Errno.Last;
                throw errno switch
                {
                    Interop.Errno.ENOSPC or Interop.Errno.ENOMEM => new GrantException(GrantStatus.NoSpace,
                        $"Cannot share {pageCount} pages with domain {remoteDomain}: no grant refs or pages are left "
                        + "(gntalloc allows 1024 pages in all unless its module parameter 'limit' says otherwise)"),
                    _ => new GrantException(GrantStatus.GeneralError,
                        $"Cannot share {pageCount} pages with domain {remoteDomain}: {Interop.Errno.Describe(errno)} (errno {errno})"),
                };
            }
            var refs = new GrantRef[pageCount];
            var ids = (uint*)(buffer + AllocGrefGrefIdsOffset);
            for (var i = 0; i < refs.Length; i++)
                refs[i] = new GrantRef(ids[i]);
            return (op->index, refs);
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    private static void DeallocGref(SafeFd fd, ulong index, int pageCount)
    {
        var arg = new ioctl_gntalloc_dealloc_gref { index = index, count = (uint)pageCount };
        _ = Interop.Libc.Ioctl(fd, IOCTL_GNTALLOC_DEALLOC_GREF, &arg);
    }

    /// <inheritdoc />
    protected override void Release(bool disposing)
    {
        // munmap first: gntalloc frees a ref (and fires its unmap notification) once no mapping and no
        // file index hold it any more.
        _ = Interop.Libc.MUnmap((nint)BaseAddress, (nuint)Length);
        DeallocGref(_gntalloc, _index, PageCount);
        _gntalloc.DangerousRelease();
    }
}
