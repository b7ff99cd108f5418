using System.Runtime.InteropServices;

namespace Xen.Gnt;

/// <summary>
/// One domain's memory by frame number: a file in which frame <c>f</c> is the page at byte
/// <c>f * 4096</c>. Frame 0 is never handed out, so a zeroed directory entry names no page. The file
/// grows as pages are allocated; a freed page gets a hole punched and stays the domain's memory (it
/// reads as zero), as a guest's freed frame stays mappable by a privileged domain in Xen. Shared by
/// the in-heap (a memfd per domain) and Unix (<c>&lt;root&gt;/&lt;domain&gt;/frames</c>) backends.
/// </summary>
internal sealed class FrameFile : IDisposable
{
    private const int PageSize = PageBuffer.PageSize;
    private readonly SafeFd _file;

    public FrameFile(SafeFd file, ushort domain)
    {
        _file = file;
        Domain = domain;
    }

    public ushort Domain { get; }

    /// <summary>Frames 1..<c>count-1</c> are the domain's.</summary>
    public ulong FrameCount => (ulong)Interop.Libc.FStatx(_file).stx_size / PageSize;

    /// <summary>Takes <paramref name="count"/> new zeroed frames at the end of the file and maps them writable.</summary>
    /// <remarks>The exclusive lock orders allocations by several processes of one domain.</remarks>
    public (nint Address, ulong[] Frames) Allocate(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ulong first;
        Interop.Libc.Flock(_file, Interop.Libc.LOCK_EX);
        try
        {
            first = Math.Max(1, FrameCount);
            if (Interop.Libc.FTruncate(_file, checked((long)(first + (ulong)count) * PageSize)) != 0)
                throw new FrameException($"Growing domain {Domain}'s memory by {count} pages failed ({Interop.Errno.Message("ftruncate")}).");
        }
        finally
        {
            Interop.Libc.Flock(_file, Interop.Libc.LOCK_UN);
        }
        var frames = new ulong[count];
        for (var i = 0; i < count; i++)
            frames[i] = first + (ulong)i;
        return (Map(frames, writable: true), frames);
    }

    /// <summary>
    /// Maps <paramref name="frames"/> into one fresh range, each page <c>MAP_SHARED|MAP_FIXED</c> into its
    /// slot; a frame that is 0 or past the file's end is refused before anything is mapped.
    /// </summary>
    public nint Map(ReadOnlySpan<ulong> frames, bool writable)
    {
        if (frames.IsEmpty || frames.Length > int.MaxValue / PageSize)
            throw new ArgumentOutOfRangeException(nameof(frames), frames.Length, "Map at least one frame and less than 2 GiB.");
        var limit = FrameCount;
        foreach (var frame in frames)
        {
            if (frame == 0 || frame >= limit)
                throw new FrameException($"Frame {frame} is not domain {Domain}'s memory (it owns frames 1 to {(limit > 1 ? limit - 1 : 0)}).");
        }
        var length = (nuint)frames.Length * PageSize;
        var address = Interop.Libc.MMapAnonymous(0, length, Interop.Libc.PROT_NONE, Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_NORESERVE);
        if (address == Interop.Libc.MAP_FAILED)
            throw new FrameException($"Reserving {frames.Length} pages of address space failed ({Interop.Errno.Message("mmap")}).");
        var protection = Interop.Libc.PROT_READ | (writable ? Interop.Libc.PROT_WRITE : 0);
        for (var i = 0; i < frames.Length; i++)
        {
            var slot = address + i * PageSize;
            if (Interop.Libc.MMap(slot, PageSize, protection, Interop.Libc.MAP_SHARED | Interop.Libc.MAP_FIXED, _file, (long)frames[i] * PageSize) != slot)
            {
                var error = Interop.Errno.Message("mmap");
                Interop.Libc.MUnmap(address, length);
                throw new FrameException($"Mapping frame {frames[i]} of domain {Domain} failed ({error}).");
            }
        }
        return address;
    }

    /// <summary>Gives frames back: their memory is released and reads as zero.</summary>
    public void Free(IReadOnlyList<ulong> frames)
    {
        if (_file.IsClosed)
            return;
        foreach (var frame in frames)
        {
            // Without hole punching the page keeps its old content, which only its own domain saw.
            Interop.Libc.FAllocate(_file, Interop.Libc.FALLOC_FL_PUNCH_HOLE | Interop.Libc.FALLOC_FL_KEEP_SIZE, (long)frame * PageSize, PageSize);
        }
    }

    public static void Unmap(nint address, int pageCount) => Interop.Libc.MUnmap(address, (nuint)pageCount * PageSize);

    public void Dispose() => _file.Dispose();
}

/// <summary>Own frames over a <see cref="FrameFile"/>.</summary>
internal sealed unsafe class FileFramePages(FrameFile file, nint address, ulong[] frames) : FramePages(address, frames)
{
    protected override void Release(bool disposing)
    {
        FrameFile.Unmap((nint)BaseAddress, PageCount);
        if (disposing)
            file.Free(Frames);
    }
}

/// <summary>Another domain's frames over its <see cref="FrameFile"/>; the mapping stays valid after the file is closed.</summary>
internal sealed unsafe class FileForeignMapping(nint address, ushort remoteDomain, ulong[] frames, bool writable)
    : ForeignMapping(address, remoteDomain, frames, writable)
{
    protected override void Release(bool disposing) => FrameFile.Unmap((nint)BaseAddress, PageCount);
}
