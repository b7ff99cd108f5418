using System.Globalization;
using Xen.Unix;

namespace Xen.Gnt.Unix;

/// <summary>
/// The kernel lets go of a killed process's files, and of their locks, one at a time as the process exits.
/// A mapper can see its granter die (a socket closing) and unmap a page before the dying granter's lock on
/// it is gone; the mapper's release then finds the page held and leaves it, and the granter can no longer
/// remove it. So a release that finds the page held by a granter on its way out waits for the granter to
/// be gone (its pidfd) and looks again.
/// </summary>
internal static class DyingGranter
{
    /// <summary>PF_EXITING in the flags of /proc/&lt;pid&gt;/stat: the task has begun to exit.</summary>
    private const uint PfExiting = 0x4;

    /// <summary>How long a dying process may take to close its files before the page is left to the next reclaim.</summary>
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Releases a page this process no longer uses (and closes it). If it is still held and its granter is
    /// exiting, the last look happens once the granter is gone, on a thread of its own. A granter that
    /// lives on (the common case: it still shares the page) costs one read of its /proc stat.
    /// </summary>
    public static void Release(SafeFd page, string path, uint granterPid)
    {
        if (GrantFiles.Release(page, path) || granterPid == (uint)Environment.ProcessId || granterPid is 0 or > int.MaxValue
            || StateOf((int)granterPid) == Granter.Alive)
        {
            page.Dispose();
            return;
        }
        var pidfd = Interop.Libc.PidfdOpen((int)granterPid);
        if (pidfd.IsInvalid)
        {
            // Reaped since: all its files are closed now, so look again at once.
            GrantFiles.Release(page, path);
            page.Dispose();
            return;
        }
        _ = Task.Factory.StartNew(() =>
        {
            using (pidfd)
            using (page)
            {
                WaitForExit(pidfd);
                GrantFiles.Release(page, path);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private enum Granter
    {
        Alive,
        Exiting,
    }

    /// <summary>Whether <paramref name="pid"/> lives on, or is exiting or gone, from /proc/&lt;pid&gt;/stat.</summary>
    private static unsafe Granter StateOf(int pid)
    {
        using var fd = Interop.Libc.Open(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/stat"), Interop.Libc.O_RDONLY);
        if (fd.IsInvalid)
            return Granter.Exiting; // gone
        var buffer = stackalloc byte[512];
        var n = (int)Interop.Libc.PRead(fd, buffer, 512, 0);
        // "pid (comm) state ppid pgrp session tty_nr tpgid flags ...": comm may hold spaces and parentheses.
        var stat = new ReadOnlySpan<byte>(buffer, Math.Max(n, 0));
        var close = stat.LastIndexOf((byte)')');
        if (close < 0 || close + 2 >= stat.Length)
            return Granter.Alive; // unreadable: leave the page to the next reclaim, as before
        var rest = stat[(close + 2)..];
        if (rest[0] is (byte)'Z' or (byte)'X')
            return Granter.Exiting;
        // The flags are the seventh field from the state on.
        for (var field = 0; field < 6; field++)
        {
            var space = rest.IndexOf((byte)' ');
            if (space < 0)
                return Granter.Alive;
            rest = rest[(space + 1)..];
        }
        var end = rest.IndexOf((byte)' ');
        return System.Buffers.Text.Utf8Parser.TryParse(end < 0 ? rest : rest[..end], out uint flags, out _) && (flags & PfExiting) != 0
            ? Granter.Exiting : Granter.Alive;
    }

    private static unsafe void WaitForExit(SafeFd pidfd)
    {
        var deadline = Environment.TickCount64 + (long)ExitBound.TotalMilliseconds;
        var added = false;
        pidfd.DangerousAddRef(ref added);
        try
        {
            var entry = new Interop.Libc.pollfd { fd = pidfd.Fd, events = Interop.Libc.POLLIN };
            for (var left = (long)ExitBound.TotalMilliseconds; left > 0; left = deadline - Environment.TickCount64)
            {
                var ready = Interop.Libc.Poll(&entry, 1, (int)left);
                if (ready > 0 || (ready < 0 && Interop.Errno.Last != Interop.Errno.EINTR))
                    return;
            }
        }
        finally
        {
            if (added)
                pidfd.DangerousRelease();
        }
    }
}
