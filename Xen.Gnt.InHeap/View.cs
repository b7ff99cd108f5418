namespace Xen.Gnt.InHeap;

/// <summary>
/// Builds one contiguous view of pages that may lie anywhere in several page files: reserve the
/// address range with PROT_NONE, then map each page over its slot with MAP_FIXED.
/// </summary>
internal static class View
{
    public static nint Create(ReadOnlySpan<(SafeFd File, long Page)> pages, bool writable)
    {
        var length = (nuint)pages.Length * PageBuffer.PageSize;
        var reserved = Interop.Libc.MMapAnonymous(0, length, Interop.Libc.PROT_NONE,
            Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_NORESERVE);
        if (reserved == Interop.Libc.MAP_FAILED)
            throw new GrantException(GrantStatus.NoDeviceSpace, $"Reserving {pages.Length} pages of address space failed ({Interop.Errno.Message("mmap")}).");
        var prot = writable ? Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE : Interop.Libc.PROT_READ;
        for (var i = 0; i < pages.Length; i++)
        {
            var slot = reserved + i * PageBuffer.PageSize;
            var mapped = Interop.Libc.MMap(slot, PageBuffer.PageSize, prot, Interop.Libc.MAP_SHARED | Interop.Libc.MAP_FIXED,
                pages[i].File, pages[i].Page * PageBuffer.PageSize);
            if (mapped != slot)
            {
                var error = Interop.Errno.Message("mmap");
                Destroy(reserved, pages.Length);
                throw new GrantException(GrantStatus.NoDeviceSpace, $"Mapping page {i} of {pages.Length} failed ({error}).");
            }
        }
        return reserved;
    }

    /// <summary>Replaces the pages of a view with private zero pages, at the same address and protection.</summary>
    public static void Blank(nint address, int pageCount, bool writable)
    {
        var prot = writable ? Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE : Interop.Libc.PROT_READ;
        var blanked = Interop.Libc.MMapAnonymous(address, (nuint)pageCount * PageBuffer.PageSize, prot,
            Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_FIXED);
        // Like munmap, this fails only for a bad range, which would be this backend's own bug.
        if (blanked != address)
            throw new InvalidOperationException($"Blanking {pageCount} pages at 0x{address:x} failed ({Interop.Errno.Message("mmap")}).");
    }

    public static void Destroy(nint address, int pageCount)
    {
        // munmap fails only for a bad range, which would be this backend's own bug.
        if (Interop.Libc.MUnmap(address, (nuint)pageCount * PageBuffer.PageSize) != 0)
            throw new InvalidOperationException($"munmap of {pageCount} pages at 0x{address:x} failed ({Interop.Errno.Message("munmap")}).");
    }
}
