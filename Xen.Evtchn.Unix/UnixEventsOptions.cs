namespace Xen.Evtchn.Unix;

/// <summary>How a <see cref="UnixEvents"/> backend finds its peers and waits.</summary>
public sealed class UnixEventsOptions
{
    /// <summary>The root folder shared by the processes that talk; null means <c>XEN_ROOT</c>, else a
    /// private folder on tmpfs (<c>/dev/shm/mirage-xen-&lt;uid&gt;</c>).</summary>
    public string? Root { get; set; }

    /// <summary>The domain id this process acts as; null means <c>XEN_DOMID</c>. Two live processes
    /// may not claim the same id.</summary>
    public ushort? Domain { get; set; }

    /// <summary>How long a receive spins on the shared counter before it blocks on the socket. Zero (the
    /// default) blocks at once; a few tens of microseconds beat a socket round trip when the peer
    /// answers quickly, at the price of a busy core.</summary>
    public TimeSpan SpinBeforeBlock { get; set; }

    /// <summary>Whether a woken receive continues on the backend's doorbell thread instead of the thread
    /// pool: one thread hop per wake-up instead of two. Faster, but the continuation then must not
    /// block: it would hold up every channel of the process. Off by default.</summary>
    public bool InlineCompletions { get; set; }
}
