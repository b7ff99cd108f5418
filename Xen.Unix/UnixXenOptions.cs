namespace Xen.Unix;

/// <summary>The options of <see cref="XenUnixServiceCollectionExtensions.AddXenUnix"/>: one domain, both backends.</summary>
public sealed class UnixXenOptions
{
    /// <summary>The root folder shared by the processes that talk; null means <c>XEN_ROOT</c>, else a
    /// private folder on tmpfs (<c>/dev/shm/mirage-xen-&lt;uid&gt;</c>).</summary>
    public string? Root { get; set; }

    /// <summary>The domain id this process acts as; null means <c>XEN_DOMID</c>.</summary>
    public ushort? Domain { get; set; }

    /// <summary>How long a receive spins on the shared counter before it blocks; zero blocks at once.</summary>
    public TimeSpan SpinBeforeBlock { get; set; }

    /// <summary>Whether a woken receive continues on the events backend's thread (see
    /// <see cref="Xen.Evtchn.Unix.UnixEventsOptions.InlineCompletions"/>).</summary>
    public bool InlineCompletions { get; set; }
}
