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
    /// exiting, the last look happens once the granter is gone, on a thread of its own.
    /// </summary>
    public static void Release(SafeFd page, string path, uint granterPid)
    {
        if (GrantFiles.Release(page, path) || granterPid == (uint)Environment.ProcessId || OpenIfExiting(granterPid) is not { } granter)
        {
            page.Dispose();
            return;
        }
        _ = Task.Factory.StartNew(() =>
        {
            using (granter)
            using (page)
            {
                WaitForExit(granter);
                GrantFiles.Release(page, path);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>A pidfd of <paramref name="pid"/> if it is exiting or exited and not yet reaped; null if it lives on or is long gone.</summary>
    private static SafeFd? OpenIfExiting(uint pid)
    {
        if (pid == 0 || pid > int.MaxValue)
            return null;
        var pidfd = Interop.Libc.PidfdOpen((int)pid);
        if (pidfd.IsInvalid)
            return null; // reaped: every file it had is closed, so whoever holds the page is someone else
        if (IsExiting(pid))
            return pidfd;
        pidfd.Dispose();
        return null;
    }

    private static bool IsExiting(uint pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return true; // gone between pidfd_open and here
        }
        // "pid (comm) state ppid pgrp session tty_nr tpgid flags ...": comm may hold spaces and parentheses.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields[0] is "Z" or "X" || (uint.TryParse(fields[6], NumberStyles.None, CultureInfo.InvariantCulture, out var flags) && (flags & PfExiting) != 0);
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
