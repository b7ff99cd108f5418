using System.Runtime.InteropServices;

namespace SharedMemoryRing.Tests;

/// <summary>
/// Pages with an inaccessible page on each side: a ring that reads or writes one byte outside its
/// memory crashes the process (a test run, or a fuzz target's run, which AFL++ records) instead of
/// passing quietly.
/// </summary>
internal sealed unsafe partial class GuardedPages : IDisposable
{
    private const int PageSize = 4096;
    private const int ProtNone = 0, ProtRead = 1, ProtWrite = 2;
    private const int MapPrivate = 0x02, MapAnonymous = 0x20;

    private readonly byte* _mapping;
    private readonly nuint _mappingLength;

    public GuardedPages(int pageCount)
    {
        _mappingLength = (nuint)(pageCount + 2) * PageSize;
        var p = Mmap(0, _mappingLength, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (p == -1)
            throw new InvalidOperationException($"mmap failed: errno {Marshal.GetLastPInvokeError()}");
        _mapping = (byte*)p;
        if (Mprotect(p, PageSize, ProtNone) != 0 || Mprotect(p + (nint)((nuint)(pageCount + 1) * PageSize), PageSize, ProtNone) != 0)
            throw new InvalidOperationException($"mprotect failed: errno {Marshal.GetLastPInvokeError()}");
        Pointer = _mapping + PageSize;
        Length = pageCount * PageSize;
    }

    /// <summary>The first usable byte.</summary>
    public byte* Pointer { get; }

    /// <summary>The usable bytes.</summary>
    public int Length { get; }

    /// <summary>The usable bytes as a span.</summary>
    public Span<byte> Span => new(Pointer, Length);

    /// <summary>A 32-bit field of the usable bytes, as a peer would write it.</summary>
    public ref uint Word(int offset) => ref *(uint*)(Pointer + offset);

    public void Dispose() => _ = Munmap((nint)_mapping, _mappingLength);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int Mprotect(nint addr, nuint length, int prot);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(nint addr, nuint length);
}
