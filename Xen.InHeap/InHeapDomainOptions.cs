namespace Xen.InHeap;

/// <summary>What <see cref="InHeapDomain.Open(InHeapDomainOptions)"/> opens.</summary>
public sealed class InHeapDomainOptions
{
    /// <summary>The domain id. Default 0.</summary>
    public ushort Domain { get; set; }

    /// <summary>The event hub the domain lives on; null: <see cref="InHeapBackend.EventHub"/>, the process-wide one.</summary>
    public Xen.Evtchn.InHeap.InHeapEventHub? EventHub { get; set; }

    /// <summary>The grant hub the domain lives on; null: <see cref="InHeapBackend.GrantHub"/>, the process-wide one.</summary>
    public Xen.Gnt.InHeap.InHeapGrantHub? GrantHub { get; set; }

    /// <summary>Where <see cref="InHeapDomain.OpenXenstoreAsync"/> finds Xenstore (see
    /// <see cref="Xen.Store.XenstoreClient.OpenAsync(string?, ushort?, CancellationToken, Microsoft.Extensions.Logging.ILogger?)"/>); null: looked up there.</summary>
    public string? Xenstore { get; set; }
}
