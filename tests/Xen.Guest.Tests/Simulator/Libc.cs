using System.Runtime.InteropServices;

namespace Xen.Guest.Tests.Simulator;

/// <summary>The Linux calls the simulated hypervisor needs: memfd-backed "physical memory" and mappings of it.</summary>
internal static partial class Libc
{
    public const int PROT_NONE = 0;
    public const int PROT_READ = 1;
    public const int PROT_WRITE = 2;
    public const int MAP_SHARED = 0x01;
    public const int MAP_PRIVATE = 0x02;
    public const int MAP_FIXED = 0x10;
    public const int MAP_ANONYMOUS = 0x20;
    public const int MAP_NORESERVE = 0x4000;
    public const uint MFD_CLOEXEC = 1;
    public static readonly nint MAP_FAILED = -1;

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemfdCreate(string name, uint flags);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint address, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint address, nuint length);

    /// <summary>Reserves address space backed by nothing: any access faults.</summary>
    public static nint Reserve(int pages)
    {
        var p = Mmap(0, (nuint)pages * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        return p == MAP_FAILED ? throw Error("mmap(PROT_NONE)") : p;
    }

    /// <summary>Maps one page of <paramref name="fd"/> over an address that is already reserved.</summary>
    public static void MapPageAt(nint address, int fd, ulong frame, bool writable)
    {
        var prot = PROT_READ | (writable ? PROT_WRITE : 0);
        if (Mmap(address, 4096, prot, MAP_SHARED | MAP_FIXED, fd, checked((long)frame * 4096)) == MAP_FAILED)
            throw Error("mmap(MAP_FIXED)");
    }

    /// <summary>Puts an unbacked page back over <paramref name="address"/>, keeping it reserved.</summary>
    public static void UnmapPageAt(nint address)
    {
        if (Mmap(address, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
            throw Error("mmap(PROT_NONE, MAP_FIXED)");
    }

    public static void Unmap(nint address, int pages)
    {
        if (Munmap(address, (nuint)pages * 4096) != 0)
            throw Error("munmap");
    }

    public static IOException Error(string call) => new($"{call} failed: errno {Marshal.GetLastPInvokeError()}");
}
