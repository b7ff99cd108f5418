namespace Xen.Gnt.Xen;

/// <summary>
/// What a guest's memory manager gives the grant layer: pages with frame numbers to grant, a view
/// of frames Xen hands out (the grant table), and address space to map peers' grants into.
/// </summary>
/// <remarks>Frame numbers are what the guest writes in grant entries: machine frames for a PV guest,
/// guest frames for an HVM or PVH guest. Implementations are thread-safe.</remarks>
public interface IGuestMemory
{
    /// <summary>
    /// Allocates <c>frames.Length</c> zeroed pages of this domain, contiguous in the address space,
    /// and writes each page's frame number to <paramref name="frames"/>.
    /// </summary>
    /// <returns>The page-aligned address of the first page.</returns>
    /// <exception cref="OutOfMemoryException">No pages are left.</exception>
    nint AllocatePages(Span<ulong> frames);

    /// <summary>Frees pages that <see cref="AllocatePages"/> returned.</summary>
    void FreePages(nint address, ReadOnlySpan<ulong> frames);

    /// <summary>Maps frames that Xen handed out, such as those <c>GNTTABOP_setup_table</c> lists, contiguously and writable.</summary>
    /// <returns>The page-aligned address of the first frame.</returns>
    nint MapFrames(ReadOnlySpan<ulong> frames);

    /// <summary>Unmaps what <see cref="MapFrames"/> mapped.</summary>
    void UnmapFrames(nint address, int pageCount);

    /// <summary>
    /// Reserves <paramref name="pageCount"/> pages of address space, backed by nothing, where
    /// <c>GNTTABOP_map_grant_ref</c> may place peers' pages (its <c>host_addr</c>).
    /// </summary>
    /// <returns>The page-aligned address of the first page.</returns>
    nint ReserveForeignArea(int pageCount);

    /// <summary>Returns an area that <see cref="ReserveForeignArea"/> gave, once nothing is mapped in it.</summary>
    void ReleaseForeignArea(nint address, int pageCount);
}
