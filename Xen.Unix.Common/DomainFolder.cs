using System.Globalization;

namespace Xen.Unix;

/// <summary>
/// This process's hold on its domain's folder, <c>&lt;root&gt;/&lt;domid&gt;/</c>: a shared
/// <c>flock</c> on <c>&lt;root&gt;/&lt;domid&gt;/lock</c> for as long as the process uses the domain.
/// A folder whose lock nobody holds belongs to processes that have all exited or died, and any process
/// may reclaim it. Both backends hold the lock, so the folder lives while either is in use.
/// </summary>
internal sealed class DomainFolder : IDisposable
{
    /// <summary>The lock file inside a domain folder.</summary>
    public const string LockName = "lock";

    /// <summary>The folder of grant page files inside a domain folder.</summary>
    public const string GrantsName = "gnt";

    private readonly SafeFd _lock;

    private DomainFolder(string root, ushort domain, string path, SafeFd lockFd)
    {
        Root = root;
        Domain = domain;
        Path = path;
        _lock = lockFd;
    }

    public string Root { get; }

    public ushort Domain { get; }

    public string Path { get; }

    public string GrantsPath => System.IO.Path.Combine(Path, GrantsName);

    /// <summary>Takes a shared hold on <paramref name="domain"/>'s folder, creating it, after reclaiming dead domains' folders.</summary>
    public static DomainFolder Claim(string root, ushort domain)
    {
        XenRoot.Ensure(root);
        ReclaimDead(root);
        var path = XenRoot.DomainPath(root, domain);
        var lockPath = System.IO.Path.Combine(path, LockName);
        for (var attempt = 0; ; attempt++)
        {
            if (Interop.Libc.Mkdir(path, Convert.ToInt32("700", 8)) != 0 && Interop.Errno.Last != Interop.Errno.EEXIST)
                throw Interop.Errno.Fail("mkdir", path);
            var fd = Interop.Libc.Open(lockPath, Interop.Libc.O_RDWR | Interop.Libc.O_CREAT, Convert.ToInt32("600", 8));
            if (fd.IsInvalid)
            {
                // A reclaimer removed the folder between mkdir and open: try again.
                if (Interop.Errno.Last == Interop.Errno.ENOENT && attempt < 100)
                    continue;
                throw Interop.Errno.Fail("open", lockPath);
            }
            Interop.Libc.Flock(fd, Interop.Libc.LOCK_SH);
            // The lock counts only if it is still the file at that path (a reclaimer may have unlinked it).
            if (IsCurrent(fd, lockPath))
            {
                if (Interop.Libc.Mkdir(System.IO.Path.Combine(path, GrantsName), Convert.ToInt32("700", 8)) != 0 && Interop.Errno.Last != Interop.Errno.EEXIST)
                    throw Interop.Errno.Fail("mkdir", System.IO.Path.Combine(path, GrantsName));
                return new DomainFolder(root, domain, path, fd);
            }
            fd.Dispose();
            if (attempt >= 100)
                throw new IOException($"Could not hold the domain folder {path}: it keeps being removed.");
        }
    }

    /// <summary>Drops the hold and removes the folder if no other process holds it.</summary>
    public void Dispose()
    {
        if (_lock.IsClosed)
            return;
        _lock.Dispose();
        TryReclaim(Root, Domain.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Whether <paramref name="fd"/> is still the file linked at <paramref name="path"/>.</summary>
    public static bool IsCurrent(SafeFd fd, string path)
    {
        var open = Interop.Libc.FStatx(fd);
        return open.stx_nlink > 0 && Interop.Libc.Statx(path, out var named) && named.stx_ino == open.stx_ino;
    }

    /// <summary>Reclaims the folder of every domain under <paramref name="root"/> that no live process holds.</summary>
    public static void ReclaimDead(string root)
    {
        foreach (var dir in Directory.EnumerateDirectories(root))
        {
            var name = System.IO.Path.GetFileName(dir);
            if (ushort.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                TryReclaim(root, name);
        }
    }

    /// <summary>Reclaims one domain folder if no live process holds it.</summary>
    public static void TryReclaim(string root, string name)
    {
        var path = System.IO.Path.Combine(root, name);
        var lockPath = System.IO.Path.Combine(path, LockName);
        using var fd = Interop.Libc.Open(lockPath, Interop.Libc.O_RDWR);
        if (fd.IsInvalid)
        {
            // No lock: a folder being created, or emptied by a reclaimer that could not remove some page
            // still mapped elsewhere. Removing it only succeeds if it is empty.
            RemoveGrantsLeftBehind(System.IO.Path.Combine(path, GrantsName));
            Interop.Libc.Rmdir(System.IO.Path.Combine(path, GrantsName));
            Interop.Libc.Rmdir(path);
            return;
        }
        if (!Interop.Libc.Flock(fd, Interop.Libc.LOCK_EX | Interop.Libc.LOCK_NB) || !IsCurrent(fd, lockPath))
            return;
        RemoveGrantsLeftBehind(System.IO.Path.Combine(path, GrantsName));
        Interop.Libc.Rmdir(System.IO.Path.Combine(path, GrantsName));
        foreach (var file in Directory.EnumerateFiles(path))
        {
            if (System.IO.Path.GetFileName(file) != LockName)
                Interop.Libc.Unlink(file);
        }
        Interop.Libc.Unlink(lockPath);
        Interop.Libc.Rmdir(path);
    }

    /// <summary>Removes every grant that no process holds any more (see <see cref="GrantFiles"/>).</summary>
    private static void RemoveGrantsLeftBehind(string grants)
    {
        if (!Directory.Exists(grants))
            return;
        foreach (var file in Directory.EnumerateFiles(grants))
        {
            var name = System.IO.Path.GetFileName(file);
            if (uint.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                using var page = Interop.Libc.Open(file, Interop.Libc.O_RDONLY);
                if (!page.IsInvalid)
                    GrantFiles.RemoveIfUnheld(page, file);
            }
            else if (name.EndsWith(GrantFiles.MetadataSuffix, StringComparison.Ordinal)
                     && !File.Exists(file[..^GrantFiles.MetadataSuffix.Length]))
            {
                Interop.Libc.Unlink(file);
            }
        }
    }
}
