using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace TestSupport;

/// <summary>
/// What the page cache holds of a file, from Linux's <c>cachestat</c> (6.5 and later): a test can tell a
/// write that reached the disk from one that sits dirty in memory. Reading the file cannot: another
/// process sees the page cache either way, and it survives the writer's <c>kill -9</c>.
/// </summary>
public static partial class PageCache
{
    // The generic syscall table's number, shared by x86-64 and arm64.
    private const long SysCachestat = 451;

    /// <summary>
    /// Pages of the range still dirty or being written back: 0 once a sync covering them has returned.
    /// </summary>
    public static long UnwrittenPages(string path, long offset, long length)
    {
        using var file = File.OpenHandle(path);
        return UnwrittenPages(file, offset, length);
    }

    /// <summary>
    /// Null if <paramref name="folder"/> can show it: <c>cachestat</c> exists, and a page written there is
    /// dirty until <c>fdatasync</c> (not so on tmpfs, whose pages have no disk to reach). Else why not.
    /// </summary>
    public static string? CannotTellIn(string folder)
    {
        var probe = Path.Combine(folder, "mirage-cachestat-probe-" + Environment.ProcessId);
        try
        {
            using var file = File.OpenHandle(probe, FileMode.Create, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose);
            RandomAccess.Write(file, new byte[4096], 0);
            long dirty;
            try
            {
                dirty = UnwrittenPages(file, 0, 4096);
            }
            catch (EntryPointNotFoundException)
            {
                return "needs Linux's cachestat (6.5 and later)";
            }
            catch (IOException e)
            {
                return $"needs Linux's cachestat (6.5 and later): {e.Message}";
            }
            RandomAccess.FlushToDisk(file);
            return dirty == 1 && UnwrittenPages(file, 0, 4096) == 0 ? null : $"{folder} keeps no dirty pages to write back (tmpfs?)";
        }
        finally
        {
            File.Delete(probe);
        }
    }

    private static long UnwrittenPages(SafeFileHandle file, long offset, long length)
    {
        var range = new Range { Offset = (ulong)offset, Length = (ulong)length };
        if (Syscall(SysCachestat, (int)file.DangerousGetHandle(), ref range, out var stat, 0) != 0)
            throw new IOException($"cachestat failed: errno {Marshal.GetLastPInvokeError()}");
        return (long)(stat.Dirty + stat.Writeback);
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, int fd, ref Range range, out Stat stat, uint flags);

    // struct cachestat_range and struct cachestat, include/uapi/linux/mman.h
    [StructLayout(LayoutKind.Sequential)]
    private struct Range
    {
        public ulong Offset;
        public ulong Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Stat
    {
        public ulong Cache;
        public ulong Dirty;
        public ulong Writeback;
        public ulong Evicted;
        public ulong RecentlyEvicted;
    }
}
