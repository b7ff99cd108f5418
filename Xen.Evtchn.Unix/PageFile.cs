namespace Xen.Evtchn.Unix;

/// <summary>The one-page files the ends share (counter pages and doorbells), mapped <c>MAP_SHARED</c>.</summary>
internal static unsafe class PageFile
{
    public const int Size = 4096;

    /// <summary>Creates the file afresh (zeroed, <c>0600</c>; whatever had its name is unlinked) and maps it.</summary>
    public static byte* Create(string path)
    {
        Interop.Libc.Unlink(path);
        using var fd = Interop.Libc.Open(path, Interop.Libc.O_RDWR | Interop.Libc.O_CREAT | Interop.Libc.O_EXCL, Convert.ToInt32("600", 8));
        if (fd.IsInvalid)
            throw Interop.Errno.Fail("open", path);
        if (Interop.Libc.FTruncate(fd, Size) != 0)
            throw Interop.Errno.Fail("ftruncate", path);
        return Map(fd, path);
    }

    /// <summary>Maps a page another process created; refuses one of another size, which would fault on access.</summary>
    public static byte* Open(string path)
    {
        using var fd = Interop.Libc.Open(path, Interop.Libc.O_RDWR);
        if (fd.IsInvalid)
            throw new IOException(Interop.Errno.Message("open", path));
        if (Interop.Libc.FStatx(fd).stx_size != Size)
            throw new IOException($"{path} is not {Size} bytes");
        return Map(fd, path);
    }

    public static void Unmap(byte* page) => Interop.Libc.MUnmap((nint)page, Size);

    /// <summary>
    /// Puts a private zero page in the shared page's place at the same address, in one <c>mmap</c>: the
    /// shared memory is let go at once, and a thread still writing to the address writes to nothing.
    /// </summary>
    public static void Detach(byte* page) =>
        _ = Interop.Libc.MMapAnonymous((nint)page, Size, Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE,
            Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_FIXED);

    private static byte* Map(SafeFd fd, string path)
    {
        var address = Interop.Libc.MMap(0, Size, Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE, Interop.Libc.MAP_SHARED, fd, 0);
        if (address == Interop.Libc.MAP_FAILED)
            throw Interop.Errno.Fail("mmap", path);
        return (byte*)address;
    }
}
