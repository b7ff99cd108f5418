using Xen.Xenctrl.Native;

namespace Xen.Gnt.Xenctrl;

/// <summary>
/// Foreign frames in a real Xen domain through Linux's <c>/dev/xen/privcmd</c>: a range is
/// <c>mmap</c>ed from the device and <c>IOCTL_PRIVCMD_MMAPBATCH_V2</c> fills it with the frames, as
/// QEMU's framebuffer backend does. Xen lets only a privileged domain (dom0, or one the policy allows)
/// do it. A process cannot name frames of its own memory, so <see cref="Allocate"/> is not supported:
/// the frontends that publish frames are guest kernels.
/// </summary>
public sealed class XenctrlFrames : IForeignFrames
{
    /// <summary>Where Linux puts the device.</summary>
    public const string DefaultPrivcmdPath = "/dev/xen/privcmd";

    private readonly SafeFd _privcmd;

    private XenctrlFrames(SafeFd privcmd, ushort localDomain)
    {
        _privcmd = privcmd;
        LocalDomain = localDomain;
    }

    /// <inheritdoc />
    public ushort LocalDomain { get; }

    /// <summary>Opens the device.</summary>
    /// <exception cref="FrameException">It cannot be opened; the message says why and what to do.</exception>
    public static XenctrlFrames Open(ushort localDomain, string privcmdPath = DefaultPrivcmdPath) =>
        new(DeviceFile.TryOpen(privcmdPath, 0, out var error) ?? throw new FrameException(error!), localDomain);

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always: see the type's remarks.</exception>
    public FramePages Allocate(int pageCount) =>
        throw new NotSupportedException("A process in a Xen domain cannot name the frames of its own memory; a frontend that publishes frames runs in a guest kernel.");

    /// <inheritdoc />
    public unsafe ForeignMapping MapForeign(ushort remoteDomain, ReadOnlySpan<ulong> frames, bool writable)
    {
        if (frames.IsEmpty || frames.Length > int.MaxValue / PageBuffer.PageSize)
            throw new ArgumentOutOfRangeException(nameof(frames), frames.Length, "Map at least one frame and less than 2 GiB.");
        var length = (nuint)frames.Length * PageBuffer.PageSize;
        var address = Interop.Libc.MMap(0, length, Interop.Libc.PROT_READ | (writable ? Interop.Libc.PROT_WRITE : 0), Interop.Libc.MAP_SHARED, _privcmd, 0);
        if (address == Interop.Libc.MAP_FAILED)
            throw new FrameException($"Reserving {frames.Length} pages on privcmd failed ({Interop.Errno.Message("mmap")}).");
        var copy = frames.ToArray();
        var errors = new int[frames.Length];
        fixed (ulong* arr = copy)
        fixed (int* err = errors)
        {
            var batch = new Interop.Privcmd.privcmd_mmapbatch_v2 { num = (uint)copy.Length, dom = remoteDomain, addr = (ulong)address, arr = arr, err = err };
            if (Interop.Libc.Ioctl(_privcmd, Interop.Privcmd.IOCTL_PRIVCMD_MMAPBATCH_V2, &batch) != 0)
            {
                var errno = Interop.Errno.Last;
                var message = Interop.Errno.Message("ioctl(IOCTL_PRIVCMD_MMAPBATCH_V2)");
                Interop.Libc.MUnmap(address, length);
                // ENOENT: some frame failed with -ENOENT (paged out); the per-frame codes say which.
                var bad = Array.FindIndex(errors, e => e != 0);
                throw new FrameException(errno == Interop.Errno.ENOENT && bad >= 0
                    ? $"Frame {copy[bad]} of domain {remoteDomain} is not mappable ({Interop.Errno.Describe(-errors[bad])})."
                    : $"Mapping {copy.Length} frames of domain {remoteDomain} failed ({message}).");
            }
        }
        var failed = Array.FindIndex(errors, e => e != 0);
        if (failed >= 0)
        {
            Interop.Libc.MUnmap(address, length);
            throw new FrameException($"Frame {copy[failed]} of domain {remoteDomain} is not mappable ({Interop.Errno.Describe(-errors[failed])}).");
        }
        return new PrivcmdMapping(address, remoteDomain, copy, writable);
    }

    /// <summary>Closes the device; mappings already made stay valid until they are disposed.</summary>
    public void Dispose() => _privcmd.Dispose();

    private sealed unsafe class PrivcmdMapping(nint address, ushort remoteDomain, ulong[] frames, bool writable)
        : ForeignMapping(address, remoteDomain, frames, writable)
    {
        protected override void Release(bool disposing) => Interop.Libc.MUnmap((nint)BaseAddress, (nuint)PageCount * PageSize);
    }
}
