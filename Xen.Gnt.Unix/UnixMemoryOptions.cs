namespace Xen.Gnt.Unix;

/// <summary>How a <see cref="UnixMemory"/> backend finds its peers.</summary>
public sealed class UnixMemoryOptions
{
    /// <summary>The root folder shared by the processes that talk; null means <c>XEN_ROOT</c>, else a
    /// private folder on tmpfs (<c>/dev/shm/mirage-xen-&lt;uid&gt;</c>).</summary>
    public string? Root { get; set; }

    /// <summary>The domain id this process acts as; null means <c>XEN_DOMID</c>. Several processes may
    /// share pages as one domain, as several processes of a Xen guest do.</summary>
    public ushort? Domain { get; set; }

    /// <summary>The highest grant ref handed out, plus one: the size of the domain's grant table.</summary>
    public uint MaxGrants { get; set; } = 1 << 20;
}
