namespace Xen.Unix;

/// <summary>
/// The files of one grant: <c>gnt/&lt;ref&gt;</c>, the 4096-byte page, and <c>gnt/&lt;ref&gt;.grant</c>,
/// its metadata. Every process that uses the page (the granter while the share lasts, each mapper while
/// it maps) holds a shared <c>flock</c> on the page file; whoever finds it unheld removes it.
/// </summary>
internal static class GrantFiles
{
    /// <summary>The metadata file's suffix.</summary>
    public const string MetadataSuffix = ".grant";

    /// <summary>
    /// Drops this process's hold on the page and removes the grant's files if nobody else holds them.
    /// Every holder drops its lock before it tries the exclusive one, so of several that let go at
    /// once at least one finds the page unheld. True if this call removed them.
    /// </summary>
    public static bool Release(SafeFd page, string path)
    {
        Interop.Libc.Flock(page, Interop.Libc.LOCK_UN);
        if (!RemoveIfUnheld(page, path))
            return false;
        // The last page of a domain whose processes have all gone takes the folder with it.
        var domain = Path.GetDirectoryName(Path.GetDirectoryName(path))!;
        DomainFolder.TryReclaim(Path.GetDirectoryName(domain)!, Path.GetFileName(domain));
        return true;
    }

    /// <summary>Removes the grant's files if no process holds the page.</summary>
    public static bool RemoveIfUnheld(SafeFd page, string path)
    {
        if (!Interop.Libc.Flock(page, Interop.Libc.LOCK_EX | Interop.Libc.LOCK_NB))
            return false;
        try
        {
            // Only the holder of the exclusive lock on this very file removes it, and only if the path
            // still names it: after a reclaim the same ref may already be a new grant.
            if (!DomainFolder.IsCurrent(page, path))
                return false;
            Interop.Libc.Unlink(path + MetadataSuffix);
            Interop.Libc.Unlink(path);
            return true;
        }
        finally
        {
            Interop.Libc.Flock(page, Interop.Libc.LOCK_UN);
        }
    }
}
