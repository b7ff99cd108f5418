namespace Xen.Unix;

/// <summary>What <see cref="UnixDomain.Open"/> opens: one domain, both backends, and where its Xenstore is.</summary>
public sealed class UnixDomainOptions
{
    /// <summary>The domain id this process acts as; null: <c>XEN_DOMID</c>.</summary>
    public ushort? Domain { get; set; }

    /// <summary>The root folder shared by the processes that talk; null: <c>XEN_ROOT</c>, else a
    /// private folder on tmpfs (<c>/dev/shm/mirage-xen-&lt;uid&gt;</c>).</summary>
    public string? Root { get; set; }

    /// <summary>Where <see cref="UnixDomain.OpenXenstoreAsync"/> finds the daemon (see
    /// <see cref="Xen.Store.XenstoreClient.OpenAsync(string?, ushort?, CancellationToken, Microsoft.Extensions.Logging.ILogger?)"/>); null: looked up there.</summary>
    public string? Xenstore { get; set; }

    /// <summary>How long a receive spins on the shared counter before it blocks; zero blocks at once.</summary>
    public TimeSpan SpinBeforeBlock { get; set; }

    /// <summary>Whether a woken receive continues on the events backend's thread (see
    /// <see cref="Xen.Evtchn.Unix.UnixEventsOptions.InlineCompletions"/>).</summary>
    public bool InlineCompletions { get; set; }
}
