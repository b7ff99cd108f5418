using System.Runtime.InteropServices;
using Xen.Xenctrl.Native;
using static Interop.Gntdev;

namespace Xen.Gnt.Xenctrl;

/// <summary>
/// A peer's grants mapped through <c>/dev/xen/gntdev</c>: <c>IOCTL_GNTDEV_MAP_GRANT_REF</c> reserves an
/// index for the refs, <c>mmap</c> at that index maps them (this is where Xen checks the grants), and
/// releasing the mapping does <c>munmap</c>, then <c>IOCTL_GNTDEV_UNMAP_GRANT_REF</c>.
/// </summary>
internal sealed unsafe class XenctrlMapping : Mapping
{
    private readonly SafeFd _gntdev;
    private readonly ulong _index;

    private XenctrlMapping(nint address, ushort remoteDomain, GrantRef[] refs, bool writable, UnmapNotify notify,
                           SafeFd gntdev, ulong index)
        : base(address, remoteDomain, refs, writable, notify)
    {
        _gntdev = gntdev;
        _index = index;
    }

    internal static XenctrlMapping Create(GrantDevices devices, ushort remoteDomain, ReadOnlySpan<GrantRef> grants, bool writable, UnmapNotify notify)
    {
        if (grants.IsEmpty)
            throw new ArgumentException("Map at least one grant ref.", nameof(grants));
        if (grants.Length > int.MaxValue / PageSize)
            throw new ArgumentOutOfRangeException(nameof(grants), grants.Length, "A mapping holds less than 2 GiB.");
        notify.Validate(grants.Length * PageSize);
        if (!writable && notify.ClearByteAt is not null)
            throw new ArgumentException("A read-only mapping cannot clear a byte when it goes away (Linux refuses UNMAP_NOTIFY_CLEAR_BYTE on it); map writable or only send an event.", nameof(notify));

        var refs = grants.ToArray();
        var fd = devices.Gntdev;
        var added = false;
        fd.DangerousAddRef(ref added);
        try
        {
            var index = MapGrantRef(devices, remoteDomain, refs);
            var length = (nuint)refs.Length * PageSize;
            var prot = Interop.Libc.PROT_READ | (writable ? Interop.Libc.PROT_WRITE : 0);
            var address = Interop.Libc.MMap(0, length, prot, Interop.Libc.MAP_SHARED, fd, (long)index);
            if (address == Interop.Libc.MAP_FAILED)
            {
                var errno = Interop.Errno.Last;
                UnmapGrantRef(fd, index, refs.Length);
                throw MapFailed(remoteDomain, refs, writable, errno);
            }
            if (!notify.IsNone)
            {
                var arg = new ioctl_gntdev_unmap_notify
                {
                    index = NotifyRequest.Index(index, notify),
                    action = NotifyRequest.Action(notify),
                    event_channel_port = NotifyRequest.Port(notify),
                };
                if (Interop.Libc.Ioctl(fd, IOCTL_GNTDEV_SET_UNMAP_NOTIFY, &arg) < 0)
                {
                    var errno = Interop.Errno.Last;
                    _ = Interop.Libc.MUnmap(address, length);
                    UnmapGrantRef(fd, index, refs.Length);
                    throw new GrantException(GrantStatus.GeneralError, NotifyRequest.Explain(notify, errno));
                }
            }
            var mapping = new XenctrlMapping(address, remoteDomain, refs, writable, notify, fd, index);
            added = false; // the mapping owns the reference now
            return mapping;
        }
        finally
        {
            if (added)
                fd.DangerousRelease();
        }
    }

    /// <summary>
    /// The error for a failed grant <c>mmap</c>. Linux turns every failed grant map into EINVAL and keeps
    /// Xen's <c>GNTST_*</c> code to itself, so the message lists what Xen may have refused.
    /// </summary>
    internal static GrantException MapFailed(ushort remoteDomain, GrantRef[] refs, bool writable, int errno)
    {
        var what = refs.Length == 1 ? $"grant ref {refs[0]}" : $"grant refs [{string.Join(", ", refs)}]";
        return errno switch
        {
            Interop.Errno.EINVAL or Interop.Errno.EFAULT or Interop.Errno.EPERM => new GrantException(GrantStatus.GeneralError,
                $"Xen refused to map {what} of domain {remoteDomain}{(writable ? " writable" : "")}: a ref is not granted to this "
                + $"domain, was ended, is reserved, {(writable ? "is read-only, " : "")}or domain {remoteDomain} does not exist"),
            Interop.Errno.ENOMEM or Interop.Errno.ENOSPC => new GrantException(GrantStatus.NoDeviceSpace,
                $"Cannot map {what} of domain {remoteDomain}: no room to map more grants ({Interop.Errno.Describe(errno)})"),
            _ => new GrantException(GrantStatus.GeneralError,
                $"Cannot map {what} of domain {remoteDomain}: {Interop.Errno.Describe(errno)} (errno {errno})"),
        };
    }

    /// <summary><c>IOCTL_GNTDEV_MAP_GRANT_REF</c>: reserves the index in the gntdev file to mmap the refs at.</summary>
    private static ulong MapGrantRef(GrantDevices devices, ushort remoteDomain, GrantRef[] refs)
    {
        var size = MapGrantRefSize(refs.Length);
        var buffer = (byte*)NativeMemory.AllocZeroed((nuint)size);
        try
        {
            var op = (ioctl_gntdev_map_grant_ref*)buffer;
            op->count = (uint)refs.Length;
            var tail = (ioctl_gntdev_grant_ref*)(buffer + MapGrantRefRefsOffset);
            for (var i = 0; i < refs.Length; i++)
                tail[i] = new ioctl_gntdev_grant_ref { domid = remoteDomain, @ref = refs[i].Value };
            if (Interop.Libc.Ioctl(devices.Gntdev, IOCTL_GNTDEV_MAP_GRANT_REF, op) < 0)
            {
                var errno = Interop.Errno.Last;
                throw errno switch
                {
                    Interop.Errno.EINVAL => new GrantException(GrantStatus.NoDeviceSpace,
                        $"Cannot map {refs.Length} grants of domain {remoteDomain} at once: more than gntdev's limit "
                        + "(its module parameter 'limit', 65536 by default)"),
                    Interop.Errno.ENOMEM => new GrantException(GrantStatus.NoDeviceSpace,
                        $"Cannot map {refs.Length} grants of domain {remoteDomain}: out of memory"),
                    _ => new GrantException(GrantStatus.GeneralError,
                        $"Cannot map {refs.Length} grants of domain {remoteDomain}: {Interop.Errno.Describe(errno)} (errno {errno})"),
                };
            }
            return op->index;
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    private static void UnmapGrantRef(SafeFd fd, ulong index, int count)
    {
        var arg = new ioctl_gntdev_unmap_grant_ref { index = index, count = (uint)count };
        _ = Interop.Libc.Ioctl(fd, IOCTL_GNTDEV_UNMAP_GRANT_REF, &arg);
    }

    /// <inheritdoc />
    protected override void Release(bool disposing)
    {
        // munmap first: it clears the notify byte and unmaps the grants; the ioctl then frees the index
        // and sends the notify event.
        _ = Interop.Libc.MUnmap((nint)BaseAddress, (nuint)Length);
        UnmapGrantRef(_gntdev, _index, PageCount);
        _gntdev.DangerousRelease();
    }
}
