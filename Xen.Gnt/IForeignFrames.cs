namespace Xen.Gnt;

/// <summary>
/// Memory named by frame number, beside the grants of <see cref="IMemory"/>: the older way Xen's PV
/// framebuffer and keyboard publish their pages (<c>page-ref</c>, <c>pd[]</c> in <c>fbif.h</c>). A
/// domain hands out pages of its own memory with their frame numbers; a privileged domain maps any
/// frames of another domain, as QEMU's backend does with privcmd's <c>IOCTL_PRIVCMD_MMAPBATCH_V2</c>.
/// </summary>
/// <remarks>
/// <para>Drivers are generic over it (<c>where TFrames : IForeignFrames</c>), as over
/// <see cref="IMemory"/>; each backend package supplies one. No grant limits the peer: the mapper
/// reaches every frame the domain owns, so the driver must validate what it is told to map.</para>
/// <para>Implementations are thread-safe.</para>
/// </remarks>
public interface IForeignFrames : IDisposable
{
    /// <summary>The domain this backend acts as.</summary>
    ushort LocalDomain { get; }

    /// <summary>
    /// Allocates <paramref name="pageCount"/> zeroed pages of this domain's own memory, with the frame
    /// number of each (what a guest kernel's <c>virt_to_gfn</c> gives).
    /// </summary>
    /// <exception cref="FrameException">No memory is left.</exception>
    /// <exception cref="NotSupportedException">The backend cannot name its own frames (a Linux process in a Xen domain).</exception>
    FramePages Allocate(int pageCount);

    /// <summary>Maps frames of <paramref name="remoteDomain"/>'s memory as one contiguous view, in the order given.</summary>
    /// <exception cref="FrameException">This domain is not privileged, the domain is unknown, or a frame is
    /// not the domain's; nothing is then mapped.</exception>
    ForeignMapping MapForeign(ushort remoteDomain, ReadOnlySpan<ulong> frames, bool writable);
}
