namespace Xen.Guest.Tests.Simulator;

/// <summary>
/// The simulated hypervisor's address-space work over the shared libc calls (Interop/): memfd-backed
/// "physical memory" mapped page by page into reserved ranges.
/// </summary>
internal static class PhysicalPages
{
    private const int PageSize = 4096;

    /// <summary>Reserves address space backed by nothing: any access faults.</summary>
    public static nint Reserve(int pages)
    {
        var p = Interop.Libc.MMapAnonymous(0, (nuint)pages * PageSize, Interop.Libc.PROT_NONE, Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_NORESERVE);
        return p == Interop.Libc.MAP_FAILED ? throw Interop.Errno.Fail("mmap(PROT_NONE)") : p;
    }

    /// <summary>Maps one page of <paramref name="memory"/> over an address that is already reserved.</summary>
    public static void MapPageAt(nint address, SafeFd memory, ulong frame, bool writable)
    {
        var prot = Interop.Libc.PROT_READ | (writable ? Interop.Libc.PROT_WRITE : 0);
        if (Interop.Libc.MMap(address, PageSize, prot, Interop.Libc.MAP_SHARED | Interop.Libc.MAP_FIXED, memory, checked((long)frame * PageSize)) == Interop.Libc.MAP_FAILED)
            throw Interop.Errno.Fail("mmap(MAP_FIXED)");
    }

    /// <summary>Puts an unbacked page back over <paramref name="address"/>, keeping it reserved.</summary>
    public static void UnmapPageAt(nint address)
    {
        if (Interop.Libc.MMapAnonymous(address, PageSize, Interop.Libc.PROT_NONE, Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_FIXED | Interop.Libc.MAP_NORESERVE) == Interop.Libc.MAP_FAILED)
            throw Interop.Errno.Fail("mmap(PROT_NONE, MAP_FIXED)");
    }

    public static void Unmap(nint address, int pages)
    {
        if (Interop.Libc.MUnmap(address, (nuint)pages * PageSize) != 0)
            throw Interop.Errno.Fail("munmap");
    }
}
